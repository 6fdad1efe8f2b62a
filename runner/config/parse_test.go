package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt"
)

// Machines the tests check configs against.
var (
	twoCPUs  = SysInfo{Online: []int{0, 1}}                              // this build machine
	isolated = SysInfo{Online: []int{0, 1, 2, 3}, Isolated: []int{2, 3}} // isolcpus=2-3
)

// okTask is a valid [[task]] body that bad cases extend.
const okTask = "[[task]]\nname = \"a\"\nperiod = \"1ms\"\n"

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // "line: key" that must appear as "bad.toml:line: key: "
		msg  string // a fragment of the advice
	}{
		{"unknown top-level key", "title = \"x\"\n" + okTask, "1: title", "unknown key"},
		{"unknown task key", okTask + "prio = 5\n", "4: task[0].prio", "did you mean priority?"},
		{"unknown task key far from any", okTask + "colour = \"red\"\n", "4: task[0].colour", "allowed: name, period"},
		{"misspelled table", okTask + "\n[reprot]\njson = \"x\"\n", "5: reprot", "unknown table (did you mean report?)"},
		{"misspelled run key", "[run]\nduraton = \"1s\"\n" + okTask, "2: run.duraton", "did you mean duration?"},
		{"unknown report key", okTask + "[report]\npdf = \"x\"\n", "5: report.pdf", "allowed: json, histfile"},
		{"priority wrong type", okTask + "priority = \"high\"\n", "4: task[0].priority", `"high" is a string, want an integer 1–99`},
		{"priority 0", okTask + "priority = 0\n", "4: task[0].priority", "0 is outside 1–99"},
		{"priority 100", okTask + "priority = 100\n", "4: task[0].priority", "100 is outside 1–99"},
		{"priority float", okTask + "priority = 90.5\n", "4: task[0].priority", "90.5 is a float"},
		{"cpu not online", okTask + "cpu = 5\n", "4: task[0].cpu", "CPU 5 is not online (online CPUs: 0-1"},
		{"cpu negative", okTask + "cpu = -1\n", "4: task[0].cpu", "-1 is not a CPU number"},
		{"cpu word", okTask + "cpu = \"two\"\n", "4: task[0].cpu", `"two" is not a CPU`},
		{"period too short", "[[task]]\nname = \"a\"\nperiod = \"5us\"\n", "3: task[0].period", "5us is outside 10us–10s"},
		{"period too long", "[[task]]\nname = \"a\"\nperiod = \"11s\"\n", "3: task[0].period", "11s is outside 10us–10s"},
		{"period not a duration", "[[task]]\nname = \"a\"\nperiod = \"abc\"\n", "3: task[0].period", `"abc" is not a duration`},
		{"period integer", "[[task]]\nname = \"a\"\nperiod = 1000\n", "3: task[0].period", `1000 is an integer, want a duration string`},
		{"period missing", "[[task]]\nname = \"a\"\n", "1: task[0].period", "missing"},
		{"deadline zero", okTask + "deadline = \"0s\"\n", "4: task[0].deadline", "0s is not positive"},
		{"deadline negative", okTask + "deadline = \"-1ms\"\n", "4: task[0].deadline", "-1ms is not positive"},
		{"deadline above period", okTask + "deadline = \"2ms\"\n", "4: task[0].deadline", "2ms is longer than the period 1ms"},
		{"policy deadline", okTask + "policy = \"deadline\"\n", "4: task[0].policy", `"deadline" is not allowed (use fifo | rr)`},
		{"wake spin", okTask + "wake = \"spin\"\n", "4: task[0].wake", `"spin" is not allowed (use sleep | hybrid | busy)`},
		{"margin word", okTask + "wake = \"hybrid\"\nmargin = \"fast\"\n", "5: task[0].margin", `"fast" is not a duration or "auto"`},
		{"margin equals period", okTask + "wake = \"hybrid\"\nmargin = \"1ms\"\n", "5: task[0].margin", "1ms is not below the period 1ms"},
		{"margin above period", okTask + "wake = \"hybrid\"\nmargin = \"3ms\"\n", "5: task[0].margin", "3ms is not below the period"},
		{"margin negative", okTask + "wake = \"hybrid\"\nmargin = \"-5us\"\n", "5: task[0].margin", "-5us is negative"},
		{"overrun drop", okTask + "overrun = \"drop\"\n", "4: task[0].overrun", `"drop" is not allowed (use skip | catchup)`},
		{"workload busy no time", okTask + "workload = \"busy:\"\n", "4: task[0].workload", `"" is not a duration`},
		{"workload range backwards", okTask + "workload = \"busy:900us-200us\"\n", "4: task[0].workload", "minimum 900us is above maximum 200us"},
		{"workload idle", okTask + "workload = \"idle\"\n", "4: task[0].workload", "unknown kind"},
		{"workload zero", okTask + "workload = \"busy:0s\"\n", "4: task[0].workload", "busy time is zero"},
		{"workload ten periods", okTask + "workload = \"busy:10ms\"\n", "4: task[0].workload", "is not below 10 periods (10ms)"},
		{"histogram zero", okTask + "histogram_us = 0\n", "4: task[0].histogram_us", "0 is outside 1–1000000"},
		{"histogram huge", okTask + "histogram_us = 2000000\n", "4: task[0].histogram_us", "outside 1–1000000"},
		{"cycles negative", okTask + "cycles = -5\n", "4: task[0].cycles", "-5 is negative"},
		{"two busy tasks on one cpu", okTask + "cpu = 1\nwake = \"busy\"\n\n[[task]]\nname = \"b\"\nperiod = \"1ms\"\ncpu = 1\nwake = \"busy\"\n",
			"10: task[1].cpu", `CPU 1 is shared with task[0] "a" and one of them uses wake = "busy"`},
		{"busy task shares auto cpu", okTask + "wake = \"busy\"\n\n[[task]]\nname = \"b\"\nperiod = \"2ms\"\n",
			"6: task[1].cpu", "auto-picked CPU 1 is shared with task[0]"},
		{"duplicate names", okTask + "\n[[task]]\nname = \"a\"\nperiod = \"2ms\"\ncpu = 0\n", "6: task[1].name", `"a" is also the name of task[0] on line 2`},
		{"name missing", "[[task]]\nperiod = \"1ms\"\n", "1: task[0].name", "missing"},
		{"name with space", "[[task]]\nname = \"my task\"\nperiod = \"1ms\"\n", "2: task[0].name", "is not a valid name"},
		{"no tasks", "[run]\nduration = \"1s\"\n", "1: task", "no tasks"},
		{"empty task array", "task = []\n", "1: task", "no tasks"},
		{"task as single table", "[task]\nname = \"a\"\nperiod = \"1ms\"\n", "1: task", "write [[task]], with two brackets"},
		{"syntax error", okTask + "priority = \n", "4: toml", "fix the TOML syntax"},
		{"duplicate key", okTask + "period = \"2ms\"\n", "4: toml", "already been defined"},
		{"run duration zero", "[run]\nduration = \"0s\"\n" + okTask, "2: run.duration", "0s is not positive"},
		{"run duration integer", "[run]\nduration = 10\n" + okTask, "2: run.duration", "10 is an integer"},
		{"preflight string", "[run]\npreflight = \"yes\"\n" + okTask, "2: run.preflight", `"yes" is a string, want true or false`},
		{"run not a table", "run = 5\n" + okTask, "1: run", "5 is an integer, want a table [run]"},
		{"report path empty", okTask + "[report]\njson = \"\"\n", "5: report.json", "path is empty"},
		{"report path twice", okTask + "[report]\njson = \"out/x\"\nsvg = \"out/x\"\n", "6: report.svg", `"out/x" is also report.json`},
		{"metrics without port", okTask + "[report]\nmetrics = \"localhost\"\n", "5: report.metrics", "not host:port"},
		{"metrics port too big", okTask + "[report]\nmetrics = \"127.0.0.1:65536\"\n", "5: report.metrics", `port "65536" is not a number 0–65535`},
		{"metrics bad host", okTask + "[report]\nmetrics = \"bad_host:9101\"\n", "5: report.metrics", "is not an IP address or host name"},
		{"error in second task", okTask + "\n[[task]]\nname = \"b\"\nperiod = \"2ms\"\npriority = 0\n", "8: task[1].priority", "outside 1–99"},
		{"inline task array", "task = [{name = \"a\", period = \"1ms\"},\n  {name = \"b\", period = \"1ms\", wake = \"nap\"}]\n", "2: task[1].wake", `"nap" is not allowed`},
		{"inline report table", "report = {json = 5}\n" + okTask, "1: report.json", "5 is an integer, want a string"},
		{"multi-line inline table (TOML 1.1)", "report = {\n  json = \"a\",\n  svg = 5,\n}\n" + okTask, "3: report.svg", "5 is an integer"},
		{"dotted key in task", okTask + "policy.x = 1\n", "4: task[0].policy", "is a table, want a string"},
		{"quoted unknown key", okTask + "\"my key\" = 1\n", "4: task[0].\"my key\"", "unknown key"},
		{"header after comment and multiline string", "# c\n[run]\n# \"\"\" not a string\n" + okTask + "\n[report]\njson = '''\nx'''\nsvg = \"\"\"a\n\"\"\"\nmetrics = \"x\"\n",
			"13: report.metrics", "not host:port"},
	}
	if len(tests) < 20 {
		t.Fatalf("only %d bad configs", len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("bad.toml", []byte(tc.src), twoCPUs)
			if err == nil {
				t.Fatalf("accepted:\n%s\ngot %+v", tc.src, cfg)
			}
			if cfg != nil {
				t.Errorf("returned a config along with the error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) is false for %v", err)
			}
			if want := "bad.toml:" + tc.want + ": "; !strings.Contains(err.Error(), want) {
				t.Errorf("error does not contain %q:\n%v", want, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error does not contain %q:\n%v", tc.msg, err)
			}
		})
	}
}

func TestParseReportsEveryError(t *testing.T) {
	src := `[run]
duration = "0s"

[[task]]
name = "a"
period = "1ms"
priority = 100
wake = "spin"
`
	_, err := Parse("multi.toml", []byte(src), twoCPUs)
	if err == nil {
		t.Fatal("accepted a config with three errors")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{"multi.toml:2: run.duration: ", "multi.toml:7: task[0].priority: ", "multi.toml:8: task[0].wake: "}
	if len(lines) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("error %d = %q, want prefix %q", i, lines[i], w)
		}
	}
	var e *Error
	if !errors.As(err, &e) || e.Line != 2 || e.Key != "run.duration" || e.File != "multi.toml" {
		t.Errorf("errors.As gave %+v, want the run.duration error on line 2", e)
	}
}

func TestParseNeedsSysInfo(t *testing.T) {
	_, err := Parse("x.toml", []byte(okTask), SysInfo{})
	if !errors.Is(err, ErrNoCPUs) {
		t.Fatalf("Parse with no online CPUs: got %v, want ErrNoCPUs", err)
	}
}

func TestParseDefaults(t *testing.T) {
	cfg, err := Parse("min.toml", []byte(okTask), twoCPUs)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		File: "min.toml",
		Text: okTask,
		Run:  Run{Duration: 10 * time.Second, Preflight: true},
		Tasks: []Task{{
			Name: "a", Period: time.Millisecond, Deadline: time.Millisecond,
			Priority: 80, Policy: rt.PolicyFIFO, CPU: 1, CPUAuto: true, Wake: rt.WakeSleep,
			MarginAuto: true, Overrun: rt.OverrunSkip, Workload: Workload{Kind: WorkloadNone},
			HistogramUS: 1000,
		}},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", cfg, want)
	}
}

func TestParseFull(t *testing.T) {
	src := `[run]
duration = "1m30s"
preflight = false
allow_non_rt = true

[[task]]
name = "ctl.loop-1"
period = "500us"
deadline = "400us"
priority = 95
policy = "rr"
cpu = 0
wake = "hybrid"
margin = "60us"
overrun = "catchup"
workload = "busy:100us-300us"
cycles = 5000
histogram_us = 250

[report]
json = "out/a.json"
histfile = "out/h.txt"
svg = "out/l.svg"
metrics = "[::1]:9101"
metrics_textfile = "out/rtcell.prom"
`
	cfg, err := Parse("full.toml", []byte(src), twoCPUs)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		File: "full.toml",
		Text: src,
		Run:  Run{Duration: 90 * time.Second, AllowNonRT: true},
		Tasks: []Task{{
			Name: "ctl.loop-1", Period: 500 * time.Microsecond, Deadline: 400 * time.Microsecond,
			Priority: 95, Policy: rt.PolicyRR, CPU: 0, Wake: rt.WakeHybrid, Margin: 60 * time.Microsecond,
			Overrun: rt.OverrunCatchup, Cycles: 5000, HistogramUS: 250,
			Workload: Workload{Kind: WorkloadBusy, Min: 100 * time.Microsecond, Max: 300 * time.Microsecond},
		}},
		Report:     Report{JSON: "out/a.json", Histfile: "out/h.txt", SVG: "out/l.svg", Metrics: "[::1]:9101", MetricsTextfile: "out/rtcell.prom"},
		outputFrom: map[string]origin{"json": {line: 21}, "histfile": {line: 22}, "svg": {line: 23}, "metrics_textfile": {line: 25}},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("full config:\n got %+v\nwant %+v", cfg, want)
	}
}

func TestParseAutoCPU(t *testing.T) {
	tests := []struct {
		name string
		src  string
		sys  SysInfo
		want []int // CPU of each task
		auto []bool
	}{
		{"isolated CPU first", okTask, isolated, []int{2}, []bool{true}},
		{"last online without isolation", okTask, twoCPUs, []int{1}, []bool{true}},
		{"last online, unsorted list", okTask, SysInfo{Online: []int{3, 0, 5, 1}}, []int{5}, []bool{true}},
		{"isolated CPU that is offline is skipped", okTask, SysInfo{Online: []int{0, 1}, Isolated: []int{7}}, []int{1}, []bool{true}},
		{"second auto task takes the next isolated CPU", okTask + "[[task]]\nname = \"b\"\nperiod = \"1ms\"\n", isolated, []int{2, 3}, []bool{true, true}},
		{"explicit CPU is not handed out again", okTask + "[[task]]\nname = \"b\"\nperiod = \"1ms\"\ncpu = 2\n", isolated, []int{3, 2}, []bool{true, false}},
		{"isolated CPUs used up: last online", okTask + "cpu = 2\n[[task]]\nname = \"b\"\nperiod = \"1ms\"\ncpu = 3\n[[task]]\nname = \"c\"\nperiod = \"1ms\"\n",
			isolated, []int{2, 3, 3}, []bool{false, false, true}},
		{"cpu = auto", okTask + "cpu = \"auto\"\n", twoCPUs, []int{1}, []bool{true}},
		{"two tasks on different CPUs", okTask + "cpu = 0\n[[task]]\nname = \"b\"\nperiod = \"1ms\"\ncpu = 1\n", twoCPUs, []int{0, 1}, []bool{false, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("auto.toml", []byte(tc.src), tc.sys)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			var auto []bool
			for _, task := range cfg.Tasks {
				got = append(got, task.CPU)
				auto = append(auto, task.CPUAuto)
			}
			if !reflect.DeepEqual(got, tc.want) || !reflect.DeepEqual(auto, tc.auto) {
				t.Errorf("CPUs %v auto %v, want %v auto %v", got, auto, tc.want, tc.auto)
			}
		})
	}
}

func TestParseRunLength(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want time.Duration
	}{
		{"neither: default", okTask, 10 * time.Second},
		{"duration given", "[run]\nduration = \"3s\"\n" + okTask, 3 * time.Second},
		{"every task has cycles: no duration", okTask + "cycles = 100\n", 0},
		{"one task without cycles: default", okTask + "cycles = 100\n[[task]]\nname = \"b\"\nperiod = \"1ms\"\ncpu = 0\n", 10 * time.Second},
		{"cycles = 0 means duration", okTask + "cycles = 0\n", 10 * time.Second},
		{"both given", "[run]\nduration = \"2s\"\n" + okTask + "cycles = 100\n", 2 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("len.toml", []byte(tc.src), twoCPUs)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Run.Duration != tc.want {
				t.Errorf("duration %v, want %v", cfg.Run.Duration, tc.want)
			}
		})
	}
}

func TestParseWarnings(t *testing.T) {
	tests := []struct {
		name string
		src  string
		sys  SysInfo
		want []string // one fragment per warning, in order
	}{
		{"same CPU same priority", okTask + "cpu = 1\n[[task]]\nname = \"b\"\nperiod = \"2ms\"\ncpu = 1\n", twoCPUs,
			[]string{`warn.toml:8: task[1].cpu: CPU 1 is shared with task[0] "a" at the same priority 80`}},
		{"same CPU other priority", okTask + "cpu = 1\n[[task]]\nname = \"b\"\nperiod = \"2ms\"\ncpu = 1\npriority = 70\n", twoCPUs, nil},
		{"margin without hybrid", okTask + "margin = \"50us\"\n", twoCPUs, []string{`warn.toml:4: task[0].margin: margin is only used with wake = "hybrid"`}},
		{"workload beyond deadline", okTask + "deadline = \"500us\"\nworkload = \"busy:600us-900us\"\n", twoCPUs,
			[]string{"warn.toml:5: task[0].workload: the shortest busy time 600us is not below the deadline 500us"}},
		{"not isolated while others are", okTask + "cpu = 0\n", isolated, []string{"warn.toml:4: task[0].cpu: CPU 0 is not isolated (isolated: 2-3)"}},
		{"no isolation at all: no warning", okTask + "cpu = 0\n", twoCPUs, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("warn.toml", []byte(tc.src), tc.sys)
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Warnings) != len(tc.want) {
				t.Fatalf("warnings %q, want %d", cfg.Warnings, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(cfg.Warnings[i], w) {
					t.Errorf("warning %d = %q, want prefix %q", i, cfg.Warnings[i], w)
				}
			}
		})
	}
}

func TestWorkload(t *testing.T) {
	tests := []struct {
		in   string
		want Workload
		str  string
	}{
		{"none", Workload{Kind: WorkloadNone}, "none"},
		{"busy:300us", Workload{WorkloadBusy, 300 * time.Microsecond, 300 * time.Microsecond}, "busy:300us"},
		{"busy:300µs", Workload{WorkloadBusy, 300 * time.Microsecond, 300 * time.Microsecond}, "busy:300us"},
		{"busy:200us-900us", Workload{WorkloadBusy, 200 * time.Microsecond, 900 * time.Microsecond}, "busy:200us-900us"},
		{"busy:0s-1.5ms", Workload{WorkloadBusy, 0, 1500 * time.Microsecond}, "busy:0s-1.5ms"},
	}
	for _, tc := range tests {
		got, err := ParseWorkload(tc.in)
		if err != nil {
			t.Errorf("ParseWorkload(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want || got.String() != tc.str {
			t.Errorf("ParseWorkload(%q) = %+v %q, want %+v %q", tc.in, got, got.String(), tc.want, tc.str)
		}
	}
	for _, bad := range []string{"", "None", "busy", "busy:", "busy:-5us", "busy:5us-", "busy:1ms-2", "busy:2ms-1ms", "busy:0s", "idle:1ms"} {
		if w, err := ParseWorkload(bad); err == nil || !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseWorkload(%q) = %+v, %v; want an ErrInvalid error", bad, w, err)
		}
	}
}

// TestTOMLRoundTrip parses, writes and re-parses configs: the effective
// config must survive, so reports can record it.
func TestTOMLRoundTrip(t *testing.T) {
	srcs := []string{
		okTask,
		okTask + "wake = \"hybrid\"\nmargin = \"60us\"\nworkload = \"busy:100us-1.2ms\"\ncycles = 7\n[report]\nmetrics = \":9101\"\njson = \"out/\\\"q\\\".json\"\n",
		"[run]\nduration = \"250ms\"\npreflight = false\n" + okTask + "cpu = 0\n[[task]]\nname = \"b\"\nperiod = \"10us\"\npolicy = \"rr\"\n",
	}
	for _, src := range srcs {
		a, err := Parse("a.toml", []byte(src), isolated)
		if err != nil {
			t.Fatal(err)
		}
		out := a.TOML()
		b, err := Parse("a.toml", out, isolated)
		if err != nil {
			t.Fatalf("re-parsing:\n%s\n%v", out, err)
		}
		for i := range a.Tasks {
			a.Tasks[i].CPUAuto = false
		}
		a.Warnings, b.Warnings = nil, nil
		a.outputFrom, b.outputFrom = nil, nil // the rewrite moves lines
		a.Text, b.Text = "", ""               // the text is the file as written
		if !reflect.DeepEqual(a, b) {
			t.Errorf("round trip changed the config:\n%s\n got %+v\nwant %+v", out, b, a)
		}
	}
}

func TestShippedConfigs(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "configs", "default.toml"), twoCPUs)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Tasks) != 1 {
		t.Fatalf("default.toml has %d tasks, want 1", len(cfg.Tasks))
	}
	task := cfg.Tasks[0]
	if task.Period != time.Millisecond || task.CPU != 1 || !task.CPUAuto || cfg.Run.Duration != 10*time.Second {
		t.Errorf("default.toml: period %v cpu %d (auto %t) duration %v; want 1ms, auto CPU 1, 10s",
			task.Period, task.CPU, task.CPUAuto, cfg.Run.Duration)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("default.toml warns: %q", cfg.Warnings)
	}
	if cfg, err := Load(filepath.Join("..", "..", "configs", "default.toml"), isolated); err != nil || cfg.Tasks[0].CPU != 2 {
		t.Errorf("default.toml with isolcpus=2-3: %v, want task on CPU 2", err)
	}

	files, err := filepath.Glob(filepath.Join("..", "..", "configs", "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no configs/*.toml: %v", err)
	}
	for _, f := range files {
		cfg, err := Load(f, twoCPUs)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if len(cfg.Warnings) != 0 {
			t.Errorf("%s warns: %q", f, cfg.Warnings)
		}
	}
}

// TestShippedConfigsThisMachine checks the shipped configs against the
// CPUs of the machine running the test.
func TestShippedConfigsThisMachine(t *testing.T) {
	sys, err := ReadSysInfo("/proc", "/sys")
	if err != nil {
		t.Skipf("no procfs or sysfs here: %v", err)
	}
	if _, err := Load(filepath.Join("..", "..", "configs", "default.toml"), sys); err != nil {
		t.Errorf("default.toml on this machine (%+v): %v", sys, err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"), twoCPUs)
	if !errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrInvalid) {
		t.Errorf("Load of a missing file: %v, want a not-exist error", err)
	}
}

func BenchmarkParseDefault(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "..", "configs", "default.toml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("default.toml", data, twoCPUs); err != nil {
			b.Fatal(err)
		}
	}
}
