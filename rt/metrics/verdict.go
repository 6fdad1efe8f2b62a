package metrics

// Verdict is the judgement of a run so far, as the rtcell_verdict gauge
// exports it: the same words as the runner's report.
type Verdict string

// Verdicts, from the worst. The first that applies wins.
const (
	// VerdictFailed: a task could not run: its loop reported an error,
	// or its worker is gone without having finished its loop (killed,
	// crashed, stopped by a watchdog, or never started).
	VerdictFailed Verdict = "failed"
	// VerdictNotRealtime: the kernel is not PREEMPT_RT, or a task's
	// thread is not at an RT policy (fifo, rr) with the Go runtime
	// settings an RT loop needs. Its figures prove nothing about
	// real-time behaviour, whatever they are.
	VerdictNotRealtime Verdict = "not-realtime"
	// VerdictViolations: a task missed a deadline, overran its period,
	// or was restarted by its watchdog.
	VerdictViolations Verdict = "violations"
	// VerdictPass: every task met every deadline so far, on an RT setup.
	VerdictPass Verdict = "pass"
)

// Verdicts lists every verdict in the order the gauge exports them.
var Verdicts = []Verdict{VerdictPass, VerdictViolations, VerdictNotRealtime, VerdictFailed}

// CollectorOptions configures a collector made by NewCollectorOptions.
type CollectorOptions struct {
	// Verdict adds the gauge rtcell_verdict{verdict="pass|violations|
	// not-realtime|failed"}: 1 for the verdict of the tasks so far, 0
	// for the others (see Collector.Verdict).
	Verdict bool
	// KernelRealtime says that the kernel is PREEMPT_RT
	// (/sys/kernel/realtime reads 1, or `uname -v` names PREEMPT_RT).
	// When false the verdict is at best not-realtime: on a kernel that
	// is not PREEMPT_RT a loop's latency has no bound, however good its
	// figures look. Read it once at start: the kernel does not change
	// under a running process.
	KernelRealtime bool
}

// verdictOf judges the tasks of one scrape. Failure comes first (a task
// that is not running has no figures to judge), then the setup (figures
// from a setup that is not real-time prove nothing), then the deadlines.
func verdictOf(data []taskData, kernelRT bool) Verdict {
	notRT, violations := !kernelRT, false
	for i := range data {
		d := &data[i]
		if d.failed || (d.exited && !d.done) {
			return VerdictFailed
		}
		if !d.started {
			continue
		}
		if !d.res.Realtime() {
			notRT = true
		}
		if d.res.DeadlineMisses > 0 || d.res.Overruns > 0 || d.restarts > 0 {
			violations = true
		}
	}
	switch {
	case notRT:
		return VerdictNotRealtime
	case violations:
		return VerdictViolations
	}
	return VerdictPass
}

// Verdict judges the tasks as they are now, as the rtcell_verdict gauge
// does at a scrape: failed when a task's loop reported an error or its
// worker exited before its loop finished; not-realtime when the options
// say the kernel is not PREEMPT_RT or a started task is not at an RT
// policy; violations when a task missed a deadline, overran or was
// restarted; else pass. Tasks that have not started yet count as
// passing. It takes a snapshot of every task, like a scrape.
func (c *Collector) Verdict() (Verdict, error) {
	data, err := c.gather()
	if err != nil {
		return "", err
	}
	return verdictOf(data, c.opts.KernelRealtime), nil
}

// writeVerdict writes the rtcell_verdict family.
func writeVerdict(w *textWriter, v Verdict) {
	w.family("rtcell_verdict", typeGauge, "The verdict of the run so far, 1 for the current one and 0 for the others: failed (a task's worker is down or its loop failed), not-realtime (the kernel is not PREEMPT_RT or a task is not at an RT policy), violations (a deadline miss, an overrun or a watchdog restart), pass.")
	for _, x := range Verdicts {
		w.sample("rtcell_verdict", []label{newLabel("verdict", string(x))}, b2f(x == v))
	}
}
