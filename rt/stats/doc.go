// Package stats keeps the statistics of a real-time loop in constant
// memory: a cyclictest-style 1 µs histogram, per-quantity series (count,
// min, max, exact mean, percentiles from a log-linear histogram), the
// worst cycles, and the maximum latency per time window.
//
// Every state type (Task, Series, LogHist, Worst, Windows, OverflowLog) is
// a fixed-size struct of uint64/int64 fields and arrays, without pointers,
// so that it can be placed in a shared-memory mapping: the RT process
// writes it with plain stores, and a reporting process maps the same bytes,
// copies them under a seqlock the caller provides, and computes summaries
// from the copy. The layout is a wire format: see LayoutVersion.
//
// Why: the RT loop must not allocate (a GC cycle stalls it for ms), must
// not grow memory over a year-long run, and must not share its process
// with reporting work, so the numbers cross to the reporter as raw memory.
// The recording methods allocate nothing and are nosplit or leaf
// functions, so recording adds no preemption point (stack check) to the
// loop; they cost tens of ns per cycle (see the benchmarks).
//
// Example, in the RT process (mem would be a shared mapping):
//
//	var task stats.Task
//	_ = task.Init(stats.DefaultWindowNs, startNs)
//	hist, _ := stats.NewHistogram(make([]uint64, stats.HistogramWords(400)))
//	rec := stats.NewRecorder(&task, hist)
//	for cycle := uint64(0); ; cycle++ {
//		// ... sleep, measure ...
//		rec.Record(stats.Sample{Cycle: cycle, AtNs: wakeNs,
//			LatencyNs: wakeNs - releaseNs, JitterNs: intervalNs - periodNs, ExecNs: execNs})
//	}
//
// and in the reader, on a copy:
//
//	s := snap.Latency.Summary() // Min, Avg, P50 … P9999, Max, Count
package stats
