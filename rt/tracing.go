package rt

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/rtcell/rtcell/rt/atomicfile"
	"github.com/rtcell/rtcell/rt/trace"
)

// TraceAction says what a Program does when a loop breaches its trace
// threshold.
type TraceAction string

// Trace actions.
const (
	// TraceStop ends the run at the first breach, as cyclictest -b does.
	TraceStop TraceAction = "stop"
	// TraceContinue keeps the tasks running, with the trace frozen at the
	// first breach.
	TraceContinue TraceAction = "continue"
)

// TraceOptions arm trace on threshold for a Program (Program.Trace).
//
// Run then records the scheduler, interrupt, softirq, timer, IPI and
// workqueue events of the tasks' CPUs in a private ftrace instance (see
// package trace), which needs root. The first cycle of any task whose
// wake latency exceeds Threshold freezes it: the loop writes a marker
// and 0 to the instance's tracing_on, two system calls, from its own
// thread, and publishes the breach. After the run the supervisor saves
// the trace and splits the breach's latency into its causes
// (TaskResult.Trace). The instance is removed when Run returns; one left
// by a killed run is removed by the next.
type TraceOptions struct {
	// Threshold is the wake latency above which a cycle freezes the
	// trace; it must be positive.
	Threshold time.Duration
	// Action is what the program does then; default TraceStop.
	Action TraceAction
	// BufferKB is the per-CPU trace buffer; default trace.DefaultBufferKB.
	BufferKB int
	// File is where the trace around the breach is saved (the instance's
	// trace file from 20 ms before the breach's release, written
	// atomically); "" analyses it without saving it.
	File string
	// Root is the tracefs mount point; default trace.DefaultRoot, where
	// tracefs is mounted when it is not.
	Root string
}

func (o *TraceOptions) check() error {
	if o.Threshold <= 0 {
		return fmt.Errorf("trace threshold %v: want > 0: %w", o.Threshold, ErrInvalid)
	}
	switch o.Action {
	case "":
		o.Action = TraceStop
	case TraceStop, TraceContinue:
	default:
		return fmt.Errorf("trace action %q: want stop or continue: %w", o.Action, ErrInvalid)
	}
	if o.BufferKB < 0 {
		return fmt.Errorf("trace buffer %d KiB: want > 0: %w", o.BufferKB, ErrInvalid)
	}
	return nil
}

// TraceBreach is the first cycle of a task whose wake latency exceeded
// the trace threshold.
type TraceBreach struct {
	Cycle     uint64 `json:"cycle"`
	LatencyNs int64  `json:"latency_ns"`
	// ReleaseNs and WakeNs are the cycle's release and wake-up on
	// CLOCK_MONOTONIC, the trace's clock.
	ReleaseNs int64 `json:"release_ns"`
	WakeNs    int64 `json:"wake_ns"`
	CPU       int   `json:"cpu"`
	TID       int   `json:"tid"`
	// MarkerError and StopError say why the trigger's write of the marker
	// or of 0 to tracing_on failed; "" when it succeeded.
	MarkerError string `json:"marker_error,omitempty"`
	StopError   string `json:"stop_error,omitempty"`
}

// TraceResult is a task's trace-on-threshold outcome.
type TraceResult struct {
	ThresholdNs int64
	// Breach is nil when no cycle exceeded the threshold.
	Breach *TraceBreach
	// File is where the trace was saved, for the breach that froze it.
	File string
	// Cause splits the breach's latency into contributors; nil when
	// there was no breach or the trace could not be analysed (Error).
	Cause *trace.Cause
	Error string
}

// Breach returns the loop's trace breach, if it had one.
func (s *Snapshot) Breach() (TraceBreach, bool) {
	h := &s.s.H
	if h.Breached == 0 {
		return TraceBreach{}, false
	}
	b := TraceBreach{
		Cycle: h.BreachCycle, LatencyNs: h.BreachLatencyNs,
		ReleaseNs: h.BreachReleaseNs, WakeNs: h.BreachWakeNs,
		CPU: int(h.BreachCPU), TID: int(h.BreachTID),
	}
	if h.BreachMarkerErrno != 0 {
		b.MarkerError = syscall.Errno(h.BreachMarkerErrno).Error()
	}
	if h.BreachStopErrno != 0 {
		b.StopError = syscall.Errno(h.BreachStopErrno).Error()
	}
	return b, true
}

// tracer is a Program's trace instance, in the supervisor.
type tracer struct {
	opts       TraceOptions
	inst       *trace.Instance
	marker, on *os.File
	stderr     io.Writer
	// analysed is the task whose breach froze the trace, once its trace
	// is saved and analysed (analysis); set and read by the goroutine
	// that runs Run only.
	analysed *taskState
	analysis TraceResult
}

// openTracer creates the instance for the program's CPUs and opens the
// files its workers' triggers write.
func openTracer(o TraceOptions, cpus []int, stderr io.Writer) (*tracer, error) {
	inst, err := trace.NewInstance(trace.InstanceOptions{Root: o.Root, CPUs: cpus, BufferKB: o.BufferKB})
	if err != nil {
		return nil, fmt.Errorf("setting up trace on threshold: %w", err)
	}
	if inst.Mounted() {
		fmt.Fprintf(stderr, "trace: tracefs was not mounted; mounted it at %s\n", o.rootOrDefault())
	}
	for _, s := range inst.Swept() {
		fmt.Fprintf(stderr, "trace: removed the stale trace instance %s (its process is gone)\n", s)
	}
	m, on, err := inst.TriggerFiles()
	if err != nil {
		inst.Remove()
		return nil, fmt.Errorf("setting up trace on threshold: %w", err)
	}
	return &tracer{opts: o, inst: inst, marker: m, on: on, stderr: stderr}, nil
}

func (o TraceOptions) rootOrDefault() string {
	if o.Root != "" {
		return o.Root
	}
	return trace.DefaultRoot
}

// files are the worker's trigger files, passed after the regions.
func (t *tracer) files() []*os.File { return []*os.File{t.marker, t.on} }

// close removes the instance; the workers, which hold its files too,
// have exited.
func (t *tracer) close() {
	t.marker.Close()
	t.on.Close()
	if err := t.inst.Remove(); err != nil {
		fmt.Fprintf(t.stderr, "trace: %v\n", err)
	}
}

// noteBreach records the breach of a task's worker, once, and says so.
// The caller holds s.mu.
func (s *Supervisor) noteBreach(ts *taskState) {
	if s.tracer == nil || ts.w == nil || ts.breach != nil || !ts.w.tel.Breached() {
		return
	}
	var snap Snapshot
	ts.w.tel.Snapshot(&snap.s)
	b, ok := snap.Breach()
	if !ok {
		return
	}
	ts.breach = &b
	then := "the run stops (trace action stop)"
	if s.tracer.opts.Action == TraceContinue {
		then = "the tasks go on (trace action continue)"
	}
	fmt.Fprintf(s.prog.Stderr, "trace: task %q cycle %d woke %v after its release, over the %v threshold; trace frozen, %s\n",
		ts.task.Loop.Name, b.Cycle, time.Duration(b.LatencyNs), s.tracer.opts.Threshold, then)
}

// traceStop notes new breaches and reports whether the run must stop.
func (s *Supervisor) traceStop() bool {
	if s.tracer == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	stop := false
	for _, ts := range s.tasks {
		s.noteBreach(ts)
		if ts.breach != nil && s.tracer.opts.Action == TraceStop {
			stop = true
		}
	}
	return stop
}

// analyseFirst saves and analyses the trace as soon as a breach has
// frozen it, once: during the run with action continue, so that the
// trace file exists while the tasks go on (and survives the runner
// being killed later), and after the run with action stop. The breach
// that froze it is the earliest; the supervisor's watch calls this
// between its checks.
func (s *Supervisor) analyseFirst() {
	t := s.tracer
	if t == nil || t.analysed != nil {
		return
	}
	s.mu.Lock()
	var first *taskState
	for _, ts := range s.tasks {
		s.noteBreach(ts)
		if ts.breach != nil && (first == nil || ts.breach.WakeNs < first.breach.WakeNs) {
			first = ts
		}
	}
	var b *TraceBreach
	if first != nil {
		b = first.breach
	}
	s.mu.Unlock()
	if first == nil {
		return
	}
	r := TraceResult{ThresholdNs: int64(t.opts.Threshold), Breach: b}
	t.analyse(&r)
	t.analysed, t.analysis = first, r
	if r.File != "" {
		fmt.Fprintf(s.prog.Stderr, "trace: task %q: the trace around cycle %d saved to %s\n", first.task.Loop.Name, b.Cycle, r.File)
	}
}

// traceResults fills each task's TraceResult: the first breach (the one
// that froze the trace) gets the saved trace and its analysis.
func (s *Supervisor) traceResults(sum *Summary) {
	if s.tracer == nil {
		return
	}
	s.analyseFirst()
	first := s.tracer.analysed
	for i, ts := range s.tasks {
		if i >= len(sum.Tasks) {
			break
		}
		s.mu.Lock()
		b := ts.breach
		s.mu.Unlock()
		r := &TraceResult{ThresholdNs: int64(s.tracer.opts.Threshold), Breach: b}
		switch {
		case b == nil:
		case ts == first:
			*r = s.tracer.analysis
		default:
			r.Error = fmt.Sprintf("the trace was frozen by task %q's earlier breach (cycle %d); only that one is analysed",
				first.task.Loop.Name, s.tracer.analysis.Breach.Cycle)
		}
		sum.Tasks[i].Trace = r
	}
}

// excerptBefore is how much of the trace before the breach's release is
// kept: the analysis needs to know what ran at the release, and the
// whole buffer holds seconds.
const excerptBefore = 20 * time.Millisecond

// analyse saves the trace around r's breach (from 20 ms before its
// release to the end of the frozen buffer) and splits the breach into
// its causes, reading what it saved.
func (t *tracer) analyse(r *TraceResult) {
	var full, buf bytes.Buffer
	if err := t.inst.WriteTrace(&full); err != nil {
		r.Error = err.Error()
		return
	}
	if err := trace.WriteExcerpt(&buf, &full, r.Breach.ReleaseNs-int64(excerptBefore), 0); err != nil {
		r.Error = fmt.Sprintf("cutting the trace around the breach: %v", err)
		return
	}
	if t.opts.File != "" {
		if err := atomicfile.Write(t.opts.File, func(w io.Writer) error {
			_, err := w.Write(buf.Bytes())
			return err
		}, 0o644); err != nil {
			r.Error = fmt.Sprintf("saving the trace: %v", err)
		} else {
			r.File = t.opts.File
		}
	}
	b := r.Breach
	cause, err := analyzeTrace(bytes.NewReader(buf.Bytes()), trace.Breach{CPU: b.CPU, TID: b.TID, ReleaseNs: b.ReleaseNs, WakeNs: b.WakeNs})
	if err != nil {
		if r.Error != "" {
			r.Error += "; "
		}
		r.Error += fmt.Sprintf("analysing the trace: %v", err)
		return
	}
	r.Cause = cause
}

// armTrace arms the worker's loop with a trigger on the instance files
// its supervisor passed after the regions, when the supervisor set a
// trace threshold in the telemetry block.
func armTrace(loop *Loop, task string, nRegions int) error {
	thr := loop.tel.TraceThresholdNs()
	if thr <= 0 {
		return nil
	}
	fd := uintptr(firstRegionFD + nRegions)
	trig, err := trace.NewTrigger(os.NewFile(fd, "trace_marker"), os.NewFile(fd+1, "tracing_on"), task)
	if err != nil {
		return fmt.Errorf("arming trace on threshold: %w", err)
	}
	loop.setTrace(trig, thr)
	return nil
}
