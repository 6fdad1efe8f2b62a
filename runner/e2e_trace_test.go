package runner_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/rttest"
	"github.com/rtcell/rtcell/rt/trace"
)

// TestTraceNoBreach: a threshold no cycle reaches gives the JSON
// contract's "trace": {"threshold_ns": N, "breach_cycle": null}.
func TestTraceNoBreach(t *testing.T) {
	rttest.RequireRoot(t)
	rttest.LeaseCPU(t, lastCPU())
	r := runRunner(t, taskConfig("cycles = 300\n"), "--trace-threshold", "1h")
	if r.code != 0 && r.code != 1 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	tr := r.rep.Tasks[0].Trace
	if tr == nil || tr.ThresholdNs != int64(time.Hour) || tr.BreachCycle != nil || tr.Cause != nil || tr.File != "" {
		t.Fatalf("trace %+v: want threshold 1 h and no breach", tr)
	}
	if !strings.Contains(r.stdout, "threshold 3600000000.0 µs: no cycle exceeded it") {
		t.Errorf("text report lacks the no-breach line:\n%s", r.stdout)
	}
}

// TestTraceBreachConfig: [trace] with a threshold every wake-up exceeds
// and action continue: the task runs all its cycles, the trace is saved
// beside the JSON, and the report carries the breach and its cause.
func TestTraceBreachConfig(t *testing.T) {
	rttest.RequireRoot(t)
	rttest.LeaseCPU(t, lastCPU())
	r := runRunner(t, taskConfig("cycles = 300\n")+"\n[trace]\nthreshold = \"1ns\"\naction = \"continue\"\nbuffer_kb = 256\n")
	if r.code != 0 && r.code != 1 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	tk := r.rep.Tasks[0]
	tr := tk.Trace
	if tr == nil || tr.BreachCycle == nil || tr.LatencyNs <= 1 {
		t.Fatalf("trace %+v: want a breach", tr)
	}
	if tk.Cycles != 300 {
		t.Errorf("%d cycles, want 300 (action continue)", tk.Cycles)
	}
	if filepath.Base(tr.File) != "run.trace.txt" {
		t.Errorf("trace file %q, want run.trace.txt beside run.json", tr.File)
	}
	text, err := os.ReadFile(tr.File)
	if err != nil {
		t.Fatal(err)
	}
	if want := "rtcell: task=t cycle=" + strconv.FormatUint(*tr.BreachCycle, 10) + " "; !strings.Contains(string(text), want) {
		t.Errorf("saved trace lacks %q", want)
	}
	if tr.Cause == nil {
		t.Fatalf("no cause: %s", tr.Error)
	}
	if tk.Stopped != "completed" {
		t.Errorf("stopped %q, want completed (action continue)", tk.Stopped)
	}
	if !strings.Contains(r.stdout, "cause of the latency, largest first:") {
		t.Errorf("text report lacks the cause:\n%s", r.stdout)
	}
}

// TestTraceSIGKILL: a runner killed with SIGKILL cannot remove its trace
// instance; the next traced run removes it and says so.
func TestTraceSIGKILL(t *testing.T) {
	rttest.RequireRoot(t)
	rttest.LeaseCPU(t, lastCPU())
	dir := t.TempDir()
	cfg := filepath.Join(dir, "run.toml")
	os.WriteFile(cfg, []byte(strings.Replace(taskConfig(""), `duration = "5m"`, `duration = "60s"`, 1)), 0o644)
	cmd := exec.Command(runnerBin, "run", cfg, "--json", filepath.Join(dir, "run.json"), "--quiet", "--trace-threshold", "1h")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	inst := filepath.Join(trace.DefaultRoot, "instances", trace.InstancePrefix+strconv.Itoa(cmd.Process.Pid))
	for i := 0; i < 400 && firstChild(cmd.Process.Pid) == 0; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat(inst); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("no instance while the traced run runs: %v", err)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if _, err := os.Stat(inst); err != nil {
		t.Fatalf("the instance of the killed run is gone already (%v): nothing to sweep", err)
	}
	r := runRunner(t, taskConfig("cycles = 100\n"), "--trace-threshold", "1h")
	if r.code != 0 && r.code != 1 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if want := "removed the stale trace instance " + filepath.Base(inst); !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
	if _, err := os.Stat(inst); !os.IsNotExist(err) {
		t.Errorf("stale instance %s still there: %v", inst, err)
	}
}

// TestTraceBreachStop: with action stop the run ends at the breach, and
// the report says why the task stopped.
func TestTraceBreachStop(t *testing.T) {
	rttest.RequireRoot(t)
	rttest.LeaseCPU(t, lastCPU())
	r := runRunner(t, taskConfig("cycles = 100000\n"), "--trace-threshold", "1ns")
	if r.code != 0 && r.code != 1 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	tk := r.rep.Tasks[0]
	if tk.Trace == nil || tk.Trace.BreachCycle == nil {
		t.Fatalf("trace %+v: want a breach", tk.Trace)
	}
	if tk.Cycles >= 100000 {
		t.Errorf("%d cycles: the run did not stop at the breach", tk.Cycles)
	}
	if want := fmt.Sprintf("stopped at task \"t\"'s trace breach, cycle %d (trace action stop)", *tk.Trace.BreachCycle); tk.Stopped != want {
		t.Errorf("stopped %q, want %q", tk.Stopped, want)
	}
}

// TestTracePhases: with [load] phases each phase traces on its own and
// keeps its own trace file; a breach with action stop ends the run, so
// the next phase does not run.
func TestTracePhases(t *testing.T) {
	rttest.RequireRoot(t)
	rttest.LeaseCPU(t, lastCPU())
	cfg := taskConfig("cycles = 200\n") + "\n[load]\nphases = [\"idle\", \"load\"]\nhackbench = true\n\n[trace]\nthreshold = \"1ns\"\naction = \"continue\"\n"
	r := runRunner(t, cfg)
	if r.code != 0 && r.code != 1 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	files := map[string]bool{}
	for _, tk := range r.rep.Tasks {
		if tk.Trace == nil || tk.Trace.BreachCycle == nil {
			t.Fatalf("phase %s: trace %+v, want a breach", tk.Phase, tk.Trace)
		}
		if want := "run." + tk.Phase + ".trace.txt"; filepath.Base(tk.Trace.File) != want {
			t.Errorf("phase %s: trace file %q, want %s", tk.Phase, tk.Trace.File, want)
		}
		files[tk.Trace.File] = true
	}
	if len(r.rep.Tasks) != 2 || len(files) != 2 {
		t.Errorf("%d task results, %d trace files; want 2 and 2 (one per phase)", len(r.rep.Tasks), len(files))
	}
	r = runRunner(t, strings.Replace(cfg, `action = "continue"`, `action = "stop"`, 1))
	if r.code != 0 && r.code != 1 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if len(r.rep.Tasks) != 1 || r.rep.Tasks[0].Phase != "idle" || !strings.Contains(r.stdout, "phases not run: [load]") {
		t.Errorf("action stop: %d task results (first phase %q); want the idle phase only, and the load phase said not run:\n%s",
			len(r.rep.Tasks), r.rep.Tasks[0].Phase, r.stdout)
	}
}
