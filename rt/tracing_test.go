package rt

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/rttest"
	"github.com/rtcell/rtcell/rt/trace"
)

// startTracedWorker starts the test worker's task o.Name with trace on
// threshold armed at thresholdNs, its trigger writing to two ordinary
// files in dir (marker, on) instead of an ftrace instance.
func startTracedWorker(t *testing.T, o LoopOptions, thresholdNs int64, dir string) *workerProc {
	t.Helper()
	if o.Thread.Policy == "" {
		o.Thread = testThread()
	}
	if o.Thread.CPU >= 0 {
		rttest.LeaseCPU(t, o.Thread.CPU)
	}
	if err := createRegions(); err != nil {
		t.Fatal(err)
	}
	var files []*os.File
	for _, name := range []string{"marker", "on"} {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
	}
	w, err := startWorker(o, Watchdog{}, thresholdNs, append(regionFiles(), files...), WorkerOptions{Args: []string{"-test.run=^$"}}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.proc.Kill(); w.proc.Wait() })
	return w
}

// TestWorkerTraceBreach: with a threshold every wake-up exceeds, the
// worker's loop fires its trigger on cycle 0, once: the marker and the
// 0 for tracing_on are written, the breach is published, and the loop
// still allocates nothing on the heap.
func TestWorkerTraceBreach(t *testing.T) {
	dir := t.TempDir()
	const n = 200
	w := startTracedWorker(t, LoopOptions{Name: "noop", Period: time.Millisecond, Cycles: n}, 1, dir)
	exit, res := w.wait()
	if exit.status.Code != 0 || !exit.finished {
		t.Fatalf("worker exit %+v, want code 0 and finished", exit)
	}
	if res.Cycles != n || res.HeapAllocs != 0 || res.GCCycles != 0 {
		t.Errorf("traced worker: %d cycles, %d heap allocations, %d GC cycles; want %d, 0, 0", res.Cycles, res.HeapAllocs, res.GCCycles, n)
	}
	b, ok := snapshot(w).Breach()
	if !ok {
		t.Fatal("no breach published")
	}
	if b.Cycle != 0 || b.LatencyNs <= 1 || b.WakeNs-b.ReleaseNs != b.LatencyNs || b.ReleaseNs <= 0 {
		t.Errorf("breach %+v: want cycle 0, latency > 1 ns = wake - release", b)
	}
	if b.TID != res.Thread.TID || (testThread().Pin && b.CPU != testThread().CPU) || b.CPU < 0 || b.MarkerError != "" || b.StopError != "" {
		t.Errorf("breach %+v: want tid %d, cpu %d, no errors", b, res.Thread.TID, testThread().CPU)
	}
	marker, _ := os.ReadFile(filepath.Join(dir, "marker"))
	on, _ := os.ReadFile(filepath.Join(dir, "on"))
	if want := "rtcell: task=noop cycle=0 latency=" + strconv.FormatInt(b.LatencyNs, 10) + "ns\n"; string(marker) != want {
		t.Errorf("marker file %q, want %q (once)", marker, want)
	}
	if string(on) != "0" {
		t.Errorf("tracing_on file %q, want \"0\"", on)
	}
}

// TestWorkerTraceNoBreach: below the threshold nothing is written and
// no breach is published.
func TestWorkerTraceNoBreach(t *testing.T) {
	dir := t.TempDir()
	w := startTracedWorker(t, LoopOptions{Name: "noop", Period: time.Millisecond, Cycles: 100}, int64(time.Hour), dir)
	exit, res := w.wait()
	if exit.status.Code != 0 || !exit.finished || res.Cycles != 100 {
		t.Fatalf("worker exit %+v, %d cycles", exit, res.Cycles)
	}
	if b, ok := snapshot(w).Breach(); ok {
		t.Errorf("breach %+v published below the threshold", b)
	}
	for _, name := range []string{"marker", "on"} {
		if b, _ := os.ReadFile(filepath.Join(dir, name)); len(b) != 0 {
			t.Errorf("%s written: %q", name, b)
		}
	}
}

func TestTraceOptionsCheck(t *testing.T) {
	for _, o := range []TraceOptions{
		{},
		{Threshold: -time.Microsecond},
		{Threshold: time.Millisecond, Action: "halt"},
		{Threshold: time.Millisecond, BufferKB: -1},
	} {
		p := Program{Tasks: []Task{{Loop: LoopOptions{Name: "x", Period: time.Millisecond, Thread: testThread()}, Setup: func() (CycleFunc, error) { return nil, nil }}}, Trace: &o}
		if err := p.check(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: error %v, want ErrInvalid", o, err)
		}
	}
	o := TraceOptions{Threshold: time.Millisecond}
	p := Program{Tasks: []Task{{Loop: LoopOptions{Name: "x", Period: time.Millisecond, Thread: testThread()}, Setup: func() (CycleFunc, error) { return nil, nil }}}, Trace: &o}
	if err := p.check(); err != nil || p.Trace.Action != TraceStop || o.Action != "" {
		t.Errorf("defaults: %v, action %q (caller's %q); want stop, caller's options untouched", err, p.Trace.Action, o.Action)
	}
}

// runTraced runs a Program of the test worker's noop task with trace on
// threshold, in this process (the workers are the test binary).
func runTraced(t *testing.T, lo LoopOptions, o TraceOptions) (*Summary, time.Duration) {
	t.Helper()
	return runTracedNonRT(t, lo, o, nil)
}

// runTracedNonRT is runTraced with a non-real-time side.
func runTracedNonRT(t *testing.T, lo LoopOptions, o TraceOptions, nonRT func(context.Context, *Supervisor) error) (*Summary, time.Duration) {
	t.Helper()
	rttest.RequireRoot(t)
	lo.Thread = testThread()
	rttest.LeaseCPU(t, lo.Thread.CPU)
	p := Program{
		Tasks:        []Task{{Loop: lo, Setup: func() (CycleFunc, error) { return nil, errors.New("runs in the worker") }}},
		Trace:        &o,
		IgnoreMisses: true,
		ShareCPUs:    true, // the test holds the lease
		Worker:       WorkerOptions{Args: []string{"-test.run=^$"}},
		Stdout:       os.Stdout,
		Stderr:       testWriter{t},
		NonRT:        nonRT,
	}
	start := time.Now()
	sum, err := Run(context.Background(), p)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("Run: %v (code %d)", err, sum.Code)
	}
	if len(sum.Tasks) != 1 || sum.Tasks[0].Trace == nil {
		t.Fatalf("summary %+v: want one task with a trace result", sum)
	}
	// Every exit path removes the instance.
	inst := filepath.Join(trace.DefaultRoot, "instances", trace.InstancePrefix+strconv.Itoa(os.Getpid()))
	if _, err := os.Stat(inst); !os.IsNotExist(err) {
		t.Errorf("instance %s left after Run: %v", inst, err)
	}
	return sum, took
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// TestProgramTraceStop: with action stop the first breach ends the run
// (here at once: every wake-up exceeds 1 ns), the trace is saved with the
// loop's marker in it, and the instance is gone afterwards.
func TestProgramTraceStop(t *testing.T) {
	file := filepath.Join(t.TempDir(), "run.trace.txt")
	sum, d := runTraced(t, LoopOptions{Name: "noop", Period: time.Millisecond, Duration: 20 * time.Second}, TraceOptions{Threshold: 1, File: file})
	if d > 15*time.Second {
		t.Errorf("run took %v: action stop did not end it at the breach", d)
	}
	tr := sum.Tasks[0].Trace
	if tr.Breach == nil || tr.ThresholdNs != 1 {
		t.Fatalf("trace result %+v: want a breach at threshold 1 ns", tr)
	}
	if tr.File != file {
		t.Errorf("trace file %q, want %q (error %q)", tr.File, file, tr.Error)
	}
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	marker := "rtcell: task=noop cycle=" + strconv.FormatUint(tr.Breach.Cycle, 10) + " latency=" + strconv.FormatInt(tr.Breach.LatencyNs, 10) + "ns"
	if !strings.Contains(string(text), marker) {
		t.Errorf("saved trace lacks %q", marker)
	}
	if !strings.Contains(string(text), "sched_switch") {
		t.Errorf("saved trace has no sched_switch event")
	}
	// The analysis splits the breach's latency, whatever took it, into
	// shares that add up to it.
	if tr.Cause == nil {
		t.Fatalf("no cause: %s", tr.Error)
	}
	total := tr.Cause.UnexplainedNs
	for _, c := range tr.Cause.Contributors {
		total += c.Ns
	}
	if d := total - tr.Breach.LatencyNs; d < -1000 || d > 1000 {
		t.Errorf("contributors %+v and unexplained %d ns add up to %d ns, want the latency %d ns", tr.Cause.Contributors, tr.Cause.UnexplainedNs, total, tr.Breach.LatencyNs)
	}
	if res := sum.Tasks[0].Result; res == nil || res.StopReason != "stop requested" {
		t.Errorf("result %+v: want stopped on request", res)
	}
}

// TestProgramTraceContinue: with action continue the task runs to its
// end with the trace frozen; without a breach the result says so.
func TestProgramTraceContinue(t *testing.T) {
	// The trace is saved while the task still runs.
	file := filepath.Join(t.TempDir(), "run.trace.txt")
	savedWhileRunning := false
	watch := func(ctx context.Context, sup *Supervisor) error {
		for ctx.Err() == nil {
			if _, err := os.Stat(file); err == nil && sup.Tasks()[0].Running {
				savedWhileRunning = true
			}
			time.Sleep(10 * time.Millisecond)
		}
		return nil
	}
	sum, _ := runTracedNonRT(t, LoopOptions{Name: "noop", Period: time.Millisecond, Cycles: 2000}, TraceOptions{Threshold: 1, Action: TraceContinue, File: file}, watch)
	if tr := sum.Tasks[0].Trace; tr.Breach == nil || tr.File != file || tr.Cause == nil {
		t.Errorf("trace result %+v: want a breach, the file, a cause", tr)
	}
	if res := sum.Tasks[0].Result; res == nil || res.Cycles != 2000 {
		t.Errorf("result %+v: want all 2000 cycles", res)
	}
	if !savedWhileRunning {
		t.Errorf("with action continue the trace was not saved while the task ran")
	}
	sum, _ = runTraced(t, LoopOptions{Name: "noop", Period: time.Millisecond, Cycles: 100}, TraceOptions{Threshold: time.Hour})
	if tr := sum.Tasks[0].Trace; tr.Breach != nil || tr.ThresholdNs != int64(time.Hour) || tr.Cause != nil || tr.Error != "" {
		t.Errorf("trace result %+v: want no breach, threshold 1 h, nothing else", tr)
	}
}
