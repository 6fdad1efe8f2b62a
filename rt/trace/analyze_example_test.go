package trace_test

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/rtcell/rtcell/rt/trace"
)

// Analyze a trace the loop froze on a late cycle: a SCHED_FIFO 95 thread
// spinning on the loop's CPU (captured on a 6.18 VM by the capture
// helper: go test ./rt/trace -run TestCapture -capture=hog).
func ExampleAnalyze() {
	f, err := os.Open("testdata/hog.trace")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	// The breach as the loop knows it: CPU, thread, release and wake-up
	// on CLOCK_MONOTONIC. With a zero Breach, Analyze finds it from the
	// loop's "rtcell: task=… cycle=… latency=…ns" marker.
	var b struct {
		CPU       int   `json:"cpu"`
		TID       int   `json:"tid"`
		ReleaseNs int64 `json:"release_ns"`
		WakeNs    int64 `json:"wake_ns"`
	}
	raw, _ := os.ReadFile("testdata/hog.json")
	json.Unmarshal(raw, &b)

	cause, err := trace.Analyze(f, trace.Breach{CPU: b.CPU, TID: b.TID, ReleaseNs: b.ReleaseNs, WakeNs: b.WakeNs})
	if err != nil {
		panic(err)
	}
	trace.WriteText(os.Stdout, cause, b.WakeNs-b.ReleaseNs)
	top := cause.Contributors[0]
	fmt.Printf("largest: %s %q, %.0f %%, preempted %v\n", top.Kind, top.Name, top.Pct, top.Preempted)
	// Output:
	//   latency                                                 1616.77 us
	//   thread    rtcell-hog:14131 FIFO 95 (preempted)          1596.00 us (98.72 %)
	//   wakeup    rtcell-loop:14134                               12.13 us ( 0.75 %)
	//   timer_irq hrtimer_wakeup                                   5.64 us ( 0.35 %)
	//   irq       local_timer                                      3.00 us ( 0.19 %)
	//   unexplained (hardware, firmware or hypervisor)             0.00 us ( 0.00 %)
	// largest: thread "rtcell-hog:14131 FIFO 95", 99 %, preempted true
}
