package runner

import (
	"github.com/rtcell/rtcell/rt"
	"github.com/rtcell/rtcell/rt/stats"
	"github.com/rtcell/rtcell/runner/report"
)

// taskReport converts a worker's result into the report's task.
func taskReport(r *rt.Result) report.Task {
	if r == nil {
		return report.Task{Stopped: "never started"}
	}
	cpu := r.CPU
	if len(r.Thread.CPUs) == 1 {
		cpu = r.Thread.CPUs[0]
	}
	t := report.Task{
		Name:                 r.Name,
		CPU:                  cpu,
		Policy:               string(r.Thread.Policy),
		Priority:             r.Thread.Priority,
		PeriodNs:             r.PeriodNs,
		DeadlineNs:           r.DeadlineNs,
		Wake:                 string(r.Wake),
		MarginNs:             r.MarginNs,
		Cycles:               r.Cycles,
		LatencyNs:            reportStats(r.Latency),
		JitterNs:             reportStats(r.Jitter),
		JitterSignedNs:       &report.MinMax{Min: r.JitterMinNs, Max: r.JitterMaxNs},
		ExecNs:               reportStats(r.Exec),
		DeadlineMisses:       r.DeadlineMisses,
		Overruns:             r.Overruns,
		MissedReleases:       r.MissedReleases,
		MaxConsecutiveMisses: r.MaxConsecutiveMisses,
		GCCycles:             r.GCCycles,
		MinorFaults:          r.ThreadCounters.MinorFaults,
		MajorFaults:          r.ThreadCounters.MajorFaults,
		InvoluntarySwitches:  r.ThreadCounters.InvoluntarySwitches,
		VoluntarySwitches:    r.ThreadCounters.VoluntarySwitches,
		Runtime: report.Runtime{
			GOMAXPROCS:      r.Runtime.GOMAXPROCS,
			AsyncPreemptOff: r.Runtime.AsyncPreemptOff,
			GOGC:            r.Runtime.GOGC,
		},
		WindowMaxNs: r.WindowMaxNs,
		WindowNs:    r.WindowNs,
		Histogram:   report.Histogram{BinNs: 1000, Counts: r.Histogram, Overflow: r.Overflow},
		Stopped:     r.StopReason,
		Warnings:    r.Thread.Warnings,
	}
	if r.Thread.TID == 0 {
		// The loop never started: say what was asked for.
		t.Policy, t.Priority = string(r.Policy), r.Priority
	}
	for _, w := range r.Worst {
		t.Worst = append(t.Worst, report.Worst{Cycle: w.Cycle, AtNs: w.AtNs, LatencyNs: w.LatencyNs, ExecNs: w.ExecNs})
	}
	return t
}

func reportStats(s stats.Summary) report.Stats {
	return report.Stats{Min: s.Min, Avg: s.Avg, P50: s.P50, P90: s.P90, P99: s.P99, P999: s.P999, P9999: s.P9999, Max: s.Max}
}
