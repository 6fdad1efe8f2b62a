package sysprep

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// buildCommand builds sysprep/cmd/sysprep once into a temporary directory.
func buildCommand(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "sysprep-e2e")
		if buildErr != nil {
			return
		}
		builtBin = filepath.Join(buildDir, "sysprep")
		out, err := exec.Command("go", "build", "-o", builtBin, "./cmd/sysprep").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func runCommand(t *testing.T, bin string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func tree(name string) []string {
	return []string{"--proc-root", filepath.Join("testdata", name, "proc"), "--sys-root", filepath.Join("testdata", name, "sys")}
}

// TestGolden runs the built command on each fixture tree and compares its
// output with testdata/golden; -update rewrites the golden files.
func TestGolden(t *testing.T) {
	bin := buildCommand(t)
	type gcase struct {
		name, tree string
		args       []string
		wantExit   int
		ext        string
	}
	cases := []gcase{
		{name: "host-vm", tree: "host-vm", args: []string{"--json"}, wantExit: 2},
		{name: "synth-good", tree: "synth-good", args: []string{"--json"}, wantExit: 0},
		{name: "synth-irq-on-rt", tree: "synth-irq-on-rt", args: []string{"--json"}, wantExit: 2},
		{name: "synth-irq-on-rt-allowed", tree: "synth-irq-on-rt", args: []string{"--json", "--allow-irq", "30", "--allow-irq", "ahci*"}, wantExit: 1},
		{name: "synth-throttle", tree: "synth-throttle", args: []string{"--json"}, wantExit: 1},
		{name: "synth-noiso", tree: "synth-noiso", args: []string{"--json"}, wantExit: 2},
		{name: "synth-noiso-config", tree: "synth-noiso", args: []string{"--json", "--config", "testdata/runner.toml"}, wantExit: 2},
		{name: "synth-good-priority99", tree: "synth-good", args: []string{"--json", "--priority", "99"}, wantExit: 1},
		{name: "synth-throttle", tree: "synth-throttle", args: []string{"--format", "markdown"}, wantExit: 1, ext: ".md"},
		{name: "synth-untuned", tree: "synth-untuned", args: []string{"--json"}, wantExit: 2},
		{name: "synth-untuned", tree: "synth-untuned", args: []string{"--format", "markdown", "--config", "testdata/runner.toml"}, wantExit: 2, ext: ".md"},
		{name: "synth-untuned", tree: "synth-untuned", args: []string{"--format", "table"}, wantExit: 2, ext: ".txt"},
	}
	version := builtVersion(t, bin)
	// Trees captured from Debian's PREEMPT_RT kernel under QEMU, when present.
	for _, name := range []string{"rt-good", "rt-noiso"} {
		if _, err := os.Stat(filepath.Join("testdata", name, "proc")); err == nil {
			cases = append(cases, gcase{name: name, tree: name, args: []string{"--json"}, wantExit: -1})
		}
	}
	for _, c := range cases {
		ext := c.ext
		if ext == "" {
			ext = ".json"
		}
		t.Run(c.name+ext, func(t *testing.T) {
			out, errOut, code := runCommand(t, bin, []string{"SOURCE_DATE_EPOCH=1740821400"}, append(tree(c.tree), c.args...)...)
			// The version names the commit; the golden files must not.
			out = strings.ReplaceAll(out, version, "VERSION")
			if code == 3 {
				t.Fatalf("exit 3: %s", errOut)
			}
			if c.wantExit >= 0 && code != c.wantExit {
				t.Errorf("exit %d, want %d", code, c.wantExit)
			}
			if ext == ".json" {
				var rep Report
				if err := json.Unmarshal([]byte(out), &rep); err != nil {
					t.Fatalf("output is not JSON: %v", err)
				}
				if rep.Schema != Schema || code != rep.ExitCode() {
					t.Errorf("schema %q, exit %d for summary %+v", rep.Schema, code, rep.Summary)
				}
				checkRTFixture(t, c.tree, rep)
			}
			golden := filepath.Join("testdata", "golden", c.name+ext)
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if out != string(want) {
				t.Errorf("output differs from %s (run with -update after checking the diff):\n%s", golden, diffLines(string(want), out))
			}
		})
	}
}

// builtVersion is what the built command prints for --version.
func builtVersion(t *testing.T, bin string) string {
	t.Helper()
	out, _, code := runCommand(t, bin, nil, "--version")
	v, ok := strings.CutPrefix(strings.TrimSpace(out), "sysprep ")
	if code != 0 || !ok || v == "" {
		t.Fatalf("--version: exit %d, %q", code, out)
	}
	return v
}

// checkRTFixture asserts what the QEMU PREEMPT_RT captures must show.
func checkRTFixture(t *testing.T, tree string, rep Report) {
	t.Helper()
	status := func(id string) Status {
		for _, r := range rep.Checks {
			if r.ID == id {
				return r.Status
			}
		}
		return ""
	}
	switch tree {
	case "rt-good":
		if status("kernel.preempt_rt") != Pass || status("cpu.isolated") != Pass {
			t.Errorf("rt-good: kernel.preempt_rt %s, cpu.isolated %s; want pass", status("kernel.preempt_rt"), status("cpu.isolated"))
		}
	case "rt-noiso":
		if status("kernel.preempt_rt") != Pass || status("cpu.isolated") != Fail {
			t.Errorf("rt-noiso: kernel.preempt_rt %s, cpu.isolated %s; want pass, fail", status("kernel.preempt_rt"), status("cpu.isolated"))
		}
	case "host-vm":
		if status("kernel.preempt_rt") != Fail {
			t.Errorf("host-vm: kernel.preempt_rt %s, want fail", status("kernel.preempt_rt"))
		}
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			b.WriteString("- " + a + "\n+ " + c + "\n")
		}
	}
	return b.String()
}

func TestCommandErrors(t *testing.T) {
	bin := buildCommand(t)
	good := tree("synth-good")
	tests := []struct {
		name     string
		args     []string
		wantFlag string
	}{
		{"bad cpulist", append([]string{"--rt-cpus", "1-x"}, good...), "-rt-cpus"},
		{"offline cpu", append([]string{"--rt-cpus", "9"}, good...), "-rt-cpus"},
		{"priority range", append([]string{"--priority", "120"}, good...), "-priority"},
		{"priority not a number", append([]string{"--priority", "high"}, good...), "-priority"},
		{"format", append([]string{"--format", "xml"}, good...), "-format"},
		{"unknown check", append([]string{"--check", "cpu.nope"}, good...), "-check"},
		{"missing root", []string{"--proc-root", "testdata/none/proc"}, "-proc-root"},
		{"unknown flag", []string{"--bogus"}, "-bogus"},
		{"missing config", append([]string{"--config", "testdata/none.toml"}, good...), "-config"},
		{"missing binary", append([]string{"--binary", "testdata/none"}, good...), "-binary"},
		{"argument", []string{"extra"}, "extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := runCommand(t, bin, nil, tt.args...)
			if code != 3 || !strings.Contains(errOut, tt.wantFlag) {
				t.Fatalf("exit %d, stderr %q; want 3 naming %s", code, errOut, tt.wantFlag)
			}
		})
	}
}

func TestCommandListAndCheck(t *testing.T) {
	bin := buildCommand(t)
	out, _, code := runCommand(t, bin, nil, "--list")
	if code != 0 || strings.Count(out, "\n") != len(Checks()) || !strings.Contains(out, "irq.affinity") {
		t.Fatalf("--list: exit %d\n%s", code, out)
	}
	out, _, code = runCommand(t, bin, nil, append(tree("synth-throttle"), "--json", "--check", "sched.rt_runtime", "--check", "mem.swap")...)
	var rep Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if code != 1 || len(rep.Checks) != 2 || rep.Checks[0].ID != "sched.rt_runtime" || rep.Summary.Warn != 1 {
		t.Fatalf("--check: exit %d, %+v", code, rep)
	}
}

// TestCommandLive runs the command on this machine in all three formats.
func TestCommandLive(t *testing.T) {
	bin := buildCommand(t)
	out, _, code := runCommand(t, bin, nil, "--json")
	var rep Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("live --json: %v\n%s", err, out)
	}
	if code != rep.ExitCode() || len(rep.Checks) != len(Checks()) {
		t.Fatalf("live: exit %d for %+v", code, rep.Summary)
	}
	var preempt Result
	for _, r := range rep.Checks {
		if r.ID == "kernel.preempt_rt" {
			preempt = r
		}
	}
	if b, err := os.ReadFile(filepath.Join(DefaultSysRoot, "kernel", "realtime")); err != nil || strings.TrimSpace(string(b)) != "1" {
		if !strings.Contains(rep.Host.KernelVersion, "PREEMPT_RT") {
			if preempt.Status != Fail || code != 2 {
				t.Errorf("non-RT kernel: kernel.preempt_rt %s, exit %d; want fail, 2", preempt.Status, code)
			}
		}
	}
	for _, args := range [][]string{{}, {"--format", "markdown"}} {
		out, errOut, c := runCommand(t, bin, nil, args...)
		if c != code || !strings.Contains(out, "kernel.preempt_rt") {
			t.Errorf("live %v: exit %d (json gave %d)\n%s%s", args, c, code, out, errOut)
		}
	}
}
