package rt

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func init() {
	testRoles["noop"] = func(*WorkerSpec) (CycleFunc, error) {
		return func(c *Cycle) bool { sink += work2K(c.N); return true }, nil
	}
	// hang stops publishing: cycle 20 never returns.
	testRoles["hang"] = func(*WorkerSpec) (CycleFunc, error) {
		return func(c *Cycle) bool {
			//lint:ignore SA5002 the role hangs on purpose, for the watchdog
			for c.N == 20 {
			}
			return true
		}, nil
	}
	testRoles["fail"] = func(*WorkerSpec) (CycleFunc, error) {
		return nil, errors.New("the plant is not connected")
	}
}

func startTestWorker(t *testing.T, role string, o LoopOptions) *Worker {
	t.Helper()
	if o.Thread.Policy == "" {
		o.Thread = testThread()
	}
	if o.Name == "" {
		o.Name = role
	}
	w, err := StartWorker(WorkerSpec{Loop: o, Role: role}, WorkerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Kill(); <-w.Done(); w.Close() })
	return w
}

func waitCycles(t *testing.T, w *Worker, n uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for w.Telemetry().Snapshot().Cycles() < n {
		if time.Now().After(deadline) {
			t.Fatalf("worker did not reach %d cycles in 10 s", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestWorkerRuns: a worker runs its loop in its own process with the RT
// runtime settings, and its result arrives through shared memory.
func TestWorkerRuns(t *testing.T) {
	w := startTestWorker(t, "noop", LoopOptions{Period: time.Millisecond, Cycles: 300})
	exit, res := w.Wait()
	if exit.Code != 0 || !exit.Finished {
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

// TestWorkerStop: Stop through shared memory ends the loop after its
// current cycle, with a complete, consistent result.
func TestWorkerStop(t *testing.T) {
	w := startTestWorker(t, "noop", LoopOptions{Period: time.Millisecond})
	waitCycles(t, w, 50)
	w.Stop()
	exit, res := w.Wait()
	if exit.Code != 0 || !exit.Finished || res.StopReason != "stop requested" {
		t.Fatalf("exit %+v, stop reason %q", exit, res.StopReason)
	}
	if total := sum(res.Histogram) + res.Overflow; total != res.Cycles || res.Latency.Count != res.Cycles {
		t.Errorf("histogram total %d, latency count %d, cycles %d: want all equal", total, res.Latency.Count, res.Cycles)
	}
}

// TestWorkerKilled: a worker killed with SIGKILL is seen as killed, and
// its last published statistics survive it.
func TestWorkerKilled(t *testing.T) {
	w := startTestWorker(t, "noop", LoopOptions{Period: time.Millisecond})
	waitCycles(t, w, 30)
	if err := w.Kill(); err != nil {
		t.Fatal(err)
	}
	exit, res := w.Wait()
	if exit.Signal != "killed" || exit.Finished {
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
	w := startTestWorker(t, "hang", LoopOptions{Period: time.Millisecond})
	waitCycles(t, w, 20)
	deadline := time.Now().Add(10 * time.Second)
	for !w.Stalled(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a hung worker was not seen as stalled in 10 s")
		}
		select {
		case <-w.Done():
			t.Fatal("the hung worker exited")
		case <-time.After(20 * time.Millisecond):
		}
	}
	if s := w.Telemetry().Snapshot(); s.Cycles() != 20 {
		t.Errorf("stalled at %d cycles, want 20", s.Cycles())
	}
}

// TestWorkerSetupError: a role that cannot be built makes the worker exit
// with WorkerExitSetup and its reason, and nothing runs.
func TestWorkerSetupError(t *testing.T) {
	w := startTestWorker(t, "fail", LoopOptions{Period: time.Millisecond, Cycles: 10})
	exit, res := w.Wait()
	if exit.Code != WorkerExitSetup || !strings.Contains(exit.Err, "the plant is not connected") || exit.Finished {
		t.Fatalf("exit %+v, want code %d with the role's error", exit, WorkerExitSetup)
	}
	if res.Cycles != 0 {
		t.Errorf("%d cycles ran", res.Cycles)
	}
	if _, err := StartWorker(WorkerSpec{Loop: LoopOptions{Period: time.Microsecond}, Role: "noop"}, WorkerOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("StartWorker with a 1 µs period: err = %v, want ErrInvalid", err)
	}
}

// TestTelemetryNoTornReads: while a worker publishes 20,000 times a
// second, every snapshot the supervisor takes is consistent: the
// histogram, the latency series and the cycle counter agree exactly.
func TestTelemetryNoTornReads(t *testing.T) {
	w := startTestWorker(t, "noop", LoopOptions{Period: 50 * time.Microsecond, Wake: WakeBusy, Duration: 2 * time.Second})
	waitCycles(t, w, 1)
	var s Snapshot
	var n, moving int
	var last uint64
	for {
		w.Telemetry().Snapshot(&s)
		if s.Torn {
			t.Fatal("torn snapshot while the writer is alive")
		}
		c := s.Cycles()
		if hist := sum(s.hist); hist != c || s.h.Stats.Latency.Count != c || s.h.Stats.Exec.Count != c {
			t.Fatalf("snapshot %d: cycles %d, histogram total %d, latency count %d, exec count %d",
				n, c, hist, s.h.Stats.Latency.Count, s.h.Stats.Exec.Count)
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
