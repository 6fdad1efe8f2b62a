package rt_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rtcell/rtcell/rt"
)

// machine is retained data: what a PLC keeps across restarts (counters,
// a setpoint the operator tuned). Pointer-free, as any shared image.
type machine struct {
	Starts   uint64  // how often the task started
	Cycles   uint64  // cycles run, over every start
	Setpoint float64 // a tuned value; 20 until someone changes it
}

// Declared at package level, as images are. A real program keeps the
// file under /var/lib; this one is per test process.
var retained = rt.DeclareRetain[machine]("machine",
	filepath.Join(os.TempDir(), "rtcell-example-"+strconv.Itoa(os.Getpid())+".retain"),
	rt.RetainOptions{Interval: 50 * time.Millisecond},
).WithDefault(machine{Setpoint: 20})

// Retained data survives a restart of the program: the supervisor loads
// it before the task starts and saves it every Interval and at the end;
// the task only reads and writes a shared image. Here the program runs
// twice in one process; the second run starts warm from what the first
// saved. (A real firmware calls rt.Main once and picks the start mode
// from a flag: -cold, -origin.)
func ExampleDeclareRetain() {
	retained.SetStart(rt.Origin) // a fresh install: delete any old file; the next Run starts warm
	defer os.Remove(retained.Path())
	for run := 1; run <= 2; run++ {
		_, err := rt.Run(context.Background(), rt.Program{
			Tasks: []rt.Task{machineTask(rt.LoopOptions{
				Name:   "machine",
				Period: time.Millisecond,
				Cycles: 100,
				Thread: rt.ThreadOptions{CPU: -1, Policy: rt.PolicyOther, NoMlock: true, NoDMALatency: true},
			})},
			IgnoreMisses: true,
			Worker:       rt.WorkerOptions{Args: []string{"-test.run=^$"}}, // the test binary as worker
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return
		}
		_, _, _, loaded := retained.Loaded()
		v, _ := retained.Value()
		fmt.Printf("run %d: loaded %v, starts %d, cycles %d, setpoint %g\n", run, loaded, v.Starts, v.Cycles, v.Setpoint)
	}
	// Output:
	// run 1: loaded false, starts 1, cycles 100, setpoint 20
	// run 2: loaded true, starts 2, cycles 200, setpoint 20
}

// machineTask counts starts and cycles in the retained image.
func machineTask(lo rt.LoopOptions) rt.Task {
	return rt.Task{
		Loop: lo,
		Setup: func() (rt.CycleFunc, error) {
			img := retained.Image()
			var m machine
			if !img.Read(&m) {
				return nil, fmt.Errorf("reading the retained image failed")
			}
			m.Starts++
			img.Write(&m)
			return func(c *rt.Cycle) bool {
				m.Cycles++
				img.Write(&m) // the supervisor saves it; the loop never touches the file
				return true
			}, nil
		},
	}
}

func init() {
	// The test binary serves this task in its worker processes.
	rt.ExampleTasks = append(rt.ExampleTasks, machineTask(rt.LoopOptions{Name: "machine"}))
}
