package rt

import (
	"fmt"
	"strings"
	"time"

	"github.com/rtcell/rtcell/rt/stats"
)

// Text formats the result as a short human summary, in microseconds.
func (r *Result) Text() string {
	var b strings.Builder
	if !r.Realtime() {
		b.WriteString("NOT REAL-TIME: this run did not have an RT policy and the RT runtime settings; its figures say nothing about real-time behaviour.\n")
	}
	fmt.Fprintf(&b, "%s: %d cycles, period %s, deadline %s, wake %s, %s:%d on CPUs %v (%s)\n",
		r.Name, r.Cycles, us(r.PeriodNs), us(r.DeadlineNs), r.Wake, r.Thread.Policy, r.Thread.Priority, r.Thread.CPUs, r.Runtime)
	row := func(name string, s stats.Summary) {
		fmt.Fprintf(&b, "  %-8s min %8s  avg %8s  p50 %8s  p99 %8s  p99.9 %8s  p99.99 %8s  max %8s\n",
			name, us(s.Min), us(s.Avg), us(s.P50), us(s.P99), us(s.P999), us(s.P9999), us(s.Max))
	}
	row("latency", r.Latency)
	row("|jitter|", r.Jitter)
	row("exec", r.Exec)
	fmt.Fprintf(&b, "  deadline misses %d, overruns %d, missed releases %d, GC cycles %d, heap allocs %d, migrations %d\n",
		r.DeadlineMisses, r.Overruns, r.MissedReleases, r.GCCycles, r.HeapAllocs, r.Migrations)
	c := r.ThreadCounters
	fmt.Fprintf(&b, "  loop thread: minor faults %d, major faults %d, involuntary switches %d, voluntary switches %d\n",
		c.MinorFaults, c.MajorFaults, c.InvoluntarySwitches, c.VoluntarySwitches)
	if r.WatchdogTripped || r.MaxOverTime > 0 {
		fmt.Fprintf(&b, "  task watchdog: longest run over its time %d cycles, tripped %v\n", r.MaxOverTime, r.WatchdogTripped)
	}
	if !r.StatisticsSince.IsZero() {
		fmt.Fprintf(&b, "  statistics since %s (reset at cycle %d)\n", r.StatisticsSince.Format(time.RFC3339Nano), r.ResetAtCycle)
	}
	if r.Wake == WakeHybrid {
		fmt.Fprintf(&b, "  hybrid margin %s\n", us(r.MarginNs))
	}
	return b.String()
}

// us formats nanoseconds as microseconds with one decimal.
func us(ns int64) string { return fmt.Sprintf("%.1fµs", float64(ns)/1e3) }
