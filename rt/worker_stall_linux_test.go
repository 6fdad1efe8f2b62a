package rt

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rtcell/rtcell/rt/rttest"
)

// TestWorkerStallAllocatesNothing: a stall of the loop's CPU longer than
// sysmon's preemption threshold (10 ms) makes the runtime preempt the
// locked loop goroutine and hand it off through a second thread. The
// worker has that thread ready before the loop, so the run still
// allocates nothing and the worker gains no thread while it runs. The
// stall is forced as a host would cause it: a SCHED_FIFO 99 thread
// spins on the loop's CPU for 30 ms, five times.
func TestWorkerStallAllocatesNothing(t *testing.T) {
	rttest.RequireRoot(t)
	th := testThread()
	rttest.RequireCPU(t, th.CPU)
	w := startTestWorker(t, LoopOptions{Name: "noop", Period: time.Millisecond, Cycles: 2000, Thread: th})
	waitCycles(t, w, 100)
	pid := w.proc.PID()
	before := threadsOf(t, pid)
	for range 5 {
		if err := hog(th.CPU, 30*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	after := threadsOf(t, pid)
	exit, res := w.wait()
	if exit.status.Code != 0 || !exit.finished {
		t.Fatalf("worker exit %+v, want code 0 and finished", exit)
	}
	t.Logf("worker: %d threads before the stalls, %d after; %d cycles, %d missed releases, worst latency %v",
		before, after, res.Cycles, res.MissedReleases, time.Duration(res.Latency.Max))
	if res.MissedReleases == 0 {
		t.Errorf("no missed release: the stalls did not delay the loop")
	}
	if res.GCCycles != 0 || res.HeapAllocs != 0 {
		t.Errorf("worker under forced stalls: %d GC cycles, %d heap allocations; want 0, 0", res.GCCycles, res.HeapAllocs)
	}
	if after > before {
		t.Errorf("the worker went from %d to %d threads during the loop: the runtime created a thread (and allocated) in a hand-off", before, after)
	}
}

// hog runs a SCHED_FIFO 99 thread that spins on cpu for d, shutting out
// every thread of lower priority there.
func hog(cpu int, d time.Duration) error {
	errc := make(chan error, 1)
	go func() {
		// The thread is left locked, so it ends with the goroutine and
		// no other goroutine inherits its policy.
		runtime.LockOSThread()
		var set unix.CPUSet
		set.Set(cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			errc <- fmt.Errorf("pinning the hog to CPU %d: %w", cpu, err)
			return
		}
		if err := unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: 99}, 0); err != nil {
			errc <- fmt.Errorf("making the hog SCHED_FIFO 99: %w", err)
			return
		}
		for end := time.Now().Add(d); time.Now().Before(end); {
		}
		errc <- nil
	}()
	return <-errc
}

// threadsOf counts the threads of process pid.
func threadsOf(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
