package report

import (
	"bytes"
	"html"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/trace"
	"github.com/rtcell/rtcell/sysprep"
)

func readFixture(t testing.TB, name string) *Report {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "html", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := ReadJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

func writeHTML(t testing.TB, reps []*Report, o HTMLOptions) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, reps, o); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestWriteHTMLGolden renders the fixture runs and compares them with
// testdata/html/*.html (go test -update rewrites them).
func TestWriteHTMLGolden(t *testing.T) {
	base := readFixture(t, "pass-rt.json")
	cur := readFixture(t, "drift-current.json")
	drift := Compare(base, cur, 0)
	drift.Baseline, drift.Current = "pass-rt.json", "drift-current.json"
	for _, tc := range []struct {
		golden string
		reps   []*Report
		o      HTMLOptions
	}{
		{"pass-rt.html", []*Report{base}, HTMLOptions{}},
		{"notrt-violations.html", []*Report{readFixture(t, "notrt-violations.json")}, HTMLOptions{}},
		{"phases-traced.html", []*Report{readFixture(t, "phases-traced.json")}, HTMLOptions{}},
		{"drift.html", []*Report{cur}, HTMLOptions{Sources: []string{"testdata/html/drift-current.json"}, Drift: drift}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			golden(t, filepath.Join("html", tc.golden), writeHTML(t, tc.reps, tc.o))
		})
	}
}

// TestWriteHTMLOrder checks the sections come in the order the
// commissioning document has them, and that it names every check and
// task.
func TestWriteHTMLOrder(t *testing.T) {
	base := readFixture(t, "phases-traced.json")
	d := Compare(base, base, 0)
	out := string(writeHTML(t, []*Report{base}, HTMLOptions{Drift: d}))
	last := -1
	for _, id := range []string{`id="verdict"`, `id="box"`, `id="sysprep"`, `id="task-motion"`, `id="drift"`, `id="signoff"`} {
		i := strings.Index(out, id)
		if i < 0 {
			t.Fatalf("no %s in the report", id)
		}
		if i < last {
			t.Errorf("%s comes before the section that should precede it", id)
		}
		last = i
	}
	for _, c := range base.Sysprep.Checks {
		if !strings.Contains(out, "<code>"+c.ID+"</code>") {
			t.Errorf("check %s missing", c.ID)
		}
	}
	for _, want := range []string{"SIMATIC IPC127E", "V25.02.11", "stress-ng --cpu 2", "irq/129 enp2s0-rx-0", "43.8", "7.3",
		"nothing drifted", "Commissioned by", base.Sysprep.KernelCmdline.Current} {
		if !strings.Contains(html.UnescapeString(out), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(out, "http://") && strings.Count(out, "http://") != strings.Count(out, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Error("report refers to an external resource")
	}
	for _, ext := range []string{"<script", "<link", "<img", "src=", "@import", "url("} {
		if strings.Contains(out, ext) {
			t.Errorf("report has %q: it must be self-contained and script-free", ext)
		}
	}
}

// TestWriteHTMLVerdict checks the banner says what the box was, not
// only what the JSON says.
func TestWriteHTMLVerdict(t *testing.T) {
	banner := regexp.MustCompile(`<div class="word">([^<]*)</div>`)
	word := func(r *Report) string {
		m := banner.FindStringSubmatch(string(writeHTML(t, []*Report{r}, HTMLOptions{})))
		if m == nil {
			t.Fatal("no verdict banner")
		}
		return m[1]
	}
	rt := readFixture(t, "pass-rt.json")
	if got := word(rt); got != "PASS" {
		t.Errorf("pass on an RT box: banner %q, want PASS", got)
	}
	old := *rt
	old.Host.Realtime = false
	old.Verdict = VerdictViolations // as runs before the verdict fix said
	if got := word(&old); got != "NOT REAL-TIME" {
		t.Errorf("violations on a kernel without PREEMPT_RT: banner %q, want NOT REAL-TIME", got)
	}
	miss := *rt
	miss.Tasks = append([]Task(nil), rt.Tasks...)
	miss.Tasks[0].DeadlineMisses = 2
	if got := word(&miss); got != "VIOLATIONS" {
		t.Errorf("deadline misses on an RT box: banner %q, want VIOLATIONS", got)
	}
	failed := miss
	failed.Tasks = append([]Task(nil), miss.Tasks...)
	failed.Tasks[0].Error = "watchdog: stalled"
	if got := word(&failed); got != "FAILED" {
		t.Errorf("task error: banner %q, want FAILED", got)
	}
	// Merged, the worst run heads the report.
	m := banner.FindStringSubmatch(string(writeHTML(t, []*Report{rt, &miss}, HTMLOptions{})))
	if m == nil || m[1] != "VIOLATIONS" {
		t.Errorf("pass merged with violations: banner %v, want VIOLATIONS", m)
	}
}

// TestWriteHTMLEscapes feeds markup through every string a box can
// control: it must come out as text.
func TestWriteHTMLEscapes(t *testing.T) {
	const evil = `<script>alert("x")</script>`
	r := readFixture(t, "phases-traced.json")
	r.Host.Hostname = evil
	r.Host.Cmdline = "quiet " + evil
	r.Host.Product = `"><img src=x onerror=alert(1)>`
	r.ConfigText = "</pre>" + evil
	r.Config = evil
	sp := *r.Sysprep
	sp.Checks = append([]sysprep.Result(nil), r.Sysprep.Checks...)
	sp.Checks[0].Observed = evil
	sp.Checks[0].Remedy = evil
	r.Sysprep = &sp
	r.Phases = append([]Phase(nil), r.Phases...)
	ld := *r.Phases[1].Load
	ld.Commands = []LoadCommand{{Name: evil, Cmdline: evil, Error: evil}}
	r.Phases[1].Load = &ld
	r.Tasks = append([]Task(nil), r.Tasks...)
	for i := range r.Tasks {
		r.Tasks[i].Name = evil
		r.Tasks[i].Error = evil
		r.Tasks[i].Warnings = []string{evil}
	}
	tr := *r.Tasks[1].Trace
	tr.Cause = &trace.Cause{Contributors: []trace.Contributor{{Kind: trace.KindThread, Name: evil + ":66 FIFO 99", Ns: 5, Pct: 100}}}
	r.Tasks[1].Trace = &tr
	d := &Drift{Schema: DriftSchema, Baseline: evil, Current: evil, Items: []DriftItem{{Kind: "host", Name: evil, Baseline: evil, Current: evil, Worse: true}}, Drifted: true}
	out := string(writeHTML(t, []*Report{r}, HTMLOptions{Drift: d}))
	if strings.Contains(strings.ToLower(out), "<script") || strings.Contains(out, "<img") {
		t.Fatalf("markup from the box reached the report unescaped:\n%s", out)
	}
	if n := strings.Count(out, "&lt;script&gt;"); n < 15 {
		t.Errorf("escaped name appears %d times, want every place it was put (≥ 15)", n)
	}
}

// TestDecimateMax checks the timeline decimation keeps every bucket's
// maximum.
func TestDecimateMax(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    []int64
		k    int
		want []int64
	}{
		{"k 1 keeps all", []int64{3, 1, 2}, 1, []int64{3, 1, 2}},
		{"even buckets", []int64{1, 5, 2, 2, 9, 0}, 2, []int64{5, 2, 9}},
		{"short last bucket", []int64{1, 5, 2, 7}, 3, []int64{5, 7}},
		{"empty", nil, 4, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := decimateMax(tc.v, tc.k)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// TestWriteHTMLDayLong renders the performance bar's report (4 tasks,
// 1,000-bin histograms, a day of per-second maxima each): the HTML must
// stay ≤ 2 MiB, each timeline at most ~2,000 steps, and one spike in a
// day must still be drawn at its height.
func TestWriteHTMLDayLong(t *testing.T) {
	r := dayReport()
	out := writeHTML(t, []*Report{r}, HTMLOptions{})
	if len(out) > 2<<20 {
		t.Errorf("report is %d bytes, want ≤ 2 MiB", len(out))
	}
	tl := regexp.MustCompile(`(?s)<svg[^>]*class="timeline".*?</svg>`).FindAllString(string(out), -1)
	if len(tl) != 4 {
		t.Fatalf("%d timelines, want 4", len(tl))
	}
	for _, s := range tl {
		if n := strings.Count(s, "H"); n > timelinePoints+1 {
			t.Errorf("timeline has %d steps, want ≤ %d", n, timelinePoints+1)
		}
	}
	// The spike (5 ms in a day of ≤ 60 µs) sets the top decade: 10 ms.
	if !strings.Contains(tl[0], ">10000</text>") {
		t.Error("the day's one 5 ms spike was lost in the decimation (no 10000 µs decade)")
	}
	if !strings.Contains(string(out), "Each step is the maximum of 44 windows of 1 s (86400 windows in all)") {
		t.Error("no note on the decimation")
	}
}

func dayReport() *Report {
	r := &Report{Schema: Schema, Host: Host{Hostname: "cell", Realtime: true, CPUs: 4}, Verdict: VerdictPass,
		StartTime: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), DurationNs: 86400e9}
	for i := range 4 {
		t := Task{Name: "task" + string(rune('a'+i)), CPU: i, Policy: "SCHED_FIFO", Priority: 90, PeriodNs: 1e6, DeadlineNs: 1e6,
			Cycles: 86400e3, WindowNs: 1e9, WindowMaxNs: make([]int64, 86400), Histogram: Histogram{BinNs: 1000, Counts: make([]uint64, 1000)}}
		for j := range t.WindowMaxNs {
			t.WindowMaxNs[j] = int64(20e3 + (j*7919)%40e3)
		}
		t.WindowMaxNs[40000] = 5e6
		for j := range t.Histogram.Counts {
			t.Histogram.Counts[j] = uint64(1e6 >> min(j/10, 60))
		}
		t.LatencyNs = Stats{Min: 5e3, P50: 20e3, P90: 30e3, P99: 45e3, P999: 55e3, Max: 5e6}
		r.Tasks = append(r.Tasks, t)
	}
	return r
}

func BenchmarkWriteHTML(b *testing.B) {
	r := dayReport()
	var n int
	for b.Loop() {
		var c countWriter
		if err := WriteHTML(&c, []*Report{r}, HTMLOptions{}); err != nil {
			b.Fatal(err)
		}
		n = int(c)
	}
	b.ReportMetric(float64(n), "html-bytes")
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)

func TestRTPolicy(t *testing.T) {
	for p, want := range map[string]bool{"fifo": true, "SCHED_FIFO": true, "rr": true, "SCHED_RR": true, "SCHED_DEADLINE": true,
		"other": false, "SCHED_OTHER": false, "SCHED_BATCH": false, "idle": false} {
		if got := rtPolicy(p); got != want {
			t.Errorf("rtPolicy(%q) = %t, want %t", p, got, want)
		}
	}
}
