package rt_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/rtcell/rtcell/rt"
)

// A single loop in this process: 100 cycles at 1 kHz on an unpinned
// thread at the normal policy, so that the example runs anywhere. A real
// loop pins a CPU under SCHED_FIFO (ThreadOptions{CPU: 1, Policy:
// rt.PolicyFIFO, Priority: 90}) and calls rt.Reexec first thing in main.
func Example() {
	var sum uint64
	loop, err := rt.NewLoop(rt.LoopOptions{
		Name:         "control",
		Period:       time.Millisecond,
		Cycles:       100,
		Thread:       rt.ThreadOptions{CPU: -1, Policy: rt.PolicyOther, NoMlock: true, NoDMALatency: true},
		AllowRuntime: true, // only for the example: it runs inside `go test`
	}, func(c *rt.Cycle) bool {
		sum += c.N // the control law goes here: no allocation, no blocking
		return true
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	res, err := loop.Run()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Println(res.Name, res.Cycles, sum)
	// Output: control 100 4950
}

// Process images shared between an RT task and the non-RT side are
// declared at package level, so that the supervisor and the worker, the
// same binary, declare the same regions in the same order.
type tankIn struct{ Level, Setpoint float64 }
type tankOut struct{ Valve float64 }

var (
	tankInputs  = rt.DeclareImage[tankIn]("inputs")
	tankOutputs = rt.DeclareImage[tankOut]("outputs")
)

// A Program run from a test or a tool: the same tank task for 200 cycles
// on an unpinned thread (a real one pins a CPU under SCHED_FIFO, as in
// the Main example), with a non-RT side that writes a setpoint and waits
// for the task's answer. Run returns the tasks' results and the exit
// status instead of exiting.
func ExampleRun() {
	var valve float64
	sum, err := rt.Run(context.Background(), rt.Program{
		Tasks: []rt.Task{tankTask(rt.LoopOptions{
			Name:   "tank",
			Period: time.Millisecond,
			Cycles: 200,
			Thread: rt.ThreadOptions{CPU: -1, Policy: rt.PolicyOther, NoMlock: true, NoDMALatency: true},
		})},
		IgnoreMisses: true, // an unpinned SCHED_OTHER loop on a busy machine may miss
		NonRT: func(ctx context.Context, sup *rt.Supervisor) error {
			tankInputs.Image().Write(&tankIn{Level: 10, Setpoint: 60})
			var o tankOut
			for ctx.Err() == nil && o.Valve == 0 {
				tankOutputs.Image().Read(&o)
				time.Sleep(time.Millisecond)
			}
			valve = o.Valve
			<-ctx.Done() // the program ends with its task
			return nil
		},
		Worker: rt.WorkerOptions{Args: []string{"-test.run=^$"}}, // the test binary as worker
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	t := sum.Tasks[0]
	fmt.Println(t.Name, t.Result.Cycles, valve)
	// Output: tank 200 25
}

// tankTask is a task that sets the valve from the level error, with a
// watchdog that shuts the valve after 5 deadline misses in a row and
// restarts the task.
func tankTask(lo rt.LoopOptions) rt.Task {
	return rt.Task{
		Loop: lo,
		Setup: func() (rt.CycleFunc, error) {
			in, out := tankInputs.Image(), tankOutputs.Image()
			var cur tankIn
			var o tankOut
			return func(c *rt.Cycle) bool {
				var v tankIn
				if in.Read(&v) { // keep the last good value on failure
					cur = v
				}
				o.Valve = 0.5 * (cur.Setpoint - cur.Level)
				out.Write(&o)
				return true
			}, nil
		},
		Watchdog: rt.Watchdog{MaxMisses: 5, Restart: true},
		SafeState: func(ev rt.WatchdogEvent) {
			tankOutputs.Image().Write(&tankOut{Valve: 0})
		},
	}
}

func init() {
	// The test binary serves this task in its worker processes.
	rt.ExampleTasks = append(rt.ExampleTasks, tankTask(rt.LoopOptions{Name: "tank"}))
}

// A Program with one 1 kHz task that reads an input image and writes an
// output image, a watchdog that drives the valve shut after 5 deadline
// misses in a row, and a non-RT side that feeds inputs. main calls
// rt.Main, which re-executes the binary as the task's worker and exits
// with ExitOK, ExitViolations, ExitConfig or ExitFailed.
func ExampleMain() {
	rt.Main(rt.Program{
		Tasks: []rt.Task{tankTask(rt.LoopOptions{
			Name:   "tank",
			Period: time.Millisecond,
			Thread: rt.ThreadOptions{CPU: 1, Policy: rt.PolicyFIFO, Priority: 90},
		})},
		NonRT: func(ctx context.Context, sup *rt.Supervisor) error {
			in := tankInputs.Image()
			for level := 0.0; ctx.Err() == nil; level += 0.1 {
				in.Write(&tankIn{Level: level, Setpoint: 50})
				time.Sleep(10 * time.Millisecond)
			}
			return nil
		},
	})
}
