package report

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rtcell/rtcell/rt/trace"
	"github.com/rtcell/rtcell/sysprep"
)

// HTMLOptions are the optional parts of an HTML report.
type HTMLOptions struct {
	// Sources names the run files, one per report, to label the runs
	// (the base name is shown); empty labels runs "run 1", "run 2"….
	Sources []string
	// Sysprep is a sysprep checklist to show when no report carries one
	// (sysprep --json taken on the box).
	Sysprep *sysprep.Report
	// Drift, when set, adds the drift section (runner report --baseline).
	Drift *Drift
}

// timelinePoints bounds the points of a timeline plot: a 24-hour run at
// one window per second has 86,400; plotting each would make a report
// of megabytes that a browser draws slowly, at a resolution no page has.
const timelinePoints = 2000

// worstShown is how many worst cycles the report lists per task.
const worstShown = 10

//go:embed html.tmpl html.css
var htmlFiles embed.FS

var htmlTmpl = template.Must(template.New("html.tmpl").Funcs(template.FuncMap{
	"us":      us,
	"pct":     func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"secs":    func(ns int64) string { return fmt.Sprintf("%.3f", float64(ns)/1e9) },
	"when":    when,
	"dur":     func(ns int64) string { return time.Duration(ns).Round(time.Millisecond).String() },
	"dash":    orDash,
	"join":    strings.Join,
	"cpus":    cpuList,
	"yesno":   func(b bool) string { return map[bool]string{true: "yes", false: "no"}[b] },
	"deref":   func(p *uint64) uint64 { return *p },
	"verdict": VerdictLabel,
	"kind":    kindWord,
}).ParseFS(htmlFiles, "html.tmpl", "html.css"))

// WriteHTML writes one self-contained HTML commissioning report for
// reps: one run, or several merged (an idle and a loaded run, shown
// side by side per task). It holds, in this order, the verdict in plain
// words, the box, the sysprep checklist with remedies and the proposed
// kernel command line, per task the latency table, the histogram plot
// (WriteSVG), the per-window maximum timeline, the load that ran, the
// worst cycles and their traced causes, the drift when o.Drift is set,
// and a sign-off block. It has no external assets (inline CSS and SVG,
// no script), prints on A4, and every string from the box is escaped.
// The output depends only on reps and o.
func WriteHTML(w io.Writer, reps []*Report, o HTMLOptions) error {
	if len(reps) == 0 {
		return fmt.Errorf("writing html report: no run to report")
	}
	v, err := buildView(reps, o)
	if err != nil {
		return fmt.Errorf("writing html report: %w", err)
	}
	bw := bufio.NewWriter(w)
	if err := htmlTmpl.Execute(bw, v); err != nil {
		return fmt.Errorf("writing html report: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing html report: %w", err)
	}
	return nil
}

// htmlView is what the template shows.
type htmlView struct {
	Title      string
	Verdict    string   // effective verdict, a Verdict constant
	Why        []string // the reasons for it, in plain words
	JSONSays   string   // the runs' own verdicts when they differ from Verdict
	Runs       []runView
	Host       Host
	HostDiffer []string // host fields that differ between merged runs
	Version    string
	GoVersion  string
	Sysprep    *sysprep.Report
	SysprepSrc string
	Preflight  *Preflight
	Tasks      []taskView
	Drift      *Drift
}

type runView struct {
	Label      string
	Config     string
	ConfigText string
	Start, End time.Time
	DurationNs int64
	Verdict    string
	Phases     []Phase
	Cyclictest *CrossCheck
}

type taskView struct {
	Name     string
	Cols     []colView
	Stats    []statRow
	Counters []counterRow
	HistSVG  template.HTML
	TimeSVG  template.HTML
	// TimeNote says how the timeline was decimated, if it was.
	TimeNote string
	Loads    []loadView
}

type colView struct {
	Label string
	T     *Task
	Worst []Worst
}

type statRow struct {
	Name string
	Vals []string
}

type counterRow struct {
	Name string
	Vals []uint64
	Bad  []bool
}

type loadView struct {
	Label string
	Phase Phase
}

func buildView(reps []*Report, o HTMLOptions) (*htmlView, error) {
	for i, r := range reps {
		if r == nil {
			return nil, fmt.Errorf("run %d is nil", i+1)
		}
	}
	first := reps[0]
	v := &htmlView{Host: first.Host, Version: first.Version, GoVersion: first.Host.GoVersion}
	v.Title = "rtcell commissioning report: " + orDash(first.Host.Hostname)
	v.Verdict, v.Why = effectiveVerdict(reps)
	var says []string
	for _, r := range reps {
		if r.Verdict != v.Verdict && !slices.Contains(says, r.Verdict) {
			says = append(says, orDash(r.Verdict))
		}
	}
	if len(says) > 0 {
		v.JSONSays = strings.Join(says, ", ")
	}

	for i, r := range reps {
		rv := runView{Label: runLabel(o.Sources, i, len(reps)), Config: r.Config, ConfigText: r.ConfigText,
			Start: r.StartTime, End: r.EndTime, DurationNs: r.DurationNs, Verdict: r.Verdict, Phases: r.Phases, Cyclictest: r.Cyclictest}
		v.Runs = append(v.Runs, rv)
		if i > 0 {
			for _, f := range hostDiff(first.Host, r.Host) {
				if !slices.Contains(v.HostDiffer, f) {
					v.HostDiffer = append(v.HostDiffer, f)
				}
			}
		}
		if v.Sysprep == nil && r.Sysprep != nil {
			v.Sysprep, v.SysprepSrc = r.Sysprep, "taken by "+rv.Label+" before it ran"
		}
		if v.Preflight == nil && r.Preflight != nil {
			v.Preflight = r.Preflight
		}
	}
	if v.Sysprep == nil && o.Sysprep != nil {
		v.Sysprep, v.SysprepSrc = o.Sysprep, "from the sysprep report given with the runs"
		if o.Sysprep.Command != "" {
			v.SysprepSrc += " (" + o.Sysprep.Command + ")"
		}
	}
	if len(reps) == 1 {
		v.Runs[0].Label = "run"
	}

	// Tasks by name, in order of first appearance; one column per
	// (run, phase) the task ran in.
	var order []string
	byName := map[string]*taskView{}
	for i, r := range reps {
		for j := range r.Tasks {
			t := &r.Tasks[j]
			tv := byName[t.Name]
			if tv == nil {
				tv = &taskView{Name: t.Name}
				byName[t.Name] = tv
				order = append(order, t.Name)
			}
			label := t.Phase
			if len(reps) > 1 {
				label = strings.TrimSpace(v.Runs[i].Label + " " + t.Phase)
			}
			c := colView{Label: label, T: t, Worst: t.Worst[:min(len(t.Worst), worstShown)]}
			tv.Cols = append(tv.Cols, c)
			if t.Phase != "" {
				for _, ph := range r.Phases {
					if ph.Name == t.Phase {
						tv.Loads = append(tv.Loads, loadView{Label: label, Phase: ph})
					}
				}
			}
		}
	}
	for _, name := range order {
		tv := byName[name]
		tv.Stats, tv.Counters = taskTables(tv.Cols)
		h, err := histSVG(first, tv.Cols)
		if err != nil {
			return nil, err
		}
		tv.HistSVG = h
		tv.TimeSVG, tv.TimeNote = timelineSVG(tv.Cols)
		v.Tasks = append(v.Tasks, *tv)
	}
	if d := o.Drift; d != nil && d.Drifted {
		n := 0
		for _, it := range d.Items {
			if it.Worse {
				n++
			}
		}
		v.Why = append(v.Why, fmt.Sprintf("the box has drifted since commissioning: %d item(s) worse than the baseline (see Drift)", n))
	}
	v.Drift = o.Drift
	return v, nil
}

// effectiveVerdict is the worst verdict of the runs, and at least NOT
// REAL-TIME when a run was not real-time in fact (a kernel without
// PREEMPT_RT, allow_non_rt, a task not at an RT policy), whatever the
// JSON says: a report written before the verdict said so is still
// headed with the truth. It also returns the reasons in plain words.
func effectiveVerdict(reps []*Report) (string, []string) {
	verdict := VerdictPass
	raise := func(v string) {
		if verdictRank(v) > verdictRank(verdict) {
			verdict = v
		}
	}
	var why []string
	add := func(format string, a ...any) {
		s := fmt.Sprintf(format, a...)
		if !slices.Contains(why, s) {
			why = append(why, s)
		}
	}
	for _, r := range reps {
		raise(r.Verdict)
		if r.Verdict == VerdictFailed {
			add("a task did not run to the end")
		}
		if !r.Host.Realtime {
			raise(VerdictNotRealtime)
			add("the kernel is not PREEMPT_RT (%s %s)", orDash(r.Host.KernelRelease), r.Host.KernelVersion)
		}
		if r.NotRealtime {
			raise(VerdictNotRealtime)
			add("the run was allowed without real-time scheduling (allow_non_rt)")
		}
		for i := range r.Tasks {
			t := &r.Tasks[i]
			name := taskKey(t)
			if t.Policy != "" && !rtPolicy(t.Policy) {
				raise(VerdictNotRealtime)
				add("task %s ran at %s, not at a real-time policy", name, t.Policy)
			}
			if t.Error != "" {
				raise(VerdictFailed)
				add("task %s failed: %s", name, t.Error)
			}
			if n := t.DeadlineMisses + t.Overruns + t.MissedReleases; n > 0 {
				raise(VerdictViolations)
				add("task %s: %d deadline misses, %d overruns, %d missed releases in %d cycles",
					name, t.DeadlineMisses, t.Overruns, t.MissedReleases, t.Cycles)
			}
		}
	}
	if verdict == VerdictPass {
		var n uint64
		for _, r := range reps {
			for _, t := range r.Tasks {
				n += t.Cycles
			}
		}
		why = append(why, fmt.Sprintf("every task met every deadline (%d cycles) at a real-time policy on a PREEMPT_RT kernel", n))
	}
	return verdict, why
}

// rtPolicy reports whether a policy as the worker read it back is a
// real-time one: FIFO or RR (spelled "fifo" by rt, "SCHED_FIFO" by
// sched_getattr's name), or DEADLINE.
func rtPolicy(p string) bool {
	switch strings.TrimPrefix(strings.ToUpper(p), "SCHED_") {
	case "FIFO", "RR", "DEADLINE":
		return true
	}
	return false
}

func runLabel(sources []string, i, n int) string {
	if i < len(sources) && sources[i] != "" {
		return filepath.Base(sources[i])
	}
	if n == 1 {
		return "run"
	}
	return fmt.Sprintf("run %d", i+1)
}

func hostDiff(a, b Host) []string {
	var d []string
	for _, f := range []struct{ name, a, b string }{
		{"hostname", a.Hostname, b.Hostname},
		{"kernel", a.KernelRelease + " " + a.KernelVersion, b.KernelRelease + " " + b.KernelVersion},
		{"command line", a.Cmdline, b.Cmdline},
		{"CPU model", a.CPUModel, b.CPUModel},
		{"board", a.Vendor + " " + a.Product, b.Vendor + " " + b.Product},
		{"BIOS", a.BIOSVersion + " " + a.BIOSDate, b.BIOSVersion + " " + b.BIOSDate},
	} {
		if f.a != f.b {
			d = append(d, f.name)
		}
	}
	return d
}

func taskTables(cols []colView) ([]statRow, []counterRow) {
	stats := []struct {
		name string
		get  func(*Task) Stats
	}{
		{"wake latency", func(t *Task) Stats { return t.LatencyNs }},
		{"period jitter", func(t *Task) Stats { return t.JitterNs }},
		{"exec time", func(t *Task) Stats { return t.ExecNs }},
	}
	var rows []statRow
	for _, s := range stats {
		for _, q := range []struct {
			name string
			get  func(Stats) int64
		}{
			{"min", func(s Stats) int64 { return s.Min }},
			{"p50", func(s Stats) int64 { return s.P50 }},
			{"p90", func(s Stats) int64 { return s.P90 }},
			{"p99", func(s Stats) int64 { return s.P99 }},
			{"p99.9", func(s Stats) int64 { return s.P999 }},
			{"max", func(s Stats) int64 { return s.Max }},
		} {
			if s.name != "wake latency" && q.name != "p99" && q.name != "max" {
				continue // jitter and exec time: p99 and max are enough
			}
			row := statRow{Name: s.name + " " + q.name}
			for _, c := range cols {
				row.Vals = append(row.Vals, us(q.get(s.get(c.T))))
			}
			rows = append(rows, row)
		}
	}
	var counters []counterRow
	for _, k := range []struct {
		name string
		get  func(*Task) uint64
		bad  bool
	}{
		{"cycles", func(t *Task) uint64 { return t.Cycles }, false},
		{"deadline misses", func(t *Task) uint64 { return t.DeadlineMisses }, true},
		{"overruns", func(t *Task) uint64 { return t.Overruns }, true},
		{"missed releases", func(t *Task) uint64 { return t.MissedReleases }, true},
		{"max consecutive misses", func(t *Task) uint64 { return t.MaxConsecutiveMisses }, true},
		{"GC cycles", func(t *Task) uint64 { return t.GCCycles }, true},
		{"histogram overflow", func(t *Task) uint64 { return t.Histogram.Overflow }, false},
	} {
		row := counterRow{Name: k.name}
		for _, c := range cols {
			n := k.get(c.T)
			row.Vals = append(row.Vals, n)
			row.Bad = append(row.Bad, k.bad && n > 0)
		}
		counters = append(counters, row)
	}
	return rows, counters
}

// histSVG is WriteSVG's histogram of one task, each of its columns a
// curve, without WriteSVG's timeline panel: the report draws the timeline
// itself (timelineSVG).
func histSVG(head *Report, cols []colView) (template.HTML, error) {
	r := &Report{Host: head.Host, StartTime: head.StartTime, Verdict: head.Verdict, NotRealtime: head.NotRealtime}
	for _, c := range cols {
		t := *c.T
		if c.Label != "" {
			t.Name += " · " + c.Label
		}
		t.WindowMaxNs = nil
		r.Tasks = append(r.Tasks, t)
	}
	var b bytes.Buffer
	if err := writeSVG(&b, r, false); err != nil {
		return "", err
	}
	s := b.String()
	if i := strings.Index(s, "<svg"); i > 0 {
		s = s[i:] // drop the XML declaration, which HTML does not take
	}
	// WriteSVG escapes every string it writes (esc), so its output is
	// safe markup.
	return template.HTML(s), nil
}

// decimation is the number of windows per plotted point that keeps the
// timeline of all of cols within timelinePoints.
func decimation(cols []colView) int {
	n := 0
	for _, c := range cols {
		n += len(c.T.WindowMaxNs)
	}
	return max(1, (n+timelinePoints-1)/timelinePoints)
}

// decimateMax returns the maximum of each run of k values of v: a
// plotted spike is never lost, only its exact second is coarsened.
func decimateMax(v []int64, k int) []int64 {
	if k <= 1 || len(v) == 0 {
		return v
	}
	out := make([]int64, 0, (len(v)+k-1)/k)
	for i := 0; i < len(v); i += k {
		out = append(out, slices.Max(v[i:min(i+k, len(v))]))
	}
	return out
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func cpuList(cpus []int) string {
	s := make([]string, len(cpus))
	for i, c := range cpus {
		s[i] = fmt.Sprint(c)
	}
	return orDash(strings.Join(s, ","))
}

// contributorKinds are the cause kinds in words.
var contributorKinds = map[trace.Kind]string{
	trace.KindTimerIRQ: "timer interrupt delay",
	trace.KindIRQ:      "interrupt",
	trace.KindSoftIRQ:  "softirq",
	trace.KindNMI:      "NMI",
	trace.KindThread:   "thread",
	trace.KindWakeup:   "scheduler wake-up",
}

func kindWord(k trace.Kind) string {
	if s, ok := contributorKinds[k]; ok {
		return s
	}
	return string(k)
}
