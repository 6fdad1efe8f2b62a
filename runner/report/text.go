package report

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/rtcell/rtcell/rt/cpulist"
	"github.com/rtcell/rtcell/sysprep"
)

// VerdictLabel is a verdict in plain words, as a banner shows it: PASS,
// VIOLATIONS, NOT REAL-TIME or FAILED.
func VerdictLabel(verdict string) string {
	switch verdict {
	case VerdictPass:
		return "PASS"
	case VerdictViolations:
		return "VIOLATIONS"
	case VerdictNotRealtime:
		return "NOT REAL-TIME"
	case VerdictFailed:
		return "FAILED"
	}
	return strings.ToUpper(orDash(verdict))
}

// NotRealtimeReason says in plain words why a run is not real-time: the
// tasks ran at SCHED_OTHER (Report.NotRealtime), the kernel is not
// PREEMPT_RT, or a task ran without its RT settings in effect. It is ""
// for a run that was real-time.
func (r *Report) NotRealtimeReason() string {
	switch {
	case r.NotRealtime:
		return "the tasks ran at SCHED_OTHER, allowed on a system not set up for real-time (allow_non_rt)"
	case r.Verdict != VerdictNotRealtime:
		return ""
	case !r.Host.Realtime:
		return "the kernel is not PREEMPT_RT"
	}
	return "a task did not run at an RT policy with its Go runtime settings in effect"
}

// violationCounts sums the tasks' deadline misses, overruns and missed
// releases.
func (r *Report) violationCounts() (misses, overruns, missed uint64) {
	for _, t := range r.Tasks {
		misses += t.DeadlineMisses
		overruns += t.Overruns
		missed += t.MissedReleases
	}
	return misses, overruns, missed
}

// VerdictText is the verdict as one line of plain words, the label
// first: what the text summary ends with and a banner says. A run that
// was not real-time says why, and still names its violations.
func (r *Report) VerdictText() string {
	m, o, x := r.violationCounts()
	counts := fmt.Sprintf("deadline misses %d, overruns %d, missed releases %d", m, o, x)
	switch r.Verdict {
	case VerdictPass:
		return "PASS: every task met every deadline on a real-time setup"
	case VerdictViolations:
		return "VIOLATIONS: " + counts
	case VerdictNotRealtime:
		s := "NOT REAL-TIME: " + r.NotRealtimeReason() + ", so these timings are not a real-time result"
		if m+o+x > 0 {
			s += "; violations all the same: " + counts
		}
		return s
	case VerdictFailed:
		return "FAILED: a task did not run to the end"
	}
	return VerdictLabel(r.Verdict)
}

// WriteText writes a compact human summary: the host and the box (CPU
// model, board, BIOS, kernel command line; text from the box escaped for
// the terminal), the preflight verdict, then per task its settings as read back from the worker, the
// cycle count, the latency, jitter and execution-time statistics in µs,
// the violation and GC counters and the worst cycles; the cyclictest
// cross-check if any, and the verdict as the last line (VerdictText). A
// run that was not real-time is headed and ended by NOT REAL-TIME in
// plain words, with the reason.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	switch {
	case r.NotRealtime:
		p("%s\n\n", NotRealtimeNotice)
	case r.Verdict == VerdictNotRealtime:
		p("NOT REAL-TIME: %s; these timings show what this box did, not what a real-time box guarantees. Do not sign off on it.\n\n",
			r.NotRealtimeReason())
	}
	p("rtcell run report (%s)\n", Schema)
	if r.Version != "" {
		p("%-10s %s\n", "rtcell", r.Version)
	}
	h := r.Host
	rt := "no"
	if h.Realtime {
		rt = "yes"
	}
	p("%-10s %s: Linux %s %s %s, %d CPUs, PREEMPT_RT: %s\n", "host", orDash(esc1(h.Hostname)), orDash(esc1(h.KernelRelease)), esc1(h.KernelVersion), esc1(h.Machine), h.CPUs, rt)
	var box []string
	for _, f := range []string{h.CPUModel, strings.TrimSpace(h.Vendor + " " + h.Product)} {
		if f != "" {
			box = append(box, esc1(f))
		}
	}
	if bios := strings.TrimSpace(h.BIOSVersion + " " + h.BIOSDate); bios != "" {
		box = append(box, "BIOS "+esc1(bios))
	}
	if len(box) > 0 {
		p("%-10s %s\n", "box", strings.Join(box, ", "))
	}
	if h.Cmdline != "" {
		p("%-10s %s\n", "cmdline", esc1(h.Cmdline))
	}
	var run []string
	if !r.StartTime.IsZero() {
		run = append(run, "started "+r.StartTime.Format(time.RFC3339))
	}
	if r.DurationNs > 0 {
		run = append(run, fmt.Sprintf("%.3f s", float64(r.DurationNs)/1e9))
	}
	if r.Config != "" {
		run = append(run, "config "+esc1(r.Config))
	}
	if len(run) > 0 {
		p("%-10s %s\n", "run", strings.Join(run, ", "))
	}
	if pf := r.Preflight; pf != nil {
		p("%-10s %s: %d pass, %d warn, %d fail, %d skip", "preflight", pf.Verdict, pf.Pass, pf.Warn, pf.Fail, pf.Skip)
		if len(pf.Failed) > 0 {
			p("; failed: %s", strings.Join(pf.Failed, ", "))
		}
		p("\n")
	} else {
		p("%-10s not run\n", "preflight")
	}
	for i := range r.Tasks {
		writeTaskText(bw, &r.Tasks[i])
	}
	writePhasesText(bw, r)
	if x := r.Cyclictest; x != nil {
		p("\ncyclictest %s cross-check on CPU %d: SCHED_FIFO %d, interval %s µs, %d cycles\n",
			x.Version, x.CPU, x.Priority, us(x.IntervalNs), x.Cycles)
		if x.Error != "" {
			p("  error: %s\n", x.Error)
		} else {
			p("  %-18s%s\n", "", statsHeader())
			p("  %-18s%s\n", "latency µs", statsRow(x.LatencyNs))
			if x.Cmdline != "" {
				p("  %-10s%s\n", "command", x.Cmdline)
			}
		}
	}
	words := r.VerdictText()
	p("\nverdict: %s\n", words)
	if r.NotRealtime && r.Verdict != VerdictNotRealtime {
		p("NOT REAL-TIME: this verdict is about a system that is not real-time.\n")
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing report text: %w", err)
	}
	return nil
}

func writeTaskText(w io.Writer, t *Task) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	phase := ""
	if t.Phase != "" {
		phase = " (phase " + t.Phase + ")"
	}
	p("\ntask %s%s on CPU %d: %s %d, period %s µs, deadline %s µs, wake %s\n",
		esc1(t.Name), esc1(phase), t.CPU, orDash(t.Policy), t.Priority, us(t.PeriodNs), us(t.DeadlineNs), orDash(t.Wake))
	p("  %-10sGOMAXPROCS=%d asyncpreemptoff=%d GOGC=%s\n", "runtime", t.Runtime.GOMAXPROCS, b2i(t.Runtime.AsyncPreemptOff), orDash(t.Runtime.GOGC))
	p("  %-10s%d (%s)\n", "cycles", t.Cycles, orDash(t.Stopped))
	for _, w := range t.Warnings {
		p("  %-10s%s\n", "warning", w)
	}
	if t.Error != "" {
		p("  %-10s%s\n", "error", t.Error)
	}
	p("  %-18s%s\n", "", statsHeader())
	p("  %-18s%s\n", "wake latency µs", statsRow(t.LatencyNs))
	p("  %-18s%s\n", "RAW jitter µs", statsRow(t.JitterNs))
	p("  %-18s%s\n", "exec time µs", statsRow(t.ExecNs))
	if j := t.JitterSignedNs; j != nil {
		p("  %-10speriod deviation %s .. %s µs\n", "jitter", sus(j.Min), sus(j.Max))
	}
	p("  %-10sdeadline misses %d, overruns %d, missed releases %d, GC cycles %d\n", "counters",
		t.DeadlineMisses, t.Overruns, t.MissedReleases, t.GCCycles)
	if t.MinorFaults+t.MajorFaults+t.InvoluntarySwitches+t.VoluntarySwitches > 0 {
		p("  %-10sminor faults %d, major faults %d, involuntary switches %d, voluntary switches %d\n", "thread",
			t.MinorFaults, t.MajorFaults, t.InvoluntarySwitches, t.VoluntarySwitches)
	}
	if n := len(t.Worst); n > 0 {
		var ws []string
		for _, x := range t.Worst[:min(n, 3)] {
			ws = append(ws, fmt.Sprintf("#%d at %.3f s: %s µs (exec %s µs)", x.Cycle, float64(x.AtNs)/1e9, us(x.LatencyNs), us(x.ExecNs)))
		}
		p("  %-10s%s\n", "worst", strings.Join(ws, "; "))
	}
	if hg := t.Histogram; hg.BinNs > 0 {
		p("  %-10s%d bins of %s µs, %d beyond %s µs\n", "histogram", len(hg.Counts), us(hg.BinNs), hg.Overflow, us(hg.BinNs*int64(len(hg.Counts))))
	}
	if t.Trace != nil {
		writeTraceText(w, t.Trace)
	}
}

var statCols = []string{"min", "avg", "p50", "p90", "p99", "p99.9", "p99.99", "max"}

func statsHeader() string {
	var b strings.Builder
	for _, c := range statCols {
		fmt.Fprintf(&b, "%9s", c)
	}
	return b.String()
}

func statsRow(s Stats) string {
	var b strings.Builder
	for _, v := range []int64{s.Min, s.Avg, s.P50, s.P90, s.P99, s.P999, s.P9999, s.Max} {
		fmt.Fprintf(&b, "%9s", us(v))
	}
	return b.String()
}

// us formats ns as µs with one decimal.
func us(ns int64) string { return fmt.Sprintf("%.1f", float64(ns)/1e3) }

// sus formats ns as signed µs with one decimal.
func sus(ns int64) string { return fmt.Sprintf("%+.1f", float64(ns)/1e3) }

// esc1 escapes text from the box (hostname, command line, DMI strings)
// for a terminal with sysprep's one escaper: a report read back from a
// JSON file may carry control characters that the box's readers escaped
// nowhere.
func esc1(s string) string { return sysprep.Escape(s) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// writePhasesText writes the phases side by side, as OSADL shows idle
// and loaded runs: what each phase ran, then per task one column per
// phase with the wake latency p50, p99 and max in µs and the deadline
// misses. A run without phases writes nothing.
func writePhasesText(w io.Writer, r *Report) {
	if len(r.Phases) == 0 {
		return
	}
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("\nphases, each for the run's duration:\n")
	for _, ph := range r.Phases {
		p("  %-8s", ph.Name)
		if !ph.StartTime.IsZero() && !ph.EndTime.IsZero() {
			p("%s .. %s, ", ph.StartTime.Format("15:04:05"), ph.EndTime.Format("15:04:05"))
		}
		if ph.Load == nil {
			p("no load\n")
			continue
		}
		p("load on CPUs %s\n", cpulist.Format(ph.Load.CPUs))
		for _, c := range ph.Load.Commands {
			p("  %-8s  %s", "", c.Cmdline)
			if c.Starts > 1 {
				p(" (started %d times)", c.Starts)
			}
			if c.Error != "" {
				p(": error: %s", c.Error)
			}
			p("\n")
		}
	}
	var names []string
	for _, t := range r.Tasks {
		if !slices.Contains(names, t.Name) {
			names = append(names, t.Name)
		}
	}
	for _, name := range names {
		byPhase := make([]*Task, len(r.Phases))
		for i := range r.Tasks {
			for j, ph := range r.Phases {
				if r.Tasks[i].Name == name && r.Tasks[i].Phase == ph.Name {
					byPhase[j] = &r.Tasks[i]
				}
			}
		}
		p("\n  %-20s", "task "+name)
		for _, ph := range r.Phases {
			p("%12s", ph.Name)
		}
		p("\n")
		row := func(label string, f func(t *Task) string) {
			p("  %-20s", label)
			for _, t := range byPhase {
				v := "-"
				if t != nil {
					v = f(t)
				}
				p("%12s", v)
			}
			p("\n")
		}
		row("wake latency p50 µs", func(t *Task) string { return us(t.LatencyNs.P50) })
		row("wake latency p99 µs", func(t *Task) string { return us(t.LatencyNs.P99) })
		row("wake latency max µs", func(t *Task) string { return us(t.LatencyNs.Max) })
		row("deadline misses", func(t *Task) string { return fmt.Sprint(t.DeadlineMisses) })
		row("cycles", func(t *Task) string { return fmt.Sprint(t.Cycles) })
	}
}
