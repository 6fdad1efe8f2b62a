package sysprep

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rtcell/rtcell/rt/rttest"
)

const unitFile = "../configs/rtcell-runner.service"

func readUnit(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestUnitInstallSteps runs the unit's `install` steps as its comment
// writes them, with every absolute destination moved under a temporary
// root: they must work on a box without /etc/rtcell.
func TestUnitInstallSteps(t *testing.T) {
	unit := readUnit(t)
	var steps []string
	for _, l := range strings.Split(unit, "\n") {
		if s, ok := strings.CutPrefix(l, "#   install "); ok {
			steps = append(steps, "install "+s)
		}
	}
	if len(steps) != 3 {
		t.Fatalf("%d install steps in the unit's comment, want 3", len(steps))
	}
	src, root := t.TempDir(), t.TempDir()
	for _, f := range []string{"bin/runner", "configs/default.toml", "configs/rtcell-runner.service"} {
		os.MkdirAll(filepath.Join(src, filepath.Dir(f)), 0o755)
		if err := os.WriteFile(filepath.Join(src, f), []byte(f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range steps {
		args := strings.Fields(s)
		for i, a := range args {
			if strings.HasPrefix(a, "/") {
				args[i] = filepath.Join(root, a)
			}
		}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = src
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", s, err, out)
		}
	}
	for f, mode := range map[string]os.FileMode{"usr/local/bin/rtcell-runner": 0o755, "etc/rtcell/runner.toml": 0o644, "etc/systemd/system/rtcell-runner.service": 0o644} {
		st, err := os.Stat(filepath.Join(root, f))
		if err != nil || st.Mode().Perm() != mode {
			t.Errorf("/%s: %v, %v; want mode %v", f, st, err, mode)
		}
	}
}

// TestUnitExecStart runs the unit's ExecStart as systemd would after
// unescaping ($$ and %%), with a stand-in runner: each run gets its own
// report file.
func TestUnitExecStart(t *testing.T) {
	sh := rttest.RequireCommand(t, "sh", "apt-get install -y dash")
	unit := readUnit(t)
	m := regexp.MustCompile(`(?m)^ExecStart=/bin/sh -c '(.*)'$`).FindStringSubmatch(unit)
	if m == nil {
		t.Fatal("no ExecStart=/bin/sh -c '...' line")
	}
	script := strings.NewReplacer("$$", "$", "%%", "%").Replace(m[1])
	dir := t.TempDir()
	fake := filepath.Join(dir, "rtcell-runner")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	script = strings.ReplaceAll(script, "/usr/local/bin/rtcell-runner", fake)
	out, err := exec.Command(sh, "-c", script).Output()
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	if !regexp.MustCompile(`(?m)^/var/lib/rtcell/run-\d{8}T\d{6}Z\.json$`).Match(out) {
		t.Errorf("ExecStart passes no per-run report name:\n%s", out)
	}
}

// TestUnitSecurity scores the unit with systemd-analyze security
// --offline=yes (bar: 3.0 or below) and checks that the hardening kept
// what the runner needs.
func TestUnitSecurity(t *testing.T) {
	sa := rttest.RequireCommand(t, "systemd-analyze", "apt-get install -y systemd")
	out, err := exec.Command(sa, "security", "--offline=yes", unitFile).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for rtcell-runner.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no score in:\n%s", out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	if score > 3.0 {
		t.Errorf("exposure %.1f, want ≤ 3.0", score)
	}
	t.Logf("systemd-analyze security: %.1f", score)
	unit := readUnit(t)
	for _, need := range []string{"AmbientCapabilities=CAP_SYS_NICE CAP_IPC_LOCK", "LimitRTPRIO=99", "LimitMEMLOCK=infinity",
		"DeviceAllow=/dev/cpu_dma_latency rw", "RestrictRealtime=no", "StateDirectory=rtcell"} {
		if !strings.Contains(unit, "\n"+need+"\n") {
			t.Errorf("unit lacks %q, which the runner needs", need)
		}
	}
	for _, bad := range []string{"PrivateDevices=yes", "ProtectProc=invisible", "ProcSubset=pid", "RestrictRealtime=yes", "PrivateUsers=yes"} {
		if strings.Contains(unit, "\n"+bad) {
			t.Errorf("unit has %q, which takes from the runner what it needs", bad)
		}
	}
	if out, err := exec.Command(sa, "verify", unitFile).CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
