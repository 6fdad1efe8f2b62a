package runner_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/rttest"
	"github.com/rtcell/rtcell/runner/report"
)

// longConfig is a config whose run lasts a minute unless stopped.
func longConfig(t *testing.T, preflight bool) string {
	t.Helper()
	cfg := strings.Replace(taskConfig(""), "preflight = false", fmt.Sprintf("preflight = %v", preflight), 1)
	cfg = strings.Replace(cfg, `duration = "5m"`, `duration = "60s"`, 1)
	path := filepath.Join(t.TempDir(), "run.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRunnerKilled: SIGKILL of the runner leaves no worker running.
func TestRunnerKilled(t *testing.T) {
	rttest.RequireRoot(t)
	rttest.LeaseCPU(t, lastCPU())
	cmd := exec.Command(runnerBin, "run", longConfig(t, false), "--quiet")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var workers []int
	for end := time.Now().Add(20 * time.Second); len(workers) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("no worker process appeared in 20 s\n%s", stderr.String())
		}
		workers = rttest.Children(cmd.Process.Pid)
	}
	time.Sleep(200 * time.Millisecond) // let the loop run
	killed := time.Now()
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	for _, w := range workers {
		for !rttest.ProcessGone(w) {
			if time.Since(killed) > time.Second {
				t.Fatalf("worker %d alive %v after the runner's SIGKILL", w, time.Since(killed))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// TestSignalEveryPhase: SIGTERM (and SIGINT) end the runner promptly
// wherever it is: starting, in preflight, starting workers, running.
// Once the run has started, the report is complete.
func TestSignalEveryPhase(t *testing.T) {
	rttest.RequireRoot(t)
	rttest.LeaseCPU(t, lastCPU())
	cfg := longConfig(t, true)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		for _, after := range []time.Duration{0, time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond,
			50 * time.Millisecond, 150 * time.Millisecond, 500 * time.Millisecond, 1500 * time.Millisecond} {
			t.Run(fmt.Sprintf("%v/%v", sig, after), func(t *testing.T) {
				jsonPath := filepath.Join(t.TempDir(), "run.json")
				cmd := exec.Command(runnerBin, "run", cfg, "--quiet", "--json", jsonPath)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(after)
				sent := time.Now()
				cmd.Process.Signal(sig)
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				select {
				case <-done:
				case <-time.After(15 * time.Second):
					cmd.Process.Kill()
					t.Fatalf("still running 15 s after %v\n%s", sig, stderr.String())
				}
				took := time.Since(sent)
				ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
				if ws.Signaled() {
					// Killed before its handler was installed: prompt, and
					// nothing was started.
					return
				}
				code := ws.ExitStatus()
				if _, err := os.Stat(jsonPath); err == nil {
					f, _ := os.Open(jsonPath)
					defer f.Close()
					rep, err := report.ReadJSON(f)
					if err != nil {
						t.Fatalf("report after %v: %v", sig, err)
					}
					for _, tk := range rep.Tasks {
						if total := sum(tk.Histogram.Counts) + tk.Histogram.Overflow; total != tk.Cycles {
							t.Errorf("incomplete report: histogram total %d, cycles %d", total, tk.Cycles)
						}
					}
				} else if code != 2 {
					t.Errorf("exit %d without a report; want 2 (stopped before the run) or a report\n%s", code, stderr.String())
				}
				t.Logf("%v after %v: exit %d in %v", sig, after, code, took.Round(time.Millisecond))
			})
		}
	}
}

// TestReportUnwritable: a report that cannot be written gives ExitOutput
// (4), whatever the run's verdict, and names the path.
func TestReportUnwritable(t *testing.T) {
	rttest.RequireRoot(t)
	rttest.LeaseCPU(t, lastCPU())
	bad := "/proc/rtcell-cannot-write/run.json"
	r := runRunner(t, taskConfig("cycles = 50"), "--svg", bad)
	if r.code != 4 || !strings.Contains(r.stderr, bad) {
		t.Fatalf("exit %d, want 4 naming %s\n%s", r.code, bad, r.stderr)
	}
	if r.rep == nil {
		t.Errorf("the JSON report, which could be written, is missing")
	}
}

// TestCPULease: a second runner on a CPU another runner measures on is
// refused with the first one's PID; --share-cpus runs it anyway.
func TestCPULease(t *testing.T) {
	rttest.RequireRoot(t)
	rttest.LeaseCPU(t, lastCPU()) // keeps other tests' loops off the CPU
	// The two runners lease in a directory of their own: under the test's
	// lease they would both be granted, as its descendants.
	env := append(os.Environ(), "RTCELL_LOCK_DIR="+t.TempDir())
	first := exec.Command(runnerBin, "run", longConfig(t, false), "--quiet")
	first.Env = env
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { first.Process.Signal(syscall.SIGTERM); first.Wait() }()
	for end := time.Now().Add(20 * time.Second); len(rttest.Children(first.Process.Pid)) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the first runner started no worker in 20 s")
		}
	}
	second := exec.Command(runnerBin, "run", longConfig(t, false), "--quiet", "--cycles", "20")
	second.Env = env
	r := finish(t, second, "")
	want := fmt.Sprintf("CPU %d is leased by pid %d", lastCPU(), first.Process.Pid)
	if r.code != 2 || !strings.Contains(r.stderr, want) {
		t.Fatalf("second runner: exit %d, want 2 with %q\n%s", r.code, want, r.stderr)
	}
	shared := exec.Command(runnerBin, "run", longConfig(t, false), "--quiet", "--cycles", "20", "--share-cpus")
	shared.Env = env
	if r := finish(t, shared, ""); r.code > 1 {
		t.Fatalf("--share-cpus: exit %d, want 0 or 1\n%s", r.code, r.stderr)
	}
}

// TestCyclesAndDuration: --cycles and --duration together stop at
// whichever comes first, as cycles and duration do in the config.
func TestCyclesAndDuration(t *testing.T) {
	rttest.RequireRoot(t)
	rttest.LeaseCPU(t, lastCPU())
	r := runRunner(t, taskConfig(""), "--cycles", "100000", "--duration", "300ms") // the flags replace the config's 5 minutes
	if r.rep == nil || r.code > 1 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if c := r.rep.Tasks[0].Cycles; c < 100 || c > 400 {
		t.Errorf("--cycles 100000 --duration 300ms ran %d cycles, want about 300 (the duration first)", c)
	}
	r = runRunner(t, taskConfig(""), "--cycles", "50", "--duration", "60s")
	if r.rep == nil || r.rep.Tasks[0].Cycles != 50 {
		t.Fatalf("--cycles 50 --duration 60s: %+v\n%s", r.rep, r.stderr)
	}
}

// TestWorkerWarnings: what a worker could not set up reaches the text and
// JSON reports. Run as nobody with CAP_SYS_NICE and CAP_IPC_LOCK, the
// worker has SCHED_FIFO but cannot open /dev/cpu_dma_latency (root only).
func TestWorkerWarnings(t *testing.T) {
	rttest.RequireRoot(t)
	setcap := rttest.RequireCommand(t, "setcap", "apt-get install -y libcap2-bin")
	rttest.LeaseCPU(t, lastCPU())
	// A copy of the runner that may carry file capabilities, in a
	// directory where nobody writes the report.
	bin := rttest.CopyForNobody(t, runnerBin, 0o777)
	dir := filepath.Dir(bin)
	if out, err := exec.Command(setcap, "cap_sys_nice,cap_ipc_lock+ep", bin).CombinedOutput(); err != nil {
		t.Skipf("setcap on %s: %v: %s (a file system without capabilities)", bin, err, out)
	}
	cfg := filepath.Join(dir, "run.toml")
	os.WriteFile(cfg, []byte(taskConfig("cycles = 100")), 0o644)
	jsonPath := filepath.Join(dir, "run.json")
	cmd := exec.Command(bin, "run", cfg, "--quiet", "--json", jsonPath)
	cmd.SysProcAttr = rttest.AsNobody()
	r := finish(t, cmd, jsonPath)
	if r.code > 1 || r.rep == nil {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	tk := r.rep.Tasks[0]
	if tk.Policy != "fifo" {
		t.Fatalf("policy %q with CAP_SYS_NICE, want fifo", tk.Policy)
	}
	found := false
	for _, w := range tk.Warnings {
		found = found || strings.Contains(w, "cpu_dma_latency")
	}
	if !found || !strings.Contains(r.stderr, "cpu_dma_latency") {
		t.Errorf("the cpu_dma_latency warning is missing: JSON %q, stderr:\n%s", tk.Warnings, r.stderr)
	}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	inText := false
	for sc.Scan() {
		inText = inText || strings.Contains(sc.Text(), "cpu_dma_latency")
	}
	if !inText {
		t.Errorf("the text report lacks the warning:\n%s", r.stdout)
	}
}
