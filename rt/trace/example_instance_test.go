package trace_test

import (
	"bytes"
	"fmt"
	"os"

	"github.com/rtcell/rtcell/rt/trace"
)

// An instance on CPU 1, frozen by a trigger as an RT loop would freeze
// it on a late cycle, then read and analysed. It needs root, so it has no
// output to check; rt.Program does all of this with Program.Trace.
func ExampleNewInstance() {
	in, err := trace.NewInstance(trace.InstanceOptions{CPUs: []int{1}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // e.g. "…: tracefs lets only root create instances"
		return
	}
	defer in.Remove()
	marker, on, err := in.TriggerFiles()
	if err != nil {
		return
	}
	trig, err := trace.NewTrigger(marker, on, "control")
	if err != nil {
		return
	}
	defer trig.Close()
	// In the loop, on CPU 1, on the first cycle later than the threshold:
	trig.Fire(4711, 1_523_000)

	var buf bytes.Buffer
	if err := in.WriteTrace(&buf); err != nil {
		return
	}
	cause, err := trace.Analyze(&buf, trace.Breach{}) // the breach of the first rtcell marker
	if err != nil {
		return
	}
	for _, c := range cause.Contributors {
		fmt.Printf("%-10s %-30s %8.1f µs %5.1f %%\n", c.Kind, c.Name, float64(c.Ns)/1e3, c.Pct)
	}
}
