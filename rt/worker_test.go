package rt

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/internal/worker"
	"github.com/rtcell/rtcell/rt/rttest"
)

// workerTasks is the program the test binary serves in a worker process
// started by startTestWorker: its tasks are found by name.
func workerTasks() Program {
	return Program{Tasks: []Task{
		{Loop: LoopOptions{Name: "noop"}, Setup: func() (CycleFunc, error) {
			return func(c *Cycle) bool { sink += work2K(c.N); return true }, nil
		}},
		// hang stops publishing: cycle 20 never returns.
		{Loop: LoopOptions{Name: "hang"}, Setup: func() (CycleFunc, error) {
			return func(c *Cycle) bool {
				//lint:ignore SA5002 the task hangs on purpose, for the watchdog
				for c.N == 20 {
				}
				return true
			}, nil
		}},
		{Loop: LoopOptions{Name: "fail"}, Setup: func() (CycleFunc, error) {
			return nil, errors.New("the plant is not connected")
		}},
		// slow takes about 3 ms from cycle 10 on.
		{Loop: LoopOptions{Name: "slow"}, Setup: func() (CycleFunc, error) {
			return func(c *Cycle) bool {
				if c.N >= 10 {
					spin(3 * time.Millisecond)
				}
				return true
			}, nil
		}},
		// once allocates one 32-byte object, at cycle 5.
		{Loop: LoopOptions{Name: "once"}, Setup: func() (CycleFunc, error) {
			return func(c *Cycle) bool {
				if c.N == 5 {
					onceSink = new([4]int64)
				}
				return true
			}, nil
		}},
		// faults maps and touches a fresh page every cycle.
		{Loop: LoopOptions{Name: "faults"}, Setup: func() (CycleFunc, error) {
			return func(c *Cycle) bool { touchFreshPage(); return true }, nil
		}},
	}}
}

var onceSink *[4]int64

// startTestWorker starts a worker process of the test binary running the
// task of workerTasks named o.Name.
func startTestWorker(t *testing.T, o LoopOptions) *workerProc {
	t.Helper()
	return startWatchedWorker(t, o, Watchdog{})
}

// startWatchedWorker is startTestWorker with a task watchdog armed in
// the telemetry block.
func startWatchedWorker(t *testing.T, o LoopOptions, wd Watchdog) *workerProc {
	t.Helper()
	if o.Thread.Policy == "" {
		o.Thread = testThread()
	}
	if o.Thread.CPU >= 0 {
		rttest.LeaseCPU(t, o.Thread.CPU)
	}
	// The test binary declares regions (program_test.go); its workers
	// map them, as every worker of a program does.
	if err := createRegions(); err != nil {
		t.Fatal(err)
	}
	w, err := startWorker(o, wd, 0, regionFiles(), WorkerOptions{Args: []string{"-test.run=^$"}}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.proc.Kill(); w.proc.Wait() })
	return w
}

func snapshot(w *workerProc) *Snapshot {
	var s Snapshot
	w.tel.Snapshot(&s.s)
	return &s
}

func waitCycles(t *testing.T, w *workerProc, n uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for snapshot(w).Cycles() < n {
		if time.Now().After(deadline) {
			t.Fatalf("worker did not reach %d cycles in 10 s", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestWorkerCountsOneAllocation: the worker's heap count is exact. A
// cycle function that allocates one small object in the whole run makes
// the result say 1: the count flushes the runtime's per-P allocation
// caches, where runtime/metrics would have read 0 until the cached span
// was refilled.
func TestWorkerCountsOneAllocation(t *testing.T) {
	w := startTestWorker(t, LoopOptions{Name: "once", Period: time.Millisecond, Cycles: 50})
	exit, res := w.wait()
	if exit.status.Code != 0 || !exit.finished {
		t.Fatalf("worker exit %+v, want code 0 and finished", exit)
	}
	if res.HeapAllocs != 1 || res.GCCycles != 0 {
		t.Errorf("worker: %d heap allocations, %d GC cycles; want 1, 0", res.HeapAllocs, res.GCCycles)
	}
}

// TestWorkerRuns: a worker runs its loop in its own process with the RT
// runtime settings, and its result arrives through shared memory.
func TestWorkerRuns(t *testing.T) {
	w := startTestWorker(t, LoopOptions{Name: "noop", Period: time.Millisecond, Cycles: 300})
	exit, res := w.wait()
	if exit.status.Code != 0 || !exit.finished {
		t.Fatalf("worker exit %+v, want code 0 and finished", exit)
	}
	if res.Cycles != 300 || sum(res.Histogram)+res.Overflow != 300 || res.Name != "noop" {
		t.Errorf("result %q: %d cycles, histogram total %d; want noop, 300, 300", res.Name, res.Cycles, sum(res.Histogram)+res.Overflow)
	}
	if !res.Runtime.OK() || res.GCCycles != 0 || res.HeapAllocs != 0 {
		t.Errorf("worker runtime %v, %d GC cycles, %d allocs; want RT settings, 0, 0", res.Runtime, res.GCCycles, res.HeapAllocs)
	}
	if res.Thread.TID == 0 {
		t.Errorf("thread state %+v not read back", res.Thread)
	}
	if want := testThread().Policy; res.Thread.Policy != want {
		t.Errorf("policy in effect %s, want %s", res.Thread.Policy, want)
	}
	if res.Start.IsZero() || !res.End.After(res.Start) {
		t.Errorf("start %v end %v", res.Start, res.End)
	}
}

// TestWorkerStop: a stop request through shared memory ends the loop
// after its current cycle, with a complete, consistent result.
func TestWorkerStop(t *testing.T) {
	w := startTestWorker(t, LoopOptions{Name: "noop", Period: time.Millisecond})
	waitCycles(t, w, 50)
	w.tel.RequestStop()
	exit, res := w.wait()
	if exit.status.Code != 0 || !exit.finished || res.StopReason != "stop requested" {
		t.Fatalf("exit %+v, stop reason %q", exit, res.StopReason)
	}
	if total := sum(res.Histogram) + res.Overflow; total != res.Cycles || res.Latency.Count != res.Cycles {
		t.Errorf("histogram total %d, latency count %d, cycles %d: want all equal", total, res.Latency.Count, res.Cycles)
	}
}

// TestWorkerKilled: a worker killed with SIGKILL is seen as killed, and
// its last published statistics survive it.
func TestWorkerKilled(t *testing.T) {
	w := startTestWorker(t, LoopOptions{Name: "noop", Period: time.Millisecond})
	waitCycles(t, w, 30)
	if err := w.proc.Kill(); err != nil {
		t.Fatal(err)
	}
	exit, res := w.wait()
	if exit.status.Signal != "killed" || exit.finished {
		t.Fatalf("exit %+v, want killed and not finished", exit)
	}
	if res.Cycles < 30 {
		t.Errorf("last statistics show %d cycles, want ≥ 30", res.Cycles)
	}
	if !strings.Contains(exit.String(), "killed by signal killed") {
		t.Errorf("exit string %q", exit.String())
	}
}

// TestWorkerStalled: a loop that stops publishing is caught by the
// heartbeat watchdog while its process is still alive.
func TestWorkerStalled(t *testing.T) {
	w := startTestWorker(t, LoopOptions{Name: "hang", Period: time.Millisecond})
	waitCycles(t, w, 20)
	deadline := time.Now().Add(10 * time.Second)
	for !w.stalled(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a hung worker was not seen as stalled in 10 s")
		}
		select {
		case <-w.proc.Done():
			t.Fatal("the hung worker exited")
		case <-time.After(20 * time.Millisecond):
		}
	}
	if s := snapshot(w); s.Cycles() != 20 {
		t.Errorf("stalled at %d cycles, want 20", s.Cycles())
	}
}

// TestWorkerSetupError: a task whose Setup fails makes the worker exit
// with worker.ExitSetup and its reason, and nothing runs; a task the
// binary does not have is refused with its own code.
func TestWorkerSetupError(t *testing.T) {
	w := startTestWorker(t, LoopOptions{Name: "fail", Period: time.Millisecond, Cycles: 10})
	exit, res := w.wait()
	if exit.status.Code != worker.ExitSetup || !strings.Contains(exit.err, "the plant is not connected") || exit.finished {
		t.Fatalf("exit %+v, want code %d with the task's error", exit, worker.ExitSetup)
	}
	if res.Cycles != 0 {
		t.Errorf("%d cycles ran", res.Cycles)
	}
	w = startTestWorker(t, LoopOptions{Name: "nosuchtask", Period: time.Millisecond, Cycles: 10})
	if exit, _ := w.wait(); exit.status.Code != worker.ExitNoTask || !strings.Contains(exit.err, `no task "nosuchtask"`) {
		t.Errorf("unknown task: exit %+v, want code %d naming the task", exit, worker.ExitNoTask)
	}
	if _, err := startWorker(LoopOptions{Name: "noop", Period: time.Microsecond}, Watchdog{}, 0, nil, WorkerOptions{}, os.Stderr); !errors.Is(err, ErrInvalid) {
		t.Errorf("a worker with a 1 µs period: err = %v, want ErrInvalid", err)
	}
}

// TestTelemetryNoTornReads: while a worker publishes 20,000 times a
// second, every snapshot the supervisor takes is consistent: the
// histogram, the latency series and the cycle counter agree exactly.
func TestTelemetryNoTornReads(t *testing.T) {
	w := startTestWorker(t, LoopOptions{Name: "noop", Period: 50 * time.Microsecond, Wake: WakeBusy, Duration: 2 * time.Second})
	waitCycles(t, w, 1)
	var s Snapshot
	var n, moving int
	var last uint64
	for {
		w.tel.Snapshot(&s.s)
		if s.Torn() {
			t.Fatal("torn snapshot while the writer is alive")
		}
		c := s.Cycles()
		bins, over := s.Histogram()
		if hist := sum(bins) + over; hist != c || s.Latency().Count != c || s.Exec().Count != c {
			t.Fatalf("snapshot %d: cycles %d, histogram total %d, latency count %d, exec count %d",
				n, c, hist, s.Latency().Count, s.Exec().Count)
		}
		if c != last {
			moving++
		}
		last = c
		n++
		if s.Done() {
			break
		}
	}
	if moving < 20 {
		t.Errorf("only %d of %d snapshots saw the counters move; the test did not exercise concurrent updates", moving, n)
	}
	t.Logf("%d snapshots, %d while moving, %d cycles", n, moving, last)
}
