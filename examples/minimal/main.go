// Command minimal runs a 1 kHz real-time loop for 5 s and prints its
// statistics. Run it as root (or with CAP_SYS_NICE and CAP_IPC_LOCK):
//
//	go run ./examples/minimal
package main

import (
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/rtcell/rtcell/rt"
)

func main() {
	// GOMAXPROCS=1, asyncpreemptoff=1 and GOGC=off take effect only at
	// start-up: re-execute this binary with them set.
	if err := rt.Reexec(); err != nil {
		fmt.Fprintln(os.Stderr, "minimal:", err)
		os.Exit(rt.ExitConfig)
	}
	var sum uint64
	loop, err := rt.NewLoop(rt.LoopOptions{
		Name:     "minimal",
		Period:   time.Millisecond,
		Duration: 5 * time.Second,
		Thread:   rt.ThreadOptions{CPU: runtime.NumCPU() - 1, Policy: rt.PolicyFIFO, Priority: 80},
	}, func(c *rt.Cycle) bool {
		sum += c.N // the control logic goes here; it must not allocate
		return true
	})
	if err == nil {
		var res *rt.Result
		if res, err = loop.Run(); err == nil {
			fmt.Print(res.Text())
			return
		}
	}
	// The loop could not start: privileges or the runtime settings.
	fmt.Fprintln(os.Stderr, "minimal:", err)
	os.Exit(rt.ExitConfig)
}
