package rt

import (
	"runtime"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/rttest"
)

func lastCPU() int { return runtime.NumCPU() - 1 }

// leaseTestCPU leases, for the rest of the test, the CPU that testThread
// pins loops to (as root). Every test that runs such a loop, here or in a
// child process, calls it first: packages are tested in parallel, and two
// SCHED_FIFO loops on one CPU would delay each other (rttest.LeaseCPU).
func leaseTestCPU(t *testing.T) {
	t.Helper()
	if cpu := testThread().CPU; cpu >= 0 {
		rttest.LeaseCPU(t, cpu)
	}
}

// spin busy-waits for d on the monotonic clock.
func spin(d time.Duration) {
	end := nanotime() + int64(d)
	for nanotime() < end {
	}
}

func newTestLoop(t *testing.T, o LoopOptions, fn CycleFunc) *Loop {
	t.Helper()
	o.AllowRuntime = true
	if o.Thread.Policy == "" {
		o.Thread = testThread()
	}
	if o.Thread.CPU >= 0 {
		rttest.LeaseCPU(t, o.Thread.CPU)
	}
	l, err := NewLoop(o, fn)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestCadence: N cycles take about N periods, releases are spaced by
// exactly one period, and nobody wakes before its release.
func TestCadence(t *testing.T) {
	const n = 200
	period := 2 * time.Millisecond
	var rel, wake [n]int64
	l := newTestLoop(t, LoopOptions{Name: "cadence", Period: period, Cycles: n}, func(c *Cycle) bool {
		rel[c.N], wake[c.N] = c.Release, c.Wake
		return true
	})
	start := time.Now()
	res, err := l.Run()
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if res.Cycles != n {
		t.Fatalf("cycles = %d, want %d", res.Cycles, n)
	}
	if min := time.Duration(n-1) * period; elapsed < min {
		t.Errorf("%d cycles took %v, less than %v: releases came early", n, elapsed, min)
	}
	// Generous: a noisy VM may delay the loop, but not by seconds.
	if max := time.Duration(n)*period + 5*time.Second; elapsed > max {
		t.Errorf("%d cycles took %v, more than %v", n, elapsed, max)
	}
	for i := 1; i < n; i++ {
		if d := rel[i] - rel[i-1]; d%int64(period) != 0 || d <= 0 {
			t.Fatalf("release %d is %d ns after release %d, want a multiple of the period %d", i, d, i-1, int64(period))
		}
		if d := rel[i] - rel[i-1]; d != int64(period) && res.MissedReleases == 0 {
			t.Fatalf("release %d is %d ns after the previous one with no missed release", i, d)
		}
	}
	for i := range n {
		if wake[i] < rel[i] {
			t.Fatalf("cycle %d woke %d ns before its release", i, rel[i]-wake[i])
		}
	}
	if h := sum(res.Histogram) + res.Overflow; h != n {
		t.Errorf("histogram total %d, want %d cycles", h, n)
	}
	if res.Latency.Count != n || res.Exec.Count != n || res.Jitter.Count != n-1 {
		t.Errorf("series counts latency %d exec %d jitter %d, want %d, %d, %d", res.Latency.Count, res.Exec.Count, res.Jitter.Count, n, n, n-1)
	}
	if res.StopReason != "completed" {
		t.Errorf("stop reason %q, want completed", res.StopReason)
	}
}

func sum(s []uint64) (n uint64) {
	for _, v := range s {
		n += v
	}
	return n
}

// TestOverrunSkip: a cycle that works 2.5 periods overruns every time,
// misses its deadline every time and makes the loop drop at least two
// releases every time; the releases seen by the cycles agree.
func TestOverrunSkip(t *testing.T) {
	const n = 20
	period := time.Millisecond
	var rel [n]int64
	var missed [n]uint64
	l := newTestLoop(t, LoopOptions{Period: period, Cycles: n, Overrun: OverrunSkip}, func(c *Cycle) bool {
		rel[c.N], missed[c.N] = c.Release, c.Missed
		spin(2500 * time.Microsecond)
		return true
	})
	res, err := l.Run()
	if err != nil {
		t.Fatal(err)
	}
	if res.Cycles != n || res.Overruns != n || res.DeadlineMisses != n {
		t.Fatalf("cycles %d overruns %d deadline misses %d, want %d of each", res.Cycles, res.Overruns, res.DeadlineMisses, n)
	}
	var seen uint64
	for i := 1; i < n; i++ {
		if missed[i] < 2 {
			t.Errorf("cycle %d: %d releases skipped before it, want ≥ 2 after a 2.5-period cycle", i, missed[i])
		}
		if want := int64(missed[i]+1) * int64(period); rel[i]-rel[i-1] != want {
			t.Errorf("cycle %d: release %d ns after the previous, want %d for %d skipped", i, rel[i]-rel[i-1], want, missed[i])
		}
		seen += missed[i]
	}
	// The last cycle's skipped releases are counted but seen by nobody.
	if res.MissedReleases < seen+2 {
		t.Errorf("missed releases %d, want at least %d", res.MissedReleases, seen+2)
	}
}

// TestOverrunCatchup: under catchup no release is dropped; the late ones
// run back to back and the loop gets back on time. The loop runs until a
// cycle after the five slow ones is released on time, so that a host
// stall (they reach 100 ms on a noisy VM) only makes it run longer.
func TestOverrunCatchup(t *testing.T) {
	const most = 10_000 // 10 s at 1 kHz: far past any stall seen
	period := time.Millisecond
	rel := make([]int64, most)
	missed := make([]uint64, most)
	caughtUp := false
	l := newTestLoop(t, LoopOptions{Period: period, Cycles: most, Overrun: OverrunCatchup}, func(c *Cycle) bool {
		rel[c.N], missed[c.N] = c.Release, c.Missed
		if c.N < 5 {
			spin(1500 * time.Microsecond)
		}
		if c.N >= 5 && c.Missed == 0 {
			caughtUp = true
			return false
		}
		return true
	})
	res, err := l.Run()
	if err != nil {
		t.Fatal(err)
	}
	n := int(res.Cycles)
	if !caughtUp {
		t.Fatalf("still behind after %d cycles: the loop never caught up", n)
	}
	for i := 1; i < n; i++ {
		if rel[i]-rel[i-1] != int64(period) {
			t.Fatalf("catchup: release %d is %d ns after the previous, want exactly one period", i, rel[i]-rel[i-1])
		}
	}
	if res.Overruns < 5 {
		t.Errorf("overruns %d, want ≥ 5 (the first five cycles work 1.5 periods)", res.Overruns)
	}
	// Each overrun makes exactly the next release late.
	if res.MissedReleases != res.Overruns {
		t.Errorf("missed releases %d, want one per overrun (%d)", res.MissedReleases, res.Overruns)
	}
	var late uint64
	for i := range n {
		late += missed[i]
	}
	if late+1 < res.MissedReleases {
		t.Errorf("cycles saw %d late releases, result says %d", late, res.MissedReleases)
	}
}

func TestStop(t *testing.T) {
	var l *Loop
	l = newTestLoop(t, LoopOptions{Period: time.Millisecond}, func(c *Cycle) bool {
		if c.N == 9 {
			l.Stop()
		}
		return true
	})
	res, err := l.Run()
	if err != nil {
		t.Fatal(err)
	}
	if res.Cycles != 10 || res.StopReason != "stop requested" {
		t.Fatalf("stopped after %d cycles (%q), want 10 (stop requested)", res.Cycles, res.StopReason)
	}
	l2 := newTestLoop(t, LoopOptions{Period: time.Millisecond}, func(c *Cycle) bool { return c.N < 4 })
	res, err = l2.Run()
	if err != nil {
		t.Fatal(err)
	}
	if res.Cycles != 5 || res.StopReason != "stopped by the cycle function" {
		t.Fatalf("stopped after %d cycles (%q), want 5 (stopped by the cycle function)", res.Cycles, res.StopReason)
	}
	if _, err := l2.Run(); err == nil {
		t.Fatal("a second Run succeeded")
	}
}
