package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/rtcell/rtcell/rt"
)

// Config is a runner configuration with every default filled in and
// every value checked against the machine described by the SysInfo
// given to Parse.
type Config struct {
	File   string // file the config was read from, for reports
	Run    Run
	Tasks  []Task
	Report Report
	Trace  Trace // the [trace] table (trace.go)
	// Load is the [load] table; nil without one.
	Load *LoadTable
	// Warnings are legal but doubtful settings, such as two tasks on
	// one CPU at the same priority. Each has the form
	// "file:line: key: problem". The runner should print them.
	Warnings []string
	// Text is the config file's text as Parse read it (at most
	// MaxFileSize bytes), so that a report carries the config it ran
	// without reading the file a second time.
	Text string

	// outputFrom says where each output path came from, for errors
	// found by ApplyOutputFlags: its line in File, or the flag that set it.
	outputFrom map[string]origin
}

// origin is where a value came from: a line of the config file, or a
// command-line flag.
type origin struct {
	line int
	flag string
}

// Run holds the [run] table.
type Run struct {
	// Duration is how long the tasks run. Zero means every task stops
	// after its own Cycles (only possible when every task sets cycles).
	// A task with both stops at whichever comes first.
	Duration   time.Duration
	Preflight  bool // run the sysprep checklist before starting
	AllowNonRT bool // run even when the kernel is not PREEMPT_RT
}

// Task is one periodic real-time loop, from a [[task]] table.
type Task struct {
	Name     string
	Period   time.Duration // release interval, 10 µs to 10 s
	Deadline time.Duration // relative deadline, 0 < Deadline ≤ Period
	Priority int           // SCHED_FIFO/SCHED_RR priority, 1–99
	Policy   rt.Policy     // rt.PolicyFIFO or rt.PolicyRR
	CPU      int           // CPU the task's process is pinned to
	CPUAuto  bool          // CPU was chosen by the loader, not written in the file
	Wake     rt.Wake       // rt.WakeSleep, rt.WakeHybrid or rt.WakeBusy
	// Margin is how long before each release a hybrid wake stops
	// sleeping and starts spinning. Only used with rt.WakeHybrid.
	Margin      time.Duration
	MarginAuto  bool             // the runner picks Margin from measured wake-up latency; Margin is 0
	Overrun     rt.OverrunPolicy // rt.OverrunSkip or rt.OverrunCatchup
	Workload    Workload
	Cycles      uint64 // stop after this many cycles; 0: run for Run.Duration
	HistogramUS int    // latency histogram range, in 1 µs bins
}

// Report holds the [report] table. An empty string means "do not write
// this output". Paths are relative to the runner's working directory.
type Report struct {
	JSON            string // JSON report
	Histfile        string // cyclictest-compatible histogram text
	SVG             string // latency plot
	HTML            string // self-contained HTML commissioning report
	Metrics         string // host:port of a Prometheus endpoint, e.g. "127.0.0.1:9101"
	MetricsTextfile string // node_exporter textfile collector output
	Trace           string // frozen trace of trace on threshold; "": see Config.TraceFile
}

// Workload kinds.
const (
	WorkloadNone = "none" // no work: pure latency measurement, like cyclictest
	WorkloadBusy = "busy" // spin on the CPU for a time drawn uniformly from [Min, Max]
)

// Workload is the simulated work a task does each cycle.
type Workload struct {
	Kind     string        // WorkloadNone or WorkloadBusy
	Min, Max time.Duration // busy time range; equal for a fixed time
}

// String returns the config spelling: "none", "busy:300us" or
// "busy:200us-900us". ParseWorkload(w.String()) gives back w.
func (w Workload) String() string {
	switch {
	case w.Kind != WorkloadBusy:
		return WorkloadNone
	case w.Min == w.Max:
		return WorkloadBusy + ":" + formatDuration(w.Min)
	default:
		return WorkloadBusy + ":" + formatDuration(w.Min) + "-" + formatDuration(w.Max)
	}
}

// ParseWorkload parses "none", "busy:D" or "busy:MIN-MAX" where D, MIN
// and MAX are durations such as "300us" and MIN ≤ MAX.
func ParseWorkload(s string) (Workload, error) {
	const allowed = `use "none", "busy:300us" or "busy:200us-900us"`
	if s == WorkloadNone {
		return Workload{Kind: WorkloadNone}, nil
	}
	rest, ok := strings.CutPrefix(s, WorkloadBusy+":")
	if !ok {
		return Workload{}, fmt.Errorf("parsing workload %q: unknown kind (%s): %w", s, allowed, ErrInvalid)
	}
	lo, hi, ranged := strings.Cut(rest, "-")
	if !ranged {
		hi = lo
	}
	min, err := time.ParseDuration(lo)
	if err != nil || min < 0 {
		return Workload{}, fmt.Errorf("parsing workload %q: %q is not a duration ≥ 0 (%s): %w", s, lo, allowed, ErrInvalid)
	}
	max, err := time.ParseDuration(hi)
	if err != nil || max < 0 {
		return Workload{}, fmt.Errorf("parsing workload %q: %q is not a duration ≥ 0 (%s): %w", s, hi, allowed, ErrInvalid)
	}
	if min > max {
		return Workload{}, fmt.Errorf("parsing workload %q: minimum %s is above maximum %s (write the smaller first): %w",
			s, formatDuration(min), formatDuration(max), ErrInvalid)
	}
	if max == 0 {
		return Workload{}, fmt.Errorf("parsing workload %q: busy time is zero (use \"none\" for no work): %w", s, ErrInvalid)
	}
	return Workload{Kind: WorkloadBusy, Min: min, Max: max}, nil
}

// formatDuration is time.Duration.String with "us" for "µs", so that
// output stays ASCII like the config files people type.
func formatDuration(d time.Duration) string {
	return strings.Replace(d.String(), "µs", "us", 1)
}

// Load reads and checks the config file at path. See Parse.
//
// Before anything is parsed, it refuses a path that is not a regular
// file (a named pipe, a device such as /dev/zero, a directory, a
// socket) without blocking or reading from it, and a file larger than
// MaxFileSize, reading at most MaxFileSize+1 bytes. Both errors are an
// *Error of the form "path: problem" and match ErrInvalid; a file that
// cannot be opened gives the os error (errors.Is(err, fs.ErrNotExist)).
func Load(path string, sys SysInfo) (*Config, error) {
	data, err := readConfig(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, sys)
}
