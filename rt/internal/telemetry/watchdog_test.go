package telemetry

import (
	"testing"
	"time"
)

const ms = int64(time.Millisecond)

// record publishes one cycle of completion doneNs (all of it execution).
func record(b *Block, n uint64, doneNs int64) {
	b.Record(n, int64(n+1)*ms, 0, 0, doneNs, false, false, 0, 0)
}

func newWatched(timeNs int64, sens uint64) *Block {
	b := New(100)
	b.Begin(0, int64(time.Second), func(*Header) {})
	b.SetWatchdog(timeNs, sens)
	return b
}

// TestWatchdogSensitivity checks the boundaries of the task watchdog:
// Sensitivity-1 over-time cycles in a row do not trip it, Sensitivity
// do; one cycle longer than Sensitivity × Time trips it at once, one of
// exactly Sensitivity × Time does not.
func TestWatchdogSensitivity(t *testing.T) {
	const T = 2 * ms
	cases := []struct {
		name   string
		sens   uint64
		cycles []int64 // completion times
		trip   int     // index of the cycle that trips, -1: none
	}{
		{"sens-1 over in a row", 3, []int64{T + 1, T + 1, 1, T + 1, T + 1, T}, -1},
		{"sens over in a row", 3, []int64{T + 1, T + 1, T + 1, 1}, 2},
		{"exactly Time is not over", 3, []int64{T, T, T, T, T}, -1},
		{"one cycle of sens×Time", 3, []int64{1, 3 * T, 1, 1}, -1},
		{"one cycle of sens×Time+1ns", 3, []int64{1, 3*T + 1, 1}, 1},
		{"sensitivity 1: first over trips", 1, []int64{T, T + 1}, 1},
		{"sensitivity 0 means 1", 0, []int64{T + 1}, 0},
		{"interrupted run starts again", 2, []int64{T + 1, 0, T + 1, 0, T + 1, T + 1}, 5},
		{"huge sensitivity, no overflow", 1 << 62, []int64{1 << 62, T + 1}, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newWatched(T, c.sens)
			got := -1
			for i, d := range c.cycles {
				record(b, uint64(i), d)
				if got < 0 && b.WatchdogTripped() {
					got = i
				}
			}
			if got != c.trip {
				t.Fatalf("tripped at cycle %d, want %d", got, c.trip)
			}
			var s Snapshot
			b.Snapshot(&s)
			if c.trip >= 0 && (s.H.WdTripCycle != uint64(c.trip) || s.H.WdTripNs != c.cycles[c.trip]) {
				t.Errorf("trip recorded at cycle %d with %d ns, want %d with %d ns", s.H.WdTripCycle, s.H.WdTripNs, c.trip, c.cycles[c.trip])
			}
		})
	}
}

// TestWatchdogOff: without SetWatchdog, long cycles trip nothing.
func TestWatchdogOff(t *testing.T) {
	b := New(100)
	b.Begin(0, int64(time.Second), func(*Header) {})
	for i := range 10 {
		record(b, uint64(i), 100*ms)
	}
	if b.WatchdogTripped() {
		t.Fatal("watchdog tripped while off")
	}
}

// TestReset: a reset request clears the statistics before the next
// cycle is recorded, and keeps the cycle count and the watchdog state.
func TestReset(t *testing.T) {
	b := newWatched(2*ms, 10)
	for i := range 50 {
		b.Record(uint64(i), int64(i+1)*ms, 30_000, int64(i%5)-2, 3*ms, i%7 == 0, i%9 == 0, uint64(i%9/8), 0)
	}
	b.Migrated()
	b.RequestReset()
	if b.ResetsDone() != 0 {
		t.Fatal("reset done before the loop recorded a cycle")
	}
	b.Record(50, 51*ms, 5_000, 1, 100, false, false, 0, 0)
	var s Snapshot
	b.Snapshot(&s)
	h := &s.H
	if b.ResetsDone() != 1 || h.ResetCycles != 50 || h.ResetNs != 51*ms {
		t.Errorf("resets done %d at cycle %d, %d ns; want 1 at 50, %d", b.ResetsDone(), h.ResetCycles, h.ResetNs, 51*ms)
	}
	if h.Cycles != 51 {
		t.Errorf("cycles %d after reset, want 51 (kept)", h.Cycles)
	}
	if h.Stats.Latency.Count != 1 || h.Stats.Latency.Max != 5_000 || h.Stats.Exec.Count != 1 || h.Stats.Jitter.Count != 1 {
		t.Errorf("series after reset: latency %d samples max %d, exec %d, jitter %d; want 1 sample each, max 5000",
			h.Stats.Latency.Count, h.Stats.Latency.Max, h.Stats.Exec.Count, h.Stats.Jitter.Count)
	}
	if h.JitterMinNs != 1 || h.JitterMaxNs != 1 {
		t.Errorf("jitter extremes %d %d, want 1 1", h.JitterMinNs, h.JitterMaxNs)
	}
	// Cycle 49 missed its deadline: the run of misses in progress at the
	// reset (1) is kept, as the consecutive-miss watchdog reads it.
	if h.DeadlineMisses != 0 || h.Overruns != 0 || h.MissedReleases != 0 || h.Migrations != 0 || h.MaxConsecMiss != 1 {
		t.Errorf("counters after reset: %d misses, %d overruns, %d missed, %d migrations, %d max in a row; want 0, 0, 0, 0, 1",
			h.DeadlineMisses, h.Overruns, h.MissedReleases, h.Migrations, h.MaxConsecMiss)
	}
	var total uint64
	for _, v := range s.Hist {
		total += v
	}
	if total != 1 {
		t.Errorf("histogram holds %d samples after reset, want 1", total)
	}
	// 50 cycles over time in a row: the watchdog tripped on the 10th and
	// stays tripped, and its run of over-time cycles is kept.
	if h.WdTripped != 1 || h.WdTripCycle != 9 || h.WdMaxOver != 50 {
		t.Errorf("watchdog state after reset: tripped %d at %d, longest run %d; want 1 at 9, 50", h.WdTripped, h.WdTripCycle, h.WdMaxOver)
	}
}

func TestThreadCountersSub(t *testing.T) {
	a := ThreadCounters{10, 2, 5, 1}
	if d := a.Sub(ThreadCounters{4, 2, 6, 0}); d != (ThreadCounters{6, 0, 0, 1}) {
		t.Errorf("Sub = %+v", d)
	}
}

func TestRecordAllocs(t *testing.T) {
	b := newWatched(ms, 2)
	n := uint64(0)
	if a := testing.AllocsPerRun(1000, func() {
		if n%100 == 0 {
			b.RequestReset()
		}
		b.Record(n, int64(n)*ms, 1000, 10, int64(n%3)*ms, false, false, 0, 0)
		n++
	}); a != 0 {
		t.Errorf("Record with watchdog and resets allocates %.1f times per cycle", a)
	}
}
