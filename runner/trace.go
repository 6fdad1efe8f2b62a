package runner

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/rtcell/rtcell/rt"
	"github.com/rtcell/rtcell/runner/config"
	"github.com/rtcell/rtcell/runner/report"
)

// traceOptions arms the program's trace on threshold as the config (with
// --trace-threshold applied) says; nil when it has no threshold.
func traceOptions(cfg *config.Config) *rt.TraceOptions {
	if cfg.Trace.Threshold <= 0 {
		return nil
	}
	return &rt.TraceOptions{
		Threshold: cfg.Trace.Threshold,
		Action:    rt.TraceAction(cfg.Trace.Action),
		BufferKB:  cfg.Trace.BufferKB,
		File:      cfg.TraceFile(),
	}
}

// traceReport turns a task's trace outcome into the report's record
// (the JSON contract: breach_cycle null when no cycle exceeded the
// threshold), saying on out where the trace was saved.
func traceReport(r *rt.TraceResult, out io.Writer) *report.Trace {
	if r == nil {
		return nil
	}
	t := &report.Trace{ThresholdNs: r.ThresholdNs, File: r.File, Cause: r.Cause, Error: r.Error}
	if b := r.Breach; b != nil {
		cycle := b.Cycle
		t.BreachCycle, t.LatencyNs = &cycle, b.LatencyNs
		for _, e := range []struct{ what, err string }{{"writing the trace marker", b.MarkerError}, {"stopping the trace (tracing_on 0)", b.StopError}} {
			if e.err == "" {
				continue
			}
			if t.Error != "" {
				t.Error += "; "
			}
			t.Error += e.what + ": " + e.err
		}
	}
	if r.File != "" {
		fmt.Fprintf(out, "wrote %s\n", r.File)
	}
	return t
}

// stopBreach is the task whose breach ended the run (trace action
// stop), or nil when none did.
func stopBreach(sum *rt.Summary, cfg *config.Config) *rt.TaskResult {
	if cfg.Trace.Action != config.TraceStop {
		return nil
	}
	for i, tr := range sum.Tasks {
		if tr.Trace != nil && tr.Trace.Breach != nil {
			return &sum.Tasks[i]
		}
	}
	return nil
}

// traceStopped says, for a task the supervisor stopped, that it was
// stopped because a task breached the trace threshold with action stop.
func traceStopped(stopped string, sum *rt.Summary, cfg *config.Config) string {
	if stopped != "stop requested" {
		return stopped
	}
	if tr := stopBreach(sum, cfg); tr != nil {
		return fmt.Sprintf("stopped at task %q's trace breach, cycle %d (trace action stop)", tr.Name, tr.Trace.Breach.Cycle)
	}
	return stopped
}

// phaseTraceFile is the trace file of one phase of a run with phases:
// run.trace.txt gives run.load.trace.txt for the phase "load", so that
// each phase's breach keeps its own trace.
func phaseTraceFile(file, phase string) string {
	if base, ok := strings.CutSuffix(file, ".trace.txt"); ok {
		return base + "." + phase + ".trace.txt"
	}
	ext := filepath.Ext(file)
	return strings.TrimSuffix(file, ext) + "." + phase + ext
}
