package rt

import (
	"testing"
	"time"
)

// TestThreadCountersFaults: a cycle that touches a fresh page every
// cycle shows at least one minor fault per cycle in the loop thread's
// counters; a clean loop shows no major fault and at most a handful of
// minor ones once it has warmed up (the first cycles fault in stack and
// code pages; after that nothing new is touched).
func TestThreadCountersFaults(t *testing.T) {
	const cycles = 300
	w := startTestWorker(t, LoopOptions{Name: "faults", Period: time.Millisecond, Cycles: cycles})
	exit, res := w.wait()
	if !exit.finished {
		t.Fatalf("worker exit %+v", exit)
	}
	if c := res.ThreadCounters; c.MinorFaults+c.MajorFaults < cycles {
		t.Errorf("a loop that touches a fresh page each cycle: %+v over %d cycles, want ≥ %d faults", c, cycles, cycles)
	}
	t.Logf("a loop that touches a fresh page each cycle, %d cycles: %+v", cycles, res.ThreadCounters)

	w = startTestWorker(t, LoopOptions{Name: "noop", Period: time.Millisecond, Cycles: 1500})
	waitCycles(t, w, 200) // warm-up
	var s Snapshot
	w.tel.Snapshot(&s.s)
	warm, ok := s.ThreadCounters()
	if !ok {
		t.Fatalf("no live thread counters from /proc for pid %d tid %d", s.PID(), s.TID())
	}
	exit, res = w.wait()
	if !exit.finished {
		t.Fatalf("worker exit %+v", exit)
	}
	end := res.ThreadCounters
	if end.MinorFaults < warm.MinorFaults || end.VoluntarySwitches < warm.VoluntarySwitches {
		t.Fatalf("counters went back: %+v after warm-up, %+v at the end", warm, end)
	}
	// Cycles sleep: each is at least one voluntary switch.
	if end.VoluntarySwitches < 1000 {
		t.Errorf("%d voluntary switches over 1500 sleeping cycles, want ≥ 1000 (counters not the loop thread's?)", end.VoluntarySwitches)
	}
	if end.MajorFaults != 0 {
		t.Errorf("clean loop: %d major faults, want 0", end.MajorFaults)
	}
	if d := end.MinorFaults - warm.MinorFaults; raceEnabled {
		t.Logf("race detector on: %d minor faults after warm-up, from its shadow memory; not checked", d)
	} else if d > 8 {
		t.Errorf("clean loop after warm-up: %d minor faults, want ≤ 8", d)
	}
	t.Logf("clean loop: %+v at warm-up, %+v at the end", warm, end)
}

// TestWorkerTaskWatchdog: cycles of about 3 ms against Time 1 ms,
// Sensitivity 3 trip the task watchdog in the worker's block on the
// third slow cycle in a row at the latest (on a stalled host, an earlier
// cycle longer than 3 ms does it at once).
func TestWorkerTaskWatchdog(t *testing.T) {
	w := startWatchedWorker(t, LoopOptions{Name: "slow", Period: 5 * time.Millisecond, Cycles: 40}, Watchdog{Time: time.Millisecond, Sensitivity: 3})
	_, res := w.wait()
	if !res.WatchdogTripped {
		t.Fatalf("30 cycles of 3 ms against a 1 ms × 3 watchdog did not trip it: %+v", res.Exec)
	}
	var s Snapshot
	w.tel.Snapshot(&s.s)
	h := &s.s.H
	if h.WdTripCycle > 12 || res.MaxOverTime < 30 {
		t.Errorf("tripped at cycle %d (want ≤ 12), longest run over time %d (want ≥ 30)", h.WdTripCycle, res.MaxOverTime)
	}
	if d := w.watchdogDetail(Watchdog{Time: time.Millisecond, Sensitivity: 3}); d == "" {
		t.Error("no detail")
	}
}

// TestWorkerResetStatistics: a reset request from the supervisor resets
// the running loop's statistics without stopping it.
func TestWorkerResetStatistics(t *testing.T) {
	w := startTestWorker(t, LoopOptions{Name: "noop", Period: time.Millisecond, Cycles: 600})
	waitCycles(t, w, 200)
	w.tel.RequestReset()
	deadline := time.Now().Add(5 * time.Second)
	for w.tel.ResetsDone() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the loop did not honour the reset request in 5 s")
		}
		time.Sleep(time.Millisecond)
	}
	exit, res := w.wait()
	if !exit.finished || res.Cycles != 600 {
		t.Fatalf("exit %+v after %d cycles: the reset must not stop the loop", exit, res.Cycles)
	}
	if res.ResetAtCycle < 200 || res.StatisticsSince.Before(res.Start) {
		t.Errorf("reset at cycle %d at %v (start %v); want ≥ 200, after the start", res.ResetAtCycle, res.StatisticsSince, res.Start)
	}
	want := res.Cycles - res.ResetAtCycle
	if res.Latency.Count != want || sum(res.Histogram)+res.Overflow != want || res.Exec.Count != want {
		t.Errorf("after the reset at cycle %d: latency count %d, histogram %d, exec %d; want %d each",
			res.ResetAtCycle, res.Latency.Count, sum(res.Histogram)+res.Overflow, res.Exec.Count, want)
	}
}

func TestTailWriter(t *testing.T) {
	w := newTailWriter(8)
	w.Write([]byte("abc"))
	w.Write([]byte("defgh"))
	w.Write([]byte("ij"))
	if got := w.String(); got != "cdefghij" {
		t.Errorf("tail %q, want cdefghij", got)
	}
	w.Write([]byte("0123456789"))
	if got := w.String(); got != "23456789" {
		t.Errorf("tail %q, want 23456789", got)
	}
}

func TestFailureReason(t *testing.T) {
	long := "task setup: " + string(make([]byte, 0))
	for range 300 {
		long += "0123456789"
	}
	cut := long[:100] + " … [cut: full text on the worker's stderr]"
	cases := []struct {
		name, published, tail, want string
		finished                    bool
		code                        int
	}{
		{"published", "plant not connected", "noise", "plant not connected", false, 2},
		{"finished", "", "", "", true, 0},
		{"exited early", "", "usage: ctl -addr HOST\nflag: -addr is required\n", "the worker exited before its loop ran; its stderr ended:\nusage: ctl -addr HOST\nflag: -addr is required", false, 2},
		{"exited silently", "", "", "the worker exited before its loop ran, with nothing on its stderr", false, 1},
		{"cut, whole on stderr", cut, "prog worker \"x\": " + long + "\nmore\n", long, false, 2},
	}
	for _, c := range cases {
		if got := failureReason(c.published, c.finished, c.code, c.tail); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
