package config

import (
	"fmt"
	"strings"
	"time"
)

// Trace actions ([trace] action).
const (
	TraceStop     = "stop"     // end the run at the first breach, as cyclictest -b does
	TraceContinue = "continue" // keep measuring with the trace frozen
)

// Limits of the [trace] table.
const (
	// MaxTraceBufferKB bounds buffer_kb: the kernel allocates it for
	// every CPU, and locked, unswappable kernel memory.
	MaxTraceBufferKB = 1 << 20
	// DefaultTraceFile is the trace's file when neither [report] trace
	// nor a JSON report names one.
	DefaultTraceFile = "rtcell.trace.txt"
)

// Trace holds the [trace] table: trace on threshold. The run records
// ftrace events on the tasks' CPUs and freezes them on the first cycle
// whose wake latency exceeds Threshold.
type Trace struct {
	// Threshold is the wake latency that freezes the trace; 0: no
	// tracing (no [trace] table and no --trace-threshold).
	Threshold time.Duration
	// Action is TraceStop or TraceContinue.
	Action string
	// BufferKB is the per-CPU trace buffer; 0: the default.
	BufferKB int
}

var traceKeys = []string{"threshold", "action", "buffer_kb"}

// traceTable decodes the [trace] table.
func (d *decoder) traceTable(tbl map[string]any, p keyPath, t *Trace) {
	d.checkKeys(tbl, p, traceKeys, "allowed")
	t.Action = TraceStop
	if dur, ok := d.duration(tbl, p, "threshold"); ok {
		if dur <= 0 {
			d.errorf(p.key("threshold"), "%s is not positive (give the wake latency that freezes the trace, e.g. \"150us\")", formatDuration(dur))
		} else {
			t.Threshold = dur
		}
	} else if _, present := tbl["threshold"]; !present {
		d.errorf(p, "threshold missing (give the wake latency that freezes the trace, e.g. threshold = \"150us\", or remove [trace])")
	}
	if s, ok := d.enum(tbl, p, "action", []string{TraceStop, TraceContinue}); ok {
		t.Action = s
	}
	if n, ok := d.integer(tbl, p, "buffer_kb", fmt.Sprintf("an integer 1–%d (KiB per CPU)", MaxTraceBufferKB)); ok {
		if n < 1 || n > MaxTraceBufferKB {
			d.errorf(p.key("buffer_kb"), "%d is outside 1–%d (KiB of trace buffer per CPU)", n, MaxTraceBufferKB)
		} else {
			t.BufferKB = int(n)
		}
	}
}

// ApplyTraceThreshold sets the trace threshold from the command line
// (flag names it, e.g. "--trace-threshold"), arming trace on threshold
// with the config's action and buffer, or "stop" and the default buffer
// when the config has no [trace] table. A zero d keeps the config's.
func (c *Config) ApplyTraceThreshold(flag string, d time.Duration) error {
	switch {
	case d == 0:
		return nil
	case d < 0:
		return &Error{Key: flag, Msg: fmt.Sprintf("%s is not positive (give the wake latency that freezes the trace, e.g. 150us)", formatDuration(d))}
	}
	c.Trace.Threshold = d
	if c.Trace.Action == "" {
		c.Trace.Action = TraceStop
	}
	return nil
}

// TraceFile is where the run saves the frozen trace: [report] trace, or
// else beside the JSON report (run.json gives run.trace.txt), or else
// DefaultTraceFile in the working directory.
func (c *Config) TraceFile() string {
	switch {
	case c.Report.Trace != "":
		return c.Report.Trace
	case c.Report.JSON != "":
		return strings.TrimSuffix(c.Report.JSON, ".json") + ".trace.txt"
	}
	return DefaultTraceFile
}
