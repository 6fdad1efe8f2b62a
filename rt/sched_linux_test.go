package rt

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rtcell/rtcell/rt/rttest"
)

// TestSchedFIFOApplied checks from inside the cycle, with sched_getattr
// and sched_getaffinity, that the thread runs SCHED_FIFO at the priority
// on the CPU, and afterwards from /proc that the thread was restored.
func TestSchedFIFOApplied(t *testing.T) {
	rttest.RequireRoot(t)
	cpu := lastCPU()
	rttest.RequireCPU(t, cpu)
	var tid int
	var attr *unix.SchedAttr
	var set unix.CPUSet
	var attrErr, affErr error
	l := newTestLoop(t, LoopOptions{Period: time.Millisecond, Cycles: 3,
		Thread: ThreadOptions{CPU: cpu, Pin: true, Policy: PolicyFIFO, Priority: 77}}, func(c *Cycle) bool {
		if c.N == 0 {
			tid = unix.Gettid()
			attr, attrErr = unix.SchedGetAttr(0, 0)
			affErr = unix.SchedGetaffinity(0, &set)
		}
		return true
	})
	res, err := l.Run()
	if err != nil {
		t.Fatal(err)
	}
	if attrErr != nil || affErr != nil {
		t.Fatalf("reading back: %v, %v", attrErr, affErr)
	}
	if attr.Policy&^unix.SCHED_RESET_ON_FORK != unix.SCHED_FIFO || attr.Priority != 77 {
		t.Errorf("in the cycle: policy %d priority %d, want SCHED_FIFO (%d) 77", attr.Policy, attr.Priority, unix.SCHED_FIFO)
	}
	if set.Count() != 1 || !set.IsSet(cpu) {
		t.Errorf("in the cycle: affinity %v, want only CPU %d", cpuList(&set), cpu)
	}
	if res.Thread.Policy != PolicyFIFO || res.Thread.Priority != 77 || len(res.Thread.CPUs) != 1 || res.Thread.CPUs[0] != cpu || res.Thread.TID != tid {
		t.Errorf("result thread state %+v, want fifo:77 on [%d] tid %d", res.Thread, cpu, tid)
	}
	if !res.Thread.MemLocked {
		t.Error("memory not locked as root")
	}
	// After the run the thread is back to SCHED_OTHER (policy field 41 of
	// /proc/<pid>/task/<tid>/stat), if it still exists.
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", tid))
	if err != nil {
		return // the runtime may have retired the thread
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if pol, _ := strconv.Atoi(fields[41-3]); pol != 0 {
		t.Errorf("after the run thread %d has policy %d, want 0 (SCHED_OTHER): the loop did not restore it", tid, pol)
	}
}
