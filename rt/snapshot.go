package rt

import (
	"time"

	"github.com/rtcell/rtcell/rt/internal/telemetry"
	"github.com/rtcell/rtcell/rt/stats"
)

// Snapshot is a consistent copy of a loop's live statistics, taken
// without blocking the loop: from a Loop in this process (Loop.Snapshot)
// or from a Program's task in its worker process (TaskInfo.Snapshot).
// Reuse one Snapshot for repeated reads: it allocates only the first
// time.
type Snapshot struct {
	s telemetry.Snapshot
}

// Torn is set when no consistent copy could be had: the writer died in
// the middle of an update. The copy may then be off by one cycle.
func (s *Snapshot) Torn() bool { return s.s.Torn }

// Err is the error the loop reported instead of running, or "".
func (s *Snapshot) Err() string { return s.s.Err() }

// Cycles is the number of completed cycles.
func (s *Snapshot) Cycles() uint64 { return s.s.H.Cycles }

// Name is the loop's name.
func (s *Snapshot) Name() string { return s.s.Name() }

// Running reports whether the loop has started and not finished.
func (s *Snapshot) Running() bool { return s.s.H.State == telemetry.StateRunning }

// Done reports whether the loop has finished (or could not start).
func (s *Snapshot) Done() bool { return s.s.H.State == telemetry.StateDone }

// Latency is the live series of wake latency.
func (s *Snapshot) Latency() *stats.Series { return &s.s.H.Stats.Latency }

// Jitter is the live series of absolute period jitter.
func (s *Snapshot) Jitter() *stats.Series { return &s.s.H.Stats.Jitter }

// Exec is the live series of execution times.
func (s *Snapshot) Exec() *stats.Series { return &s.s.H.Stats.Exec }

// DeadlineMisses is the count so far.
func (s *Snapshot) DeadlineMisses() uint64 { return s.s.H.DeadlineMisses }

// Overruns is the count so far.
func (s *Snapshot) Overruns() uint64 { return s.s.H.Overruns }

// MissedReleases is the count so far.
func (s *Snapshot) MissedReleases() uint64 { return s.s.H.MissedReleases }

// ConsecutiveMisses is the number of deadline misses in a row up to the
// last cycle (0 if the last cycle met its deadline).
func (s *Snapshot) ConsecutiveMisses() uint64 { return s.s.H.ConsecMisses }

// MaxConsecutiveMisses is the longest run of deadline misses in a row.
func (s *Snapshot) MaxConsecutiveMisses() uint64 { return s.s.H.MaxConsecMiss }

// PeriodNs is the loop's period.
func (s *Snapshot) PeriodNs() int64 { return s.s.H.PeriodNs }

// DeadlineNs is the loop's relative deadline.
func (s *Snapshot) DeadlineNs() int64 { return s.s.H.DeadlineNs }

// ThreadPriority is the priority in effect on the loop's thread.
func (s *Snapshot) ThreadPriority() int { return int(s.s.H.ThreadPriority) }

// ThreadPolicy is the scheduling policy in effect on the loop's thread.
func (s *Snapshot) ThreadPolicy() Policy { return enumName(policyNames, uint64(s.s.H.ThreadPolicy)) }

// CPU is the CPU the loop was asked to run on (-1: not pinned).
func (s *Snapshot) CPU() int { return int(s.s.H.CPU) }

// TID is the loop thread's ID.
func (s *Snapshot) TID() int { return int(s.s.H.TID) }

// PID is the loop's process ID.
func (s *Snapshot) PID() int { return int(s.s.H.PID) }

// GCCycles and HeapAllocs are set when the loop has finished.
func (s *Snapshot) GCCycles() uint64 { return s.s.H.GCCycles }

// HeapAllocs counts heap allocations during the loop, once it finished.
func (s *Snapshot) HeapAllocs() uint64 { return s.s.H.HeapAllocs }

// Realtime reports whether the loop runs under an RT policy with the Go
// runtime settings an RT loop needs.
func (s *Snapshot) Realtime() bool {
	p := s.ThreadPolicy()
	return (p == PolicyFIFO || p == PolicyRR) && s.s.H.GOMAXPROCS == 1 && s.s.H.AsyncPreemptOff != 0 && s.s.H.GCPercent < 0
}

// Histogram returns the 1 µs latency histogram bins (shared with the
// snapshot: do not modify) and the overflow count.
func (s *Snapshot) Histogram() (bins []uint64, overflow uint64) {
	n := len(s.s.Hist)
	if n == 0 {
		return nil, 0
	}
	return s.s.Hist[:n-1], s.s.Hist[n-1]
}

// HeartbeatNs is the CLOCK_MONOTONIC time (see Nanotime) of the last
// completed cycle, or of the loop's start before the first; 0 before the
// loop started. A watchdog compares it with Nanotime.
func (s *Snapshot) HeartbeatNs() int64 {
	if s.s.H.LastWakeNs != 0 {
		return s.s.H.LastWakeNs
	}
	return s.s.H.StartNs
}

// StatisticsResets is the number of statistics resets the loop has
// honoured (see Supervisor.ResetStatistics).
func (s *Snapshot) StatisticsResets() uint64 { return s.s.H.ResetDone }

// WatchdogTripped reports whether the task watchdog's condition (see
// Watchdog.Time) has held.
func (s *Snapshot) WatchdogTripped() bool { return s.s.H.WdTripped != 0 }

// WindowNs is the width of the windows whose maximum latency is kept.
func (s *Snapshot) WindowNs() int64 { return s.s.H.Stats.Windows.WindowNs }

// StartUnix is the wall-clock time the loop started (zero before).
func (s *Snapshot) StartUnix() time.Time {
	if s.s.H.StartUnixNs == 0 {
		return time.Time{}
	}
	return time.Unix(0, s.s.H.StartUnixNs)
}

func enumName[T any](names []T, i uint64) T { return names[min(i, uint64(len(names)-1))] }

// Result computes the run's result from the snapshot.
func (s *Snapshot) Result() *Result {
	h := &s.s.H
	st := &h.Stats
	r := &Result{
		Name:       s.Name(),
		PeriodNs:   h.PeriodNs,
		DeadlineNs: h.DeadlineNs,
		Wake:       enumName(wakeNames, h.Wake),
		Overrun:    enumName(overrunNames, h.Overrun),
		CPU:        int(h.CPU),
		Policy:     enumName(policyNames, uint64(h.Policy)),
		Priority:   int(h.Priority),

		Cycles:      h.Cycles,
		Latency:     st.Latency.Summary(),
		Jitter:      st.Jitter.Summary(),
		JitterMinNs: h.JitterMinNs,
		JitterMaxNs: h.JitterMaxNs,
		Exec:        st.Exec.Summary(),

		DeadlineMisses:       h.DeadlineMisses,
		Overruns:             h.Overruns,
		MissedReleases:       h.MissedReleases,
		MaxConsecutiveMisses: h.MaxConsecMiss,
		Migrations:           h.Migrations,
		GCCycles:             h.GCCycles,
		HeapAllocs:           h.HeapAllocs,
		MarginNs:             h.MarginNs,

		Runtime: RuntimeSettings{
			GOMAXPROCS:      int(h.GOMAXPROCS),
			AsyncPreemptOff: h.AsyncPreemptOff != 0,
			GOGC:            gogcString(h.GCPercent),
			MemoryLimit:     h.MemoryLimit,
		},
		Thread: ThreadState{
			TID:        int(h.TID),
			Policy:     enumName(policyNames, uint64(h.ThreadPolicy)),
			Priority:   int(h.ThreadPriority),
			MemLocked:  h.MemLocked != 0,
			DMALatency: h.DMALatency != 0,
		},
		Worst:          st.Worst.Sorted(nil),
		WindowNs:       st.Windows.WindowNs,
		Histogram:      append([]uint64(nil), s.s.Hist[:len(s.s.Hist)-1]...),
		Overflow:       s.s.Hist[len(s.s.Hist)-1],
		OverflowCycles: append([]uint64(nil), st.Overflows.Kept()...),
		StopReason:     enumName(stopReasons, h.StopReason),
		Torn:           s.s.Torn,
		Error:          s.Err(),
	}
	r.Thread.Warnings = trimLines(s.s.Warnings())
	r.ThreadCounters, _ = s.ThreadCounters()
	r.WatchdogTripped, r.MaxOverTime = h.WdTripped != 0, h.WdMaxOver
	if h.ResetNs != 0 && h.StartUnixNs != 0 {
		r.StatisticsSince = time.Unix(0, h.StartUnixNs+(h.ResetNs-h.StartNs))
		r.ResetAtCycle = h.ResetCycles
	}
	if h.StartUnixNs != 0 {
		r.Start = time.Unix(0, h.StartUnixNs)
	}
	if h.EndUnixNs != 0 {
		r.End = time.Unix(0, h.EndUnixNs)
	}
	for i := range r.Worst {
		r.Worst[i].AtNs -= h.StartNs // since the loop started
	}
	for c := 0; c < 256; c++ {
		if h.ThreadCPUs[c/64]&(1<<(c%64)) != 0 {
			r.Thread.CPUs = append(r.Thread.CPUs, c)
		}
	}
	for _, w := range st.Windows.History(nil) {
		r.WindowMaxNs = append(r.WindowMaxNs, w.MaxNs)
	}
	if cur := st.Windows.Current(); cur.Samples > 0 {
		r.WindowMaxNs = append(r.WindowMaxNs, cur.MaxNs)
	}
	return r
}
