package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtcell/rtcell/runner/report"
	"github.com/rtcell/rtcell/sysprep"
)

// These tests run the built runner binary, as a user or a systemd timer
// would.

var runnerBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rtcell-runner-cmd-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	runnerBin = filepath.Join(dir, "runner")
	if out, err := exec.Command("go", "build", "-o", runnerBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the runner: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fixtures are the hand-made runs runner/report's golden tests render.
var fixtures = filepath.Join("..", "..", "report", "testdata", "html")

type cmdResult struct {
	code           int
	stdout, stderr string
}

func runCmd(t *testing.T, args ...string) cmdResult {
	t.Helper()
	// A command that blocks (on a named pipe, say) is killed after a
	// minute and fails the test, rather than the test binary's timeout.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, runnerBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("runner %s did not end within a minute", strings.Join(args, " "))
	}
	r := cmdResult{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

func readFixture(t *testing.T, name string) *report.Report {
	t.Helper()
	f, err := os.Open(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := report.ReadJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func writeRun(t *testing.T, r *report.Report) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "current.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := r.WriteJSON(f); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReportDriftIdentical(t *testing.T) {
	base := filepath.Join(fixtures, "pass-rt.json")
	r := runCmd(t, "report", "--baseline", base, base)
	if r.code != 0 {
		t.Fatalf("identical runs: exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "no drift") {
		t.Errorf("identical runs: stdout does not say no drift:\n%s", r.stdout)
	}
}

// TestReportDrifted turns one check to fail and triples p99: exit 1,
// and both are named, in the text, the JSON, the HTML and the metrics.
func TestReportDrifted(t *testing.T) {
	base := readFixture(t, "pass-rt.json")
	cur := readFixture(t, "pass-rt.json")
	sp := *cur.Sysprep
	sp.Checks = append([]sysprep.Result(nil), cur.Sysprep.Checks...)
	check := ""
	for i := range sp.Checks {
		if sp.Checks[i].Status == sysprep.Pass {
			sp.Checks[i].Status, check = sysprep.Fail, sp.Checks[i].ID
			break
		}
	}
	cur.Sysprep = &sp
	cur.Tasks[0].LatencyNs.P99 *= 3
	curPath := writeRun(t, cur)
	basePath := filepath.Join(fixtures, "pass-rt.json")
	dir := t.TempDir()
	html, prom := filepath.Join(dir, "drift.html"), filepath.Join(dir, "drift.prom")

	r := runCmd(t, "report", "--baseline", basePath, curPath, "-o", html, "--metrics-textfile", prom)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (drifted)\n%s%s", r.code, r.stdout, r.stderr)
	}
	task := base.Tasks[0].Name + " p99"
	for _, want := range []string{check, task, "DRIFTED"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("drift text does not name %q:\n%s", want, r.stdout)
		}
	}
	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="drift"`, "<code>" + check + "</code>", "<code>" + task + "</code>", "the box has drifted"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	m, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nrtcell_drift 1\n", `rtcell_drift_items{kind="check"} 1`, `rtcell_drift_items{kind="latency"} 1`,
		`rtcell_drift_items{kind="host"} 0`, "# TYPE rtcell_drift gauge", "# HELP rtcell_drift_items ",
		"# TYPE rtcell_drift_last_check_timestamp_seconds gauge", "\nrtcell_drift_last_check_timestamp_seconds 1"} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics textfile lacks %q:\n%s", want, m)
		}
	}

	j := runCmd(t, "report", "--baseline", basePath, curPath, "--json")
	if j.code != 1 || !strings.Contains(j.stdout, `"drifted": true`) || !strings.Contains(j.stdout, `"name": "`+check+`"`) {
		t.Errorf("--json: exit %d, want 1 and the drift as JSON naming %s:\n%s%s", j.code, check, j.stdout, j.stderr)
	}
	// A generous tolerance forgives the latency, not the check.
	g := runCmd(t, "report", "--baseline", basePath, curPath, "--tolerance", "500")
	if g.code != 1 || strings.Contains(g.stdout, task) || !strings.Contains(g.stdout, check) {
		t.Errorf("--tolerance 500: exit %d, want 1 naming %s but not %s:\n%s", g.code, check, task, g.stdout)
	}
}

func TestReportBadInput(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(fixtures, "pass-rt.json")
	foreign := filepath.Join(dir, "foreign.json")
	os.WriteFile(foreign, []byte(`{"schema": "someone.else/v3"}`), 0o644)
	garbage := filepath.Join(dir, "garbage.json")
	os.WriteFile(garbage, []byte("not json"), 0o644)
	huge := filepath.Join(dir, "huge.json")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(maxInputBytes + 1) // sparse: no disk used
	f.Close()
	missing := filepath.Join(dir, "missing.json")
	// A named pipe with no writer: os.Open would block in open(2) for
	// ever, and the command with it (runCmd fails the test after a minute).
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	html := filepath.Join(dir, "r.html")
	for _, tc := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no file", []string{"-o", html}, "no run file"},
		{"missing file", []string{missing, "-o", html}, missing},
		{"missing baseline", []string{"--baseline", missing, good}, missing},
		{"foreign schema", []string{foreign, "-o", html}, foreign},
		{"not json", []string{"--baseline", good, garbage}, garbage},
		{"too large", []string{huge, "-o", html}, huge + ": larger than 64 MiB"},
		{"directory", []string{dir, "-o", html}, dir + ": is a directory, not a regular file"},
		{"named pipe", []string{fifo, "-o", html}, fifo + ": is a named pipe, not a regular file"},
		{"named pipe baseline", []string{"--baseline", fifo, good}, fifo + ": is a named pipe"},
		{"device", []string{"/dev/zero", "-o", html}, "/dev/zero: is a character device"},
		{"bad sysprep", []string{good, "--sysprep", good, "-o", html}, "--sysprep: " + good},
		{"unknown flag", []string{good, "--bogus"}, "-bogus"},
		{"negative tolerance", []string{"--baseline", good, good, "--tolerance", "-5"}, "--tolerance -5"},
		{"two currents", []string{"--baseline", good, good, good}, "--baseline compares one run, got 2"},
		{"json without baseline", []string{good, "--json"}, "--json"},
		{"textfile without baseline", []string{good, "--metrics-textfile", filepath.Join(dir, "d.prom"), "-o", html}, "--metrics-textfile"},
		{"textfile not .prom", []string{"--baseline", good, good, "--metrics-textfile", filepath.Join(dir, "d.txt")}, "*.prom"},
		{"nothing to do", []string{good}, "nothing to do"},
		{"output over an input", []string{good, "-o", good}, "-o " + fmt.Sprintf("%q", good) + " is also an input file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCmd(t, append([]string{"report"}, tc.args...)...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr does not name %q:\n%s", tc.want, r.stderr)
			}
		})
	}
	if _, err := os.Stat(html); err == nil {
		t.Error("a refused command wrote the HTML report")
	}
}

// TestReportMerge renders an idle and a loaded run and a separate
// sysprep report into one document.
func TestReportMerge(t *testing.T) {
	dir := t.TempDir()
	idle := readFixture(t, "pass-rt.json")
	idle.Sysprep = nil
	loaded := readFixture(t, "notrt-violations.json")
	loaded.Sysprep = nil
	a, b := filepath.Join(dir, "idle.json"), filepath.Join(dir, "loaded.json")
	for p, r := range map[string]*report.Report{a: idle, b: loaded} {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		r.WriteJSON(f)
		f.Close()
	}
	out := filepath.Join(dir, "report.html")
	r := runCmd(t, "report", a, b, "--sysprep", filepath.Join("..", "..", "..", "sysprep", "testdata", "golden", "host-vm.json"), "-o", out)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}
	h, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	s := string(h)
	for _, want := range []string{"idle.json", "loaded.json", "Task motion", "Task latency", "Task io",
		"from the sysprep report given with the runs", "<code>kernel.preempt_rt</code>", `<div class="word">NOT REAL-TIME</div>`} {
		if !strings.Contains(s, want) {
			t.Errorf("merged report lacks %q", want)
		}
	}
}

func TestReportOutputError(t *testing.T) {
	good := filepath.Join(fixtures, "pass-rt.json")
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(file, "report.html") // under a file: cannot be made
	r := runCmd(t, "report", good, "-o", out)
	if r.code != 4 || !strings.Contains(r.stderr, "-o: ") || !strings.Contains(r.stderr, out) {
		t.Errorf("-o under a regular file: exit %d, want 4 and an error naming -o and the path:\n%s", r.code, r.stderr)
	}
}
