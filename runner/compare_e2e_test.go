package runner_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/rttest"
	"github.com/rtcell/rtcell/runner"
	"github.com/rtcell/rtcell/runner/cyclictest"
	"github.com/rtcell/rtcell/runner/report"
)

// runCompare runs the built `runner compare` with args and env added to
// the environment, and returns its exit code, stdout and stderr.
func runCompare(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(runnerBin, append([]string{"compare"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

// TestCompareFlagErrors: flags given as 0 and a CPU that is not online
// are refused before anything runs, with the flag named, exit 2.
func TestCompareFlagErrors(t *testing.T) {
	offline := strconv.Itoa(lastCPU() + 1)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--loops", "0"}, "--loops 0"},
		{[]string{"--rounds", "0"}, "--rounds 0"},
		{[]string{"--interval", "0"}, "--interval 0"},
		{[]string{"--priority", "0"}, "--priority 0"},
		{[]string{"--cpu", offline}, "--cpu " + offline + ": CPU " + offline + " is not online"},
	} {
		code, stdout, stderr := runCompare(t, nil, tt.args...)
		if code != runner.ExitConfig || !strings.Contains(stderr, tt.want) || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit %d and %q", tt.args, code, stderr, stdout, runner.ExitConfig, tt.want)
		}
	}
}

// TestCompareNoCyclictest: with no cyclictest on PATH, compare says
// "install rt-tests" once and exits 2 before any round.
func TestCompareNoCyclictest(t *testing.T) {
	code, stdout, stderr := runCompare(t, []string{"PATH=" + t.TempDir()}, "--rounds", "3", "--loops", "10", "--cpu", strconv.Itoa(lastCPU()))
	if code != runner.ExitConfig || strings.Count(stderr, "install rt-tests") != 1 || strings.Contains(stdout, "round") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and one \"install rt-tests\"", code, stdout, stderr)
	}
}

// TestCompareOut: a short real compare with --out keeps every file, each
// readable by the parser it is meant for, and no temporary directory.
func TestCompareOut(t *testing.T) {
	rttest.RequireRoot(t)
	rttest.RequireCommand(t, "cyclictest", "apt-get install -y rt-tests")
	cpu := lastCPU()
	rttest.LeaseCPU(t, cpu)
	out := filepath.Join(t.TempDir(), "evidence")
	code, stdout, stderr := runCompare(t, nil, "--rounds", "1", "--loops", "300", "--cpu", strconv.Itoa(cpu), "--out", out)
	if code > runner.ExitViolations {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ct, err := cyclictest.ParseJSON(bytes.NewReader(read("round-1-cyclictest.json")))
	if err != nil || len(ct.Threads) != 1 || ct.Threads[0].Cycles != 300 || ct.Threads[0].CPU != cpu {
		t.Errorf("round-1-cyclictest.json: %v %+v", err, ct)
	}
	h, err := cyclictest.ParseHistogram(bytes.NewReader(read("round-1-cyclictest.hist")))
	if err != nil || h.Threads != 1 {
		t.Errorf("round-1-cyclictest.hist: %v %+v", err, h)
	}
	// rtcell's histogram file follows cyclictest's -h format too.
	if h, err := cyclictest.ParseHistogram(bytes.NewReader(read("round-1-rtcell.hist"))); err != nil || h.Threads != 1 {
		t.Errorf("round-1-rtcell.hist: %v", err)
	}
	rep, err := report.ReadJSON(bytes.NewReader(read("round-1-rtcell.json")))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Tasks) != 1 || rep.Tasks[0].Cycles != 300 || rep.Tasks[0].CPU != cpu || rep.Cyclictest == nil ||
		rep.Cyclictest.Cycles != 300 || len(rep.Cyclictest.Histogram.Counts) == 0 {
		t.Errorf("round-1-rtcell.json: tasks %+v, cross-check %+v", rep.Tasks, rep.Cyclictest)
	}
	var c runner.Comparison
	if err := json.Unmarshal(read(runner.CompareJSONFile), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Rounds) != 1 || c.Rounds[0].Busy == nil || c.Rounds[0].Busy.CPUs < 1 || c.Out != out {
		t.Fatalf("compare.json: %+v", c)
	}
	if b := c.Rounds[0].Busy; b.Error != "" || (b.Reason == "") != c.Reliable {
		t.Errorf("busy %+v but reliable %v", b, c.Reliable)
	}
	if c.Reliable == strings.Contains(stdout, "UNRELIABLE") {
		t.Errorf("reliable %v, but the text says:\n%s", c.Reliable, stdout)
	}
	for _, svg := range []string{runner.CompareSVGFile, "round-1.svg"} {
		s := string(read(svg))
		if !strings.Contains(s, "cyclictest "+ct.Version) || !strings.Contains(s, "stroke-dasharray") || !strings.HasSuffix(s, "</svg>\n") {
			t.Errorf("%s lacks the cyclictest overlay", svg)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(out, "rtcell-cyclictest-*")); len(left) != 0 {
		t.Errorf("temporary directories left: %v", left)
	}
	if !strings.Contains(stdout, "evidence kept in "+out) {
		t.Errorf("output does not say where the evidence is:\n%s", stdout)
	}
}

// TestCompareKilled: a SIGKILL of `runner compare` while cyclictest runs
// leaves no cyclictest running (state Z counts as gone: PID 1 here may be
// slow to reap); the temporary directory it leaves is swept by the next
// compare.
func TestCompareKilled(t *testing.T) {
	rttest.RequireRoot(t)
	rttest.RequireCommand(t, "cyclictest", "apt-get install -y rt-tests")
	cpu := lastCPU()
	rttest.LeaseCPU(t, cpu)
	tmp := t.TempDir()
	env := append(os.Environ(), "TMPDIR="+tmp)
	cmd := exec.Command(runnerBin, "compare", "--rounds", "1", "--loops", "600000", "--cpu", strconv.Itoa(cpu))
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	ct := 0
	deadline := time.Now().Add(20 * time.Second)
	for ct == 0 || len(workDirs(t, tmp)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no cyclictest child (%d) or work directory after 20s", ct)
		}
		time.Sleep(20 * time.Millisecond)
		for _, pid := range rttest.Children(cmd.Process.Pid) {
			if comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); strings.TrimSpace(string(comm)) == "cyclictest" {
				ct = pid
			}
		}
	}
	defer syscall.Kill(ct, syscall.SIGKILL) // a failed test leaves no FIFO 90 loop behind
	if pgid, err := syscall.Getpgid(ct); err != nil || pgid != ct {
		t.Errorf("cyclictest's process group = %d (%v), want its own (%d)", pgid, err, ct)
	}
	stale := workDirs(t, tmp)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	killed := time.Now()
	for !rttest.ProcessGone(ct) {
		if time.Since(killed) > 2*time.Second {
			t.Fatalf("cyclictest %d still running 2s after SIGKILL of runner compare", ct)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("cyclictest %d gone %v after the SIGKILL", ct, time.Since(killed).Round(time.Millisecond))
	if left := workDirs(t, tmp); len(left) != 1 || left[0] != stale[0] {
		t.Fatalf("after the SIGKILL: work directories %v, want the stale %v", left, stale)
	}

	code, stdout, stderr := runCompare(t, []string{"TMPDIR=" + tmp}, "--rounds", "1", "--loops", "50", "--cpu", strconv.Itoa(cpu))
	if code > runner.ExitViolations {
		t.Fatalf("second compare: exit %d\n%s%s", code, stdout, stderr)
	}
	if left := workDirs(t, tmp); len(left) != 0 {
		t.Errorf("the next compare left %v (the stale one was %v)", left, stale)
	}
}

func workDirs(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "rtcell-cyclictest-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCompareLeased: a compare on a CPU that another process has leased
// (here flock(1) on the lease file, as README shows) is refused before
// any round, naming the holder; --share-cpus runs anyway.
func TestCompareLeased(t *testing.T) {
	rttest.RequireCommand(t, "cyclictest", "apt-get install -y rt-tests")
	rttest.RequireCommand(t, "flock", "apt-get install -y util-linux")
	dir := t.TempDir() // a private lease directory: other tests' leases stay out of it
	cpu := strconv.Itoa(lastCPU())
	holder := exec.Command("flock", filepath.Join(dir, "rtcell-cpu"+cpu+".lock"), "sleep", "60")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { holder.Process.Kill(); holder.Wait() }()
	env := []string{"RTCELL_LOCK_DIR=" + dir}
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		code, _, stderr := runCompare(t, env, "--cpu", cpu, "--rounds", "1", "--loops", "10")
		if strings.Contains(stderr, "is leased by") {
			if code != runner.ExitConfig || !strings.Contains(stderr, "--cpu "+cpu) || !strings.Contains(stderr, "--share-cpus") {
				t.Errorf("exit %d, stderr %q; want exit %d naming --cpu %s, the holder and --share-cpus", code, stderr, runner.ExitConfig, cpu)
			}
			break
		}
		if time.Now().After(end) { // flock had not taken the lock yet, or compare ran
			t.Fatalf("compare was not refused on a leased CPU: exit %d, stderr %q", code, stderr)
		}
	}
	rttest.LeaseCPU(t, lastCPU()) // the real lease, for the measuring run below
	code, _, stderr := runCompare(t, env, "--cpu", cpu, "--rounds", "1", "--loops", "10", "--share-cpus")
	if code != runner.ExitOK && code != runner.ExitViolations {
		t.Errorf("--share-cpus: exit %d, stderr %q", code, stderr)
	}
}
