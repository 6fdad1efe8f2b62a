package rt

import (
	"strconv"
	"time"

	"github.com/rtcell/rtcell/rt/stats"
)

// Result is the outcome of a loop run. All durations are nanoseconds.
//
// Definitions, per cycle (see LoopOptions):
//   - wake latency: CLOCK_MONOTONIC at wake-up minus the release time, as
//     cyclictest defines it;
//   - period jitter: the CLOCK_MONOTONIC_RAW interval between this wake-up
//     and the previous one, minus the nominal interval between their
//     releases (RAW is not slewed by NTP). Jitter summarises its absolute
//     value; JitterMinNs and JitterMaxNs are the signed extremes;
//   - execution time: the cycle function's run time;
//   - deadline miss: the cycle ended more than the deadline after its
//     release;
//   - overrun: the cycle ended after the next release;
//   - missed release: a release that passed while a cycle was still
//     running; skipped under OverrunSkip, run late under OverrunCatchup.
type Result struct {
	Name       string        `json:"name"`
	PeriodNs   int64         `json:"period_ns"`
	DeadlineNs int64         `json:"deadline_ns"`
	Wake       Wake          `json:"wake"`
	Overrun    OverrunPolicy `json:"overrun"`
	CPU        int           `json:"cpu"`
	Policy     Policy        `json:"policy"`
	Priority   int           `json:"priority"`

	Cycles      uint64        `json:"cycles"`
	Latency     stats.Summary `json:"latency_ns"`
	Jitter      stats.Summary `json:"jitter_ns"`
	JitterMinNs int64         `json:"jitter_min_ns"`
	JitterMaxNs int64         `json:"jitter_max_ns"`
	Exec        stats.Summary `json:"exec_ns"`

	DeadlineMisses uint64 `json:"deadline_misses"`
	Overruns       uint64 `json:"overruns"`
	MissedReleases uint64 `json:"missed_releases"`
	// MaxConsecutiveMisses is the longest run of deadline misses in a row.
	MaxConsecutiveMisses uint64 `json:"max_consecutive_misses"`
	Migrations           uint64 `json:"migrations"`
	GCCycles             uint64 `json:"gc_cycles"`
	HeapAllocs           uint64 `json:"heap_allocs"`
	MarginNs             int64  `json:"margin_ns,omitempty"`
	// ThreadCounters are the loop thread's page faults and context
	// switches since the loop started (see ThreadCounters); zero where
	// the kernel's counts could not be read.
	ThreadCounters ThreadCounters `json:"thread_counters"`
	// WatchdogTripped is set when the task watchdog's condition (see
	// Watchdog.Time) held; MaxOverTime is the longest run of cycles
	// longer than Watchdog.Time. Both are 0 without a task watchdog.
	WatchdogTripped bool   `json:"watchdog_tripped,omitempty"`
	MaxOverTime     uint64 `json:"max_over_time,omitempty"`
	// StatisticsSince is when the statistics were last reset
	// (Supervisor.ResetStatistics), zero if never; ResetAtCycle is the
	// cycle count then. Cycles counts from the start regardless.
	StatisticsSince time.Time `json:"statistics_since,omitzero"`
	ResetAtCycle    uint64    `json:"reset_at_cycle,omitempty"`

	Runtime RuntimeSettings `json:"runtime"`
	Thread  ThreadState     `json:"thread"`

	// Worst are the worst cycles by latency; AtNs is the wake-up time in
	// ns since the loop started.
	Worst       []stats.WorstEntry `json:"worst"`
	WindowNs    int64              `json:"window_ns"`
	WindowMaxNs []int64            `json:"window_max_ns"`

	// Histogram has 1 µs bins, cyclictest's -h semantics.
	Histogram      []uint64 `json:"histogram"`
	Overflow       uint64   `json:"overflow"`
	OverflowCycles []uint64 `json:"overflow_cycles"`

	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	StopReason string    `json:"stop_reason"`
	// Torn is set when the telemetry could not be read consistently (the
	// writer died mid-update).
	Torn bool `json:"torn,omitempty"`
	// Error is why the loop could not run, as its worker reported it.
	Error string `json:"error,omitempty"`
}

// Realtime reports whether the loop ran under an RT policy with the Go
// runtime settings an RT loop needs.
func (r *Result) Realtime() bool {
	return (r.Thread.Policy == PolicyFIFO || r.Thread.Policy == PolicyRR) && r.Runtime.OK()
}

func gogcString(pct int64) string {
	if pct < 0 {
		return "off"
	}
	return strconv.FormatInt(pct, 10)
}

// rawNow reads CLOCK_MONOTONIC_RAW.
func rawNow() int64 { return monotonicRaw() }
