package runner

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/rtcell/rtcell/rt"
	"github.com/rtcell/rtcell/rt/cpulist"
	"github.com/rtcell/rtcell/rt/load"
	"github.com/rtcell/rtcell/runner/config"
	"github.com/rtcell/rtcell/runner/report"
)

// runPhases runs the config's tasks once per phase of its [load] table
// (once, with no phase name, without one) and fills rep.Phases and
// rep.Tasks. Each phase is an rt.Run of its own, with the run's full
// duration: the workers of one phase end before the next phase's start,
// so every phase measures fresh workers from their first cycle, and the
// loaded phase's rt.Program carries the load (rt starts it once the
// workers run and stops it before Run returns, on every path). Phases
// run in the order the config lists them; a cancelled context (a signal)
// ends the run after the current phase.
//
// It returns the worst exit code of the phases (failed over violations
// over OK), whether every task ran at an RT policy, and the error that
// ended a phase.
func runPhases(ctx context.Context, cfg *config.Config, o Options, nonRT bool, ln net.Listener, rep *report.Report) (int, bool, error) {
	phases := []string{""}
	if cfg.Load != nil {
		phases = cfg.Load.Phases
	}
	code, realtime := ExitOK, true
	for i, name := range phases {
		if i > 0 && ctx.Err() != nil {
			break
		}
		if i > 0 && ln != nil {
			// rt.Run's metrics server closed the listener at the end of
			// the last phase: listen again on the address it had.
			var err error
			if ln, err = net.Listen("tcp", ln.Addr().String()); err != nil {
				return ExitConfig, realtime, fmt.Errorf("%s: report.metrics: phase %s: %w", cfg.File, name, err)
			}
		}
		p := program(cfg, o, nonRT, ln)
		if p.Trace != nil && name != "" {
			p.Trace.File = phaseTraceFile(p.Trace.File, name)
		}
		if name == config.PhaseLoad {
			spec := cfg.Load.Spec()
			p.Load = &spec
		}
		if name != "" {
			fmt.Fprintf(o.Stdout, "phase %d/%d: %s%s\n", i+1, len(phases), name, phaseLoadLine(p.Load))
		}
		ph := report.Phase{Name: name, StartTime: time.Now()}
		sum, err := rt.Run(ctx, p)
		ph.EndTime = time.Now()
		if len(sum.Tasks) == 0 {
			return worseCode(code, sum.Code), realtime, err
		}
		ph.Load = reportLoad(sum.Load)
		if ph.Load != nil {
			for _, c := range ph.Load.Commands {
				if c.Error != "" {
					fmt.Fprintf(o.Stderr, "warning: phase %s: %s: %s\n", name, c.Name, c.Error)
				}
			}
		}
		if name != "" {
			rep.Phases = append(rep.Phases, ph)
		}
		for _, tr := range sum.Tasks {
			t := taskReport(tr.Result)
			t.Phase = name
			t.PID = tr.PID
			if tr.Failure != "" {
				t.Stopped = tr.Failure
				t.Error = fmt.Sprintf("task %q (pid %d) %s", tr.Name, tr.PID, tr.Failure)
				fmt.Fprintf(o.Stderr, "runner: %s\n", t.Error)
			}
			for _, w := range t.Warnings {
				fmt.Fprintf(o.Stderr, "warning: task %q: %s\n", tr.Name, w)
			}
			t.Trace = traceReport(tr.Trace, o.Stdout)
			t.Stopped = traceStopped(t.Stopped, sum, cfg)
			if tr.Result == nil || !tr.Result.Realtime() {
				realtime = false
			}
			rep.Tasks = append(rep.Tasks, t)
		}
		code = worseCode(code, sum.Code)
		if err != nil {
			return code, realtime, err
		}
		if stopBreach(sum, cfg) != nil && i+1 < len(phases) {
			fmt.Fprintf(o.Stdout, "trace: the run stops at the breach (trace action stop); phases not run: %v\n", phases[i+1:])
			break
		}
	}
	return code, realtime, nil
}

// worseCode orders exit codes for a run of several phases: a failure
// (config, worker) over violations over OK.
func worseCode(a, b int) int {
	rank := func(c int) int {
		switch c {
		case ExitOK:
			return 0
		case ExitViolations:
			return 1
		}
		return 2
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// phaseLoadLine describes a phase's load for its header line.
func phaseLoadLine(s *load.Spec) string {
	if s == nil {
		return " (no load)"
	}
	cmds, err := s.Commands()
	if err != nil {
		return ""
	}
	out := " on CPUs " + cpulist.Format(s.CPUs) + ":"
	for _, c := range cmds {
		out += " " + c.Cmdline() + ";"
	}
	return out[:len(out)-1]
}

// reportLoad is the report's record of what ran.
func reportLoad(r *load.Result) *report.Load {
	if r == nil {
		return nil
	}
	l := &report.Load{CPUs: r.CPUs}
	for _, c := range r.Commands {
		l.Commands = append(l.Commands, report.LoadCommand{Name: c.Name, Cmdline: c.Cmdline, Starts: c.Starts, Error: c.Error})
	}
	return l
}
