package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rtcell/rtcell/runner/cyclictest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const ctData = "../cyclictest/testdata/"

func readCT(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(ctData + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ctThread returns thread i of a real cyclictest capture, with the
// overflow cycle numbers from its -h file.
func ctThread(t testing.TB, base string, i int) (*cyclictest.Result, cyclictest.Thread) {
	t.Helper()
	res, err := cyclictest.ParseJSON(bytes.NewReader(readCT(t, base+".json")))
	if err != nil {
		t.Fatal(err)
	}
	h, err := cyclictest.ParseHistogram(bytes.NewReader(readCT(t, base+".hist")))
	if err != nil {
		t.Fatal(err)
	}
	th := res.Threads[i]
	th.OverflowCycles = h.OverflowCycles[i]
	return res, th
}

func stats(t testing.TB, th cyclictest.Thread) Stats {
	t.Helper()
	s, err := th.Summary()
	if err != nil {
		t.Fatal(err)
	}
	return Stats{Min: s.MinNs, Avg: s.AvgNs, P50: s.P50Ns, P90: s.P90Ns, P99: s.P99Ns, P999: s.P999Ns, P9999: s.P9999Ns, Max: s.MaxNs}
}

// taskFrom makes a task whose latency data is a real cyclictest thread.
func taskFrom(t testing.TB, name string, th cyclictest.Thread) Task {
	var worst []Worst
	for _, c := range th.OverflowCycles {
		worst = append(worst, Worst{Cycle: c, AtNs: int64(c) * 1e6, LatencyNs: th.MaxNs, ExecNs: 3100})
	}
	return Task{
		Name: name, CPU: th.CPU, Policy: "SCHED_FIFO", Priority: 90, PeriodNs: 1e6, DeadlineNs: 500e3, Wake: "hybrid",
		Cycles: th.Cycles, LatencyNs: stats(t, th),
		JitterNs:       Stats{Min: 0, Avg: 310, P50: 200, P90: 600, P99: 1200, P999: 4100, P9999: 9800, Max: 10400},
		JitterSignedNs: &MinMax{Min: -10400, Max: 9900},
		ExecNs:         Stats{Min: 2100, Avg: 2600, P50: 2500, P90: 2900, P99: 3400, P999: 4800, P9999: 5200, Max: 5300},
		Runtime:        Runtime{GOMAXPROCS: 1, AsyncPreemptOff: true, GOGC: "off"},
		Worst:          worst,
		Histogram:      Histogram{BinNs: th.BinNs, Counts: th.Hist, Overflow: th.Overflow},
		Stopped:        "completed",
	}
}

// sampleReport builds a report from real cyclictest captures: task
// "motion" is the 1-thread -h 1000 run, task "io" thread 1 of the 2-thread
// -h 30 run, and the cross-check thread 0 of that run.
func sampleReport(t testing.TB, notRT bool) *Report {
	res1, th1 := ctThread(t, "t1-h1000", 0)
	res2, th2 := ctThread(t, "t2-h30", 1)
	_, x := ctThread(t, "t2-h30", 0)
	motion := taskFrom(t, "motion", th1)
	motion.WindowNs = 100e6
	motion.WindowMaxNs = []int64{212e3, 188e3, 433e3, 240e3, 196e3, 232e3, 317e3, 224e3, 5030e3, 1203e3,
		291e3, 292e3, 341e3, 363e3, 228e3, 219e3, 177e3, 194e3, 537e3, 585e3}
	io := taskFrom(t, "io", th2)
	io.Cycles, io.DeadlineMisses, io.Overruns, io.MissedReleases = th2.Cycles, 3, 1, 2
	io.WindowNs = 100e6
	io.WindowMaxNs = []int64{1129e3, 240e3, 96e3, 71e3, 66e3}
	io.Stopped = "signal"
	start := time.Date(2026, 11, 22, 10, 46, 53, 0, time.UTC)
	r := &Report{
		Config:     "configs/demo.toml",
		StartTime:  start,
		EndTime:    start.Add(2 * time.Second),
		DurationNs: 2e9,
		// An RT box: the same run with violations on it is judged
		// "violations".
		Host: Host{Hostname: "cell-7", KernelRelease: "6.12.43+deb13-rt-amd64", KernelVersion: "#1 SMP PREEMPT_RT Debian 6.12.43-1 (2025-08-27)",
			Machine: res1.Sysinfo.Machine, CPUs: 2, Realtime: true, GoVersion: "go1.26.8",
			CPUModel: "Intel(R) Atom(TM) x6425E @ 2.00GHz", Vendor: "Siemens AG", Product: "SIMATIC IPC227G", BIOSVersion: "V26.01.07", BIOSDate: "03/14/2025",
			Cmdline: "BOOT_IMAGE=/boot/vmlinuz-6.12.43+deb13-rt-amd64 root=/dev/sda1 ro quiet isolcpus=managed_irq,domain,1 nohz_full=1 rcu_nocbs=1"},
		Preflight: &Preflight{Verdict: "pass", Pass: 24, Warn: 2, Skip: 1},
		Tasks:     []Task{motion, io},
		Cyclictest: &CrossCheck{Version: res2.Version, Cmdline: res2.Cmdline, CPU: x.CPU, Priority: 90, IntervalNs: 1e6,
			Cycles: x.Cycles, LatencyNs: stats(t, x), Histogram: Histogram{BinNs: 1000, Counts: x.Hist, Overflow: x.Overflow}},
		Verdict: VerdictViolations,
	}
	if notRT {
		// This VM, where the captures were made.
		r.Host = Host{Hostname: res1.Sysinfo.Nodename, KernelRelease: res1.Sysinfo.Release, KernelVersion: res1.Sysinfo.Version,
			Machine: res1.Sysinfo.Machine, CPUs: 2, Realtime: res1.Sysinfo.Realtime, GoVersion: "go1.26.8", CPUModel: "AMD EPYC",
			Cmdline: "console=ttyS0 quiet reboot=k panic=1"}
		r.NotRealtime = true
		r.Verdict = VerdictNotRealtime
		r.Preflight = &Preflight{Verdict: "fail", Pass: 20, Warn: 3, Fail: 2, Skip: 1, Failed: []string{"kernel.preempt_rt", "cpu.isolated"}}
	}
	return r
}

// kernelNotRT is the sample run at SCHED_FIFO, with its violations, on
// this VM's kernel, which is not PREEMPT_RT.
func kernelNotRT(t testing.TB) *Report {
	r := sampleReport(t, false)
	r.Host = sampleReport(t, true).Host
	r.Verdict = VerdictNotRealtime
	return r
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it); got:\n%s", name, got)
	}
}

func render(t *testing.T, write func(io.Writer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		notRT bool
	}{{"violations", false}, {"notrt", true}, {"notrt-kernel", false}} {
		t.Run(tc.name, func(t *testing.T) {
			r := sampleReport(t, tc.notRT)
			if tc.name == "notrt-kernel" {
				r = kernelNotRT(t)
			}
			golden(t, tc.name+".json", render(t, r.WriteJSON))
			golden(t, tc.name+".txt", render(t, r.WriteText))
			golden(t, tc.name+".hist", render(t, r.WriteHistfile))
			golden(t, tc.name+".svg", render(t, func(w io.Writer) error { return WriteSVG(w, r) }))
		})
	}
}

// TestNotRealtimeEverywhere: every output of a run that was not
// real-time says so in plain words, and no output of a real-time run does.
func TestNotRealtimeEverywhere(t *testing.T) {
	for _, notRT := range []bool{false, true} {
		r := sampleReport(t, notRT)
		outs := map[string][]byte{
			"json": render(t, r.WriteJSON),
			"text": render(t, r.WriteText),
			"hist": render(t, r.WriteHistfile),
			"svg":  render(t, func(w io.Writer) error { return WriteSVG(w, r) }),
		}
		for name, b := range outs {
			if got := bytes.Contains(b, []byte("NOT REAL-TIME")); got != notRT {
				t.Errorf("not-realtime %v: %s output contains NOT REAL-TIME: %v", notRT, name, got)
			}
		}
		if notRT && !strings.HasPrefix(string(outs["text"]), "NOT REAL-TIME") {
			t.Error("text summary is not headed by NOT REAL-TIME")
		}
	}
	// A report marked not real-time with another verdict still ends
	// with the warning.
	r := sampleReport(t, true)
	r.Verdict = VerdictPass
	txt := string(render(t, r.WriteText))
	if !strings.HasSuffix(txt, "NOT REAL-TIME: this verdict is about a system that is not real-time.\n") {
		t.Errorf("text does not end with the warning:\n%s", txt)
	}
}

func TestJSONKeys(t *testing.T) {
	r := sampleReport(t, false)
	var m map[string]any
	if err := json.Unmarshal(render(t, r.WriteJSON), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "host", "preflight", "tasks", "verdict"} {
		if _, ok := m[k]; !ok {
			t.Errorf("top-level key %q missing", k)
		}
	}
	if m["schema"] != "rtcell.run/v1" {
		t.Errorf("schema %v", m["schema"])
	}
	task := m["tasks"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "cpu", "policy", "priority", "period_ns", "deadline_ns", "wake", "cycles",
		"latency_ns", "jitter_ns", "exec_ns", "deadline_misses", "overruns", "missed_releases", "gc_cycles",
		"runtime", "worst", "window_max_ns", "histogram"} {
		if _, ok := task[k]; !ok {
			t.Errorf("task key %q missing", k)
		}
	}
	for _, k := range []string{"latency_ns", "jitter_ns", "exec_ns"} {
		s := task[k].(map[string]any)
		for _, sk := range []string{"min", "avg", "p50", "p90", "p99", "p999", "p9999", "max"} {
			if _, ok := s[sk]; !ok {
				t.Errorf("%s.%s missing", k, sk)
			}
		}
	}
	rt := task["runtime"].(map[string]any)
	for _, k := range []string{"gomaxprocs", "asyncpreemptoff", "gogc"} {
		if _, ok := rt[k]; !ok {
			t.Errorf("runtime.%s missing", k)
		}
	}
	w := task["worst"].([]any)[0].(map[string]any)
	for _, k := range []string{"cycle", "at_ns", "latency_ns", "exec_ns"} {
		if _, ok := w[k]; !ok {
			t.Errorf("worst.%s missing", k)
		}
	}
	h := task["histogram"].(map[string]any)
	for _, k := range []string{"bin_ns", "counts", "overflow"} {
		if _, ok := h[k]; !ok {
			t.Errorf("histogram.%s missing", k)
		}
	}

	// Empty lists are [], not null, and a missing preflight is null.
	empty := render(t, (&Report{Tasks: []Task{{Name: "x"}}}).WriteJSON)
	for _, want := range []string{`"worst": []`, `"window_max_ns": []`, `"counts": []`, `"preflight": null`, `"schema": "rtcell.run/v1"`} {
		if !bytes.Contains(empty, []byte(want)) {
			t.Errorf("empty report lacks %s:\n%s", want, empty)
		}
	}
	if bytes.Contains(empty, []byte("start_time")) {
		t.Error("zero start_time is written")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := sampleReport(t, true)
	b := render(t, r.WriteJSON)
	back, err := ReadJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, r.normalized()) {
		t.Errorf("round trip differs:\n%+v\n%+v", back, r.normalized())
	}
	if again := render(t, back.WriteJSON); !bytes.Equal(again, b) {
		t.Error("writing the read report gives other bytes")
	}
}

func TestReadJSONErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"empty", "", ErrMalformed},
		{"truncated", `{"schema":"rtcell.run/v1","tasks":[`, ErrMalformed},
		{"wrong type", `{"schema":"rtcell.run/v1","tasks":{}}`, ErrMalformed},
		{"no schema", `{"tasks":[]}`, ErrSchema},
		{"other schema", `{"schema":"rtcell.run/v2"}`, ErrSchema},
		{"cyclictest json", string(readCT(t, "t1-h1000.json")), ErrSchema},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadJSON(strings.NewReader(tt.in))
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestHistfileMatchesCyclictest writes real cyclictest data as a
// histfile and expects the bytes cyclictest itself wrote (after its first
// line, "# /dev/cpu_dma_latency set to 0us").
func TestHistfileMatchesCyclictest(t *testing.T) {
	for _, tc := range []struct {
		base    string
		threads int
	}{{"t1-h1000", 1}, {"t2-h30", 2}} {
		t.Run(tc.base, func(t *testing.T) {
			var tasks []Task
			for i := 0; i < tc.threads; i++ {
				_, th := ctThread(t, tc.base, i)
				tasks = append(tasks, taskFrom(t, "t", th))
			}
			got := render(t, func(w io.Writer) error { return WriteHistfile(w, tasks) })
			real := readCT(t, tc.base+".hist")
			_, want, _ := bytes.Cut(real, []byte("\n"))
			if !bytes.Equal(got, want) {
				t.Errorf("histfile differs from cyclictest's:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestHistfileParses: cyclictest's own parser-side view of our file
// agrees with the report's numbers.
func TestHistfileParses(t *testing.T) {
	r := sampleReport(t, true)
	h, err := cyclictest.ParseHistogram(bytes.NewReader(render(t, r.WriteHistfile)))
	if err != nil {
		t.Fatal(err)
	}
	if h.Threads != len(r.Tasks) {
		t.Fatalf("%d columns for %d tasks", h.Threads, len(r.Tasks))
	}
	for i, task := range r.Tasks {
		var sum uint64
		for _, c := range task.Histogram.Counts {
			sum += c
		}
		if h.Total[i] != sum || h.BinSum(i) != sum || h.Overflows[i] != task.Histogram.Overflow || sum+h.Overflows[i] != task.Cycles {
			t.Errorf("task %s: total %d binsum %d overflow %d, report sum %d overflow %d cycles %d",
				task.Name, h.Total[i], h.BinSum(i), h.Overflows[i], sum, task.Histogram.Overflow, task.Cycles)
		}
		if h.Min[i] != task.LatencyNs.Min/1000 || h.Max[i] != task.LatencyNs.Max/1000 || h.Avg[i] != task.LatencyNs.Avg/1000 {
			t.Errorf("task %s: min/avg/max %d/%d/%d", task.Name, h.Min[i], h.Avg[i], h.Max[i])
		}
	}
}

func TestHistfileRebins(t *testing.T) {
	tests := []struct {
		name    string
		h       Histogram
		want    []uint64
		wantErr error
	}{
		{"1 µs", Histogram{BinNs: 1000, Counts: []uint64{1, 2}}, []uint64{1, 2}, nil},
		{"100 ns", Histogram{BinNs: 100, Counts: []uint64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5, 0, 2}}, []uint64{10, 7}, nil},
		{"1 ns", Histogram{BinNs: 1, Counts: make([]uint64, 2500)}, []uint64{0, 0, 0}, nil},
		{"empty", Histogram{}, nil, nil},
		{"2 µs", Histogram{BinNs: 2000, Counts: []uint64{1}}, nil, ErrBinWidth},
		{"300 ns", Histogram{BinNs: 300, Counts: []uint64{1}}, nil, ErrBinWidth},
		{"zero width", Histogram{Counts: []uint64{1}}, nil, ErrBinWidth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := microsecondBins(tt.h)
			if !errors.Is(err, tt.wantErr) || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
			}
			err = WriteHistfile(io.Discard, []Task{{Name: "x", Histogram: tt.h}})
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("WriteHistfile: %v, want %v", err, tt.wantErr)
			}
		})
	}
	if err := WriteHistfile(io.Discard, nil); err == nil {
		t.Error("no error for no tasks")
	}
}

func TestSVGWellFormed(t *testing.T) {
	for _, r := range []*Report{sampleReport(t, true), sampleReport(t, false), {}, {Tasks: []Task{{Name: "a<b&c"}}}} {
		b := render(t, func(w io.Writer) error { return WriteSVG(w, r) })
		dec := xml.NewDecoder(bytes.NewReader(b))
		var paths, texts int
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("svg is not well-formed XML: %v\n%s", err, b)
			}
			if se, ok := tok.(xml.StartElement); ok {
				switch se.Name.Local {
				case "path":
					paths++
				case "text":
					texts++
				}
			}
		}
		// One histogram curve per task plus the cross-check, one
		// timeline per task with windows.
		want := 0
		for _, task := range r.Tasks {
			if len(task.Histogram.Counts) > 0 {
				want++
			}
			if len(task.WindowMaxNs) > 0 {
				want++
			}
		}
		if r.Cyclictest != nil {
			want++
		}
		if paths != want || texts == 0 {
			t.Errorf("%d paths (want %d), %d texts", paths, want, texts)
		}
	}
}

func TestNiceStep(t *testing.T) {
	tests := []struct {
		span float64
		n    int
		want float64
	}{
		{100, 10, 10}, {5030, 10, 1000}, {30, 10, 5}, {1.9, 10, 0.2}, {10, 10, 1}, {2, 10, 0.2},
	}
	for _, tt := range tests {
		if got := niceStep(tt.span, tt.n); got != tt.want {
			t.Errorf("niceStep(%v, %d) = %v, want %v", tt.span, tt.n, got, tt.want)
		}
	}
}

// A run at its RT priority on a kernel that is not PREEMPT_RT is not
// real-time, but it was not "allowed at SCHED_OTHER" either: the verdict
// says which.
func TestNotRealtimeKernelWording(t *testing.T) {
	var b strings.Builder
	r := &Report{Verdict: VerdictNotRealtime}
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if s := b.String(); !strings.Contains(s, "kernel is not PREEMPT_RT") || strings.Contains(s, "allow_non_rt") {
		t.Errorf("verdict text:\n%s", s)
	}
}
