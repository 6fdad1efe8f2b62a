package runner_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/rttest"
)

func requireLoad(t *testing.T) {
	t.Helper()
	rttest.RequireRoot(t)
	rttest.RequireCommand(t, "stress-ng", "make deps (apt-get install -y stress-ng)")
	rttest.RequireCommand(t, "hackbench", "make deps (apt-get install -y rt-tests)")
	if lastCPU() == 0 {
		t.Skip("needs two CPUs: one for the task, one for the load")
	}
}

// TestPhasesIdleLoad runs a task idle, then under stress-ng and
// hackbench, and checks what the JSON and the text record of each phase.
func TestPhasesIdleLoad(t *testing.T) {
	requireLoad(t)
	rttest.LeaseCPU(t, lastCPU())
	cfg := taskConfig(`cycles = 2000
[load]
stress_ng = "--cpu 1 --switch 1"
hackbench = true
phases = ["idle", "load"]
`)
	start := time.Now()
	r := runRunner(t, cfg)
	end := time.Now()
	// Violations are possible under load on a shared VM; a failure is not.
	if r.code != 0 && r.code != 1 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	rep := r.rep
	if rep == nil || len(rep.Phases) != 2 {
		t.Fatalf("report phases: %+v\n%s", rep, r.stderr)
	}
	idle, loaded := rep.Phases[0], rep.Phases[1]
	if idle.Name != "idle" || loaded.Name != "load" {
		t.Fatalf("phases %q, %q; want idle, load", idle.Name, loaded.Name)
	}
	if idle.Load != nil {
		t.Errorf("idle phase ran load %+v", idle.Load)
	}
	if !(start.Before(idle.StartTime) && idle.StartTime.Before(idle.EndTime) && !loaded.StartTime.Before(idle.EndTime) &&
		loaded.StartTime.Before(loaded.EndTime) && loaded.EndTime.Before(end)) {
		t.Errorf("phase boundaries out of order: idle %v..%v, load %v..%v, run %v..%v",
			idle.StartTime, idle.EndTime, loaded.StartTime, loaded.EndTime, start, end)
	}
	l := loaded.Load
	if l == nil || len(l.Commands) != 2 {
		t.Fatalf("load phase record %+v", l)
	}
	if slices.Contains(l.CPUs, lastCPU()) || len(l.CPUs) == 0 {
		t.Errorf("load CPUs %v: want the CPUs other than the task's %d", l.CPUs, lastCPU())
	}
	if c := l.Commands[0]; c.Name != "stress-ng" || c.Cmdline != "stress-ng --cpu 1 --switch 1" || c.Starts != 1 || c.Error != "" {
		t.Errorf("stress-ng record %+v", c)
	}
	if c := l.Commands[1]; c.Name != "hackbench" || !strings.HasPrefix(c.Cmdline, "hackbench -P -g ") || c.Starts < 1 || c.Error != "" {
		t.Errorf("hackbench record %+v", c)
	}
	if len(rep.Tasks) != 2 {
		t.Fatalf("%d task results, want one per phase", len(rep.Tasks))
	}
	for i, want := range []string{"idle", "load"} {
		if tk := rep.Tasks[i]; tk.Phase != want || tk.Name != "t" || tk.Cycles != 2000 {
			t.Errorf("task %d: phase %q name %q cycles %d; want %s, t, 2000", i, tk.Phase, tk.Name, tk.Cycles, want)
		}
	}
	for _, want := range []string{"phase 1/2: idle (no load)", "phase 2/2: load on CPUs ", "task t (phase load)", "wake latency p99 µs", "hackbench -P -g "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestRunnerSignalledUnderLoad: neither SIGTERM nor SIGKILL of the runner
// mid-load leaves a load process (stress-ng's stressors, hackbench's
// senders and receivers) alive 2 s later.
func TestRunnerSignalledUnderLoad(t *testing.T) {
	requireLoad(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			rttest.LeaseCPU(t, lastCPU())
			path := filepath.Join(t.TempDir(), "run.toml")
			cfg := strings.Replace(taskConfig(`[load]
stress_ng = "--cpu 1 --vm 1 --vm-bytes 16M"
hackbench = "-P -g 1 -l 100000"
`), `duration = "5m"`, `duration = "60s"`, 1)
			if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(runnerBin, "run", path, "--quiet")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			procs := rttest.WaitLoad(t, cmd.Process.Pid, 3, 20*time.Second)
			cmd.Process.Signal(sig)
			cmd.Wait()
			rttest.WaitGone(t, procs, 2*time.Second, "the runner ended on "+sig.String())
		})
	}
}

// TestCompareLoad: `runner compare --load stress-ng` runs both tools'
// rounds under stress-ng on the other CPUs and records it in the JSON.
func TestCompareLoad(t *testing.T) {
	requireLoad(t)
	rttest.RequireCommand(t, "cyclictest", "apt-get install -y rt-tests")
	rttest.LeaseCPU(t, lastCPU())
	jsonPath := filepath.Join(t.TempDir(), "cmp.json")
	cmd := exec.Command(runnerBin, "compare", "--rounds", "1", "--loops", "500", "--cpu", strconv.Itoa(lastCPU()), "--load", "stress-ng", "--json", jsonPath)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() > 1 || err != nil && !ok {
		t.Fatalf("compare: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Rounds []json.RawMessage
		Load   *struct {
			CPUs     []int
			Commands []struct {
				Name, Cmdline, Error string
				Starts               int
			}
		}
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Rounds) != 1 || c.Load == nil || len(c.Load.Commands) != 1 {
		t.Fatalf("comparison %s: want one round and a load record with one command", b)
	}
	if cmd := c.Load.Commands[0]; cmd.Name != "stress-ng" || !strings.HasPrefix(cmd.Cmdline, "stress-ng --cpu ") || cmd.Starts != 1 || cmd.Error != "" {
		t.Errorf("load command %+v", cmd)
	}
	if slices.Contains(c.Load.CPUs, lastCPU()) || len(c.Load.CPUs) == 0 {
		t.Errorf("load CPUs %v, want every CPU but %d", c.Load.CPUs, lastCPU())
	}
	if !strings.Contains(stdout.String(), "load on CPUs ") {
		t.Errorf("output does not say what load ran:\n%s", stdout.String())
	}
	cmd = exec.Command(runnerBin, "compare", "--load", "kcompile")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), `--load "kcompile": want stress-ng, hackbench or both`) {
		t.Errorf("--load kcompile: %v\n%s", err, out)
	}
}
