package stats

import "fmt"

// Task is all the statistics of one RT loop, in one pointer-free,
// fixed-size block (SizeofTask bytes) meant to sit in a shared-memory
// mapping that the reporting process maps too. The 1 µs Histogram, whose
// size is chosen at run time, lives in a separate run of words.
type Task struct {
	Version   uint64      // LayoutVersion once Init ran; readers check it
	Latency   Series      // wake latency: wake-up time minus programmed release, ≥ 0
	Jitter    Series      // period jitter: raw interval minus period, signed
	Exec      Series      // execution time of the cycle's work, ≥ 0
	Worst     Worst       // the WorstN cycles by latency
	Windows   Windows     // max latency per window
	Overflows OverflowLog // cycle numbers of 1 µs histogram overflows
}

// Init clears t, stamps LayoutVersion and starts the max-latency windows at
// startNs with length windowNs (DefaultWindowNs for 1 s).
func (t *Task) Init(windowNs, startNs int64) error {
	*t = Task{Version: LayoutVersion}
	if err := t.Windows.Init(windowNs, startNs); err != nil {
		return fmt.Errorf("initialising task statistics: %w", err)
	}
	return nil
}

// Check reports whether t was written with this package's layout. A reader
// calls it on the mapped block before trusting any field.
func (t *Task) Check() error {
	if t.Version != LayoutVersion {
		return fmt.Errorf("reading task statistics: layout version %d, this build reads %d; rebuild the reader and the RT process from the same rtcell version: %w", t.Version, LayoutVersion, ErrLayout)
	}
	return nil
}

// Sample is what the loop measured in one cycle, in nanoseconds.
type Sample struct {
	Cycle     uint64 // cycle number, from 0 (as cyclictest counts)
	AtNs      int64  // CLOCK_MONOTONIC time of the wake-up; windows are cut on it
	LatencyNs int64  // wake latency
	JitterNs  int64  // raw interval minus period
	ExecNs    int64  // execution time
}

// Recorder is the RT loop's handle: it records a Sample into a Task and a
// Histogram. It is a view (it holds pointers), built once before the loop;
// the state it writes is in the Task and the histogram words.
type Recorder struct {
	t *Task
	h Histogram
}

// NewRecorder returns a Recorder writing t and h. h may be the zero
// Histogram (no 1 µs histogram, like cyclictest without -h).
func NewRecorder(t *Task, h Histogram) *Recorder {
	return &Recorder{t: t, h: h}
}

// Record records one cycle into every statistic. It allocates nothing, and
// without a new worst cycle or a window boundary it runs no loop. It and
// everything it calls are nosplit or leaf functions: recording adds no
// stack-check prologue, so no point where a pending preemption request
// would hand the loop's P to a non-RT thread (see NOTES on sysmon and
// locked goroutines). Single writer: call it from the loop only.
//
//go:nosplit
func (r *Recorder) Record(s Sample) {
	t := r.t
	t.Latency.Record(s.LatencyNs)
	t.Jitter.Record(s.JitterNs)
	t.Exec.Record(s.ExecNs)
	t.Worst.Record(s.Cycle, s.AtNs, s.LatencyNs, s.ExecNs)
	t.Windows.Record(s.AtNs, s.LatencyNs)
	if r.h.Record(s.LatencyNs) {
		t.Overflows.Add(s.Cycle)
	}
}
