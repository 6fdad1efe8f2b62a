package rttest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/internal/cpulease"
)

// LeaseTimeout bounds how long LeaseCPU waits for a CPU. `go test ./...`
// runs the packages' test binaries side by side, and each may hold a CPU
// for the length of its RT tests; the wait is long so that a slow
// package delays the others rather than failing them.
const LeaseTimeout = 15 * time.Minute

// local serializes the tests of one test binary on a CPU. The process
// lease alone would not: a process is granted the CPUs it already holds
// (that lets a program started under a test's lease take its own).
var local struct {
	sync.Mutex
	sems   map[int]chan struct{}
	holder map[int]string // name of the test that holds the CPU
}

// localSem returns cpu's semaphore, or nil if test name (or a test it is
// a subtest of) holds cpu already.
func localSem(cpu int, name string) chan struct{} {
	local.Lock()
	defer local.Unlock()
	if local.sems == nil {
		local.sems, local.holder = map[int]chan struct{}{}, map[int]string{}
	}
	if h, ok := local.holder[cpu]; ok && (name == h || strings.HasPrefix(name, h+"/")) {
		return nil
	}
	if local.sems[cpu] == nil {
		local.sems[cpu] = make(chan struct{}, 1)
	}
	return local.sems[cpu]
}

func setHolder(cpu int, name string) {
	local.Lock()
	defer local.Unlock()
	if name == "" {
		delete(local.holder, cpu)
	} else {
		local.holder[cpu] = name
	}
}

// LeaseCPU gives the test an exclusive lease on cpu until it ends (the
// lease is released in tb.Cleanup). It waits while another test of this
// binary, or another process, holds the CPU, and fails the test naming
// the holder's PID after LeaseTimeout.
//
// Every test that pins a real-time loop to a CPU must hold the lease on
// that CPU for the length of the loop: an in-process loop, a re-executed
// test binary, a runner or example binary, cyclictest. Packages are
// tested in parallel, and two SCHED_FIFO loops on one CPU delay each
// other by whole cycles: a stall watchdog fires, a deadline is missed
// that the code under test did not miss. The lease is a flock on a file
// per CPU (see cpulease.Dir; $RTCELL_LOCK_DIR moves it), so it also keeps
// tests off a CPU that a running rtcell program leases. Programs started
// by the test may lease the same CPU: a process is granted the CPUs its
// ancestors hold.
//
// A test may call LeaseCPU again for the same CPU, and so may its
// subtests: they share its lease. A test that needs several CPUs calls
// LeaseCPU for each in ascending order, as every other caller does, so
// that no two tests deadlock.
func LeaseCPU(tb testing.TB, cpu int) {
	tb.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), LeaseTimeout)
	defer cancel()
	sem := localSem(cpu, tb.Name())
	if sem == nil {
		return // this test, or the test it is part of, holds the CPU
	}
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		tb.Fatalf("leasing CPU %d: another test of this package held it for %v", cpu, LeaseTimeout)
	}
	setHolder(cpu, tb.Name())
	unlock := func() { setHolder(cpu, ""); <-sem }
	l, err := cpulease.Wait(ctx, []int{cpu})
	if errors.Is(err, cpulease.ErrNotSupported) {
		// No leases (nor CPU pinning) on this platform: serialize
		// within the binary only.
		tb.Cleanup(unlock)
		return
	}
	if err != nil {
		unlock()
		tb.Fatalf("leasing CPU %d for the test (waited %v): %v", cpu, time.Since(start).Round(time.Second), err)
	}
	if waited := time.Since(start); waited > time.Second {
		tb.Logf("waited %v for the lease on CPU %d", waited.Round(time.Millisecond), cpu)
	}
	tb.Cleanup(func() {
		if err := l.Release(); err != nil {
			tb.Errorf("releasing the lease on CPU %d: %v", cpu, err)
		}
		unlock()
	})
}
