package load_test

import (
	"fmt"

	"github.com/rtcell/rtcell/rt/load"
)

// The commands a spec runs, with the default arguments for two load CPUs.
func ExampleSpec_Commands() {
	cmds, err := load.Spec{StressNG: true, Hackbench: true, CPUs: []int{0, 1}}.Commands()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range cmds {
		fmt.Println(c.Cmdline(), "loop:", c.Loop)
	}
	// Output:
	// stress-ng --cpu 2 --vm 1 --vm-bytes 64M --switch 1 --timer 1 loop: false
	// hackbench -P -g 4 -l 200 -s 512 loop: true
}
