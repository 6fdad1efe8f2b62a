package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rtcell/rtcell/rt"
	"github.com/rtcell/rtcell/rt/atomicfile"
	"github.com/rtcell/rtcell/rt/buildinfo"
	"github.com/rtcell/rtcell/rt/metrics"
	"github.com/rtcell/rtcell/rt/probe"
	"github.com/rtcell/rtcell/runner/config"
	"github.com/rtcell/rtcell/runner/report"
	"github.com/rtcell/rtcell/sysprep"
)

// Exit codes of `runner run` and `runner compare`: rt's vocabulary.
const (
	ExitOK           = rt.ExitOK
	ExitViolations   = rt.ExitViolations // deadline misses or overruns occurred
	ExitConfig       = rt.ExitConfig     // config or privilege error, or a CPU leased by another run; nothing ran
	ExitWorkerFailed = rt.ExitFailed     // a worker died, stalled or did not stop
	ExitOutput       = rt.ExitOutput     // the run happened but a report could not be written
)

// Default locations of the kernel's virtual file systems.
const (
	DefaultProcRoot = "/proc"
	DefaultSysRoot  = "/sys"
)

// Options configures Run. Zero values keep what the config says.
type Options struct {
	Config *config.Config
	// Duration and Cycles override the config's run length for every task.
	Duration time.Duration
	Cycles   uint64
	// JSON, Histfile and SVG override the config's report paths.
	JSON, Histfile, SVG string
	// Quiet drops the live status lines.
	Quiet bool
	// AllowNonRT runs the tasks at SCHED_OTHER when SCHED_FIFO is not
	// permitted, instead of refusing; every output then says NOT REAL-TIME.
	AllowNonRT bool
	// Stdout gets the status lines and the summary, Stderr the errors.
	Stdout, Stderr io.Writer
	// ProcRoot and SysRoot are where preflight reads the kernel's state.
	ProcRoot, SysRoot string
	// Worker sets how worker processes are started (default: this binary,
	// with this process's arguments).
	Worker rt.WorkerOptions
	// Watchdog is how long a worker may publish nothing before it is
	// declared stalled; default rt's (the larger of 2 s and 20 periods).
	Watchdog time.Duration
	// ShareCPUs runs although another rtcell process measures on one of
	// the tasks' CPUs (by default the run refuses, naming it).
	ShareCPUs bool
	// TraceThreshold arms trace on threshold (overriding [trace]
	// threshold; see trace.go): the flag --trace-threshold.
	TraceThreshold time.Duration
}

// Run runs the config's tasks to their end, or until ctx is cancelled (a
// signal), and writes the reports. It returns the exit code, the report
// and, for an exit code other than ExitOK and ExitViolations, the error
// that stopped it. Reports are written also when a worker failed or the
// run was cancelled. The tasks run as an rt.Program, one worker process
// each: in a worker process (the runner binary re-executed with the same
// arguments) Run runs that worker's loop and exits.
func Run(ctx context.Context, o Options) (int, *report.Report, error) {
	cfg := o.Config
	if cfg == nil || len(cfg.Tasks) == 0 {
		return ExitConfig, nil, errors.New("running: no config or no tasks")
	}
	if rt.IsWorker() {
		rt.Run(ctx, program(cfg, o, false, nil)) // never returns in a worker
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.ProcRoot == "" {
		o.ProcRoot = DefaultProcRoot
	}
	if o.SysRoot == "" {
		o.SysRoot = DefaultSysRoot
	}
	// Outputs are checked before anything runs: two on one file, or one
	// on the metrics textfile, would lose a report.
	if err := cfg.ApplyOutputFlags(
		config.OutputFlag{Key: "json", Flag: "--json", Path: o.JSON},
		config.OutputFlag{Key: "histfile", Flag: "--histfile", Path: o.Histfile},
		config.OutputFlag{Key: "svg", Flag: "--svg", Path: o.SVG},
	); err != nil {
		return ExitConfig, nil, err
	}
	if err := cfg.ApplyTraceThreshold("--trace-threshold", o.TraceThreshold); err != nil {
		return ExitConfig, nil, err
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(o.Stderr, "warning: %s\n", w)
	}
	rep := &report.Report{Config: cfg.File, ConfigText: cfg.Text, StartTime: time.Now(), Version: buildinfo.String()}

	// Preflight: the sysprep checklist, for the RT CPUs and top priority.
	var cpus []int
	prio := 1
	for _, t := range cfg.Tasks {
		if !slices.Contains(cpus, t.CPU) {
			cpus = append(cpus, t.CPU)
		}
		prio = max(prio, t.Priority)
	}
	slices.Sort(cpus)
	kernelRT := false
	if cfg.Run.Preflight {
		pf, sp, host, isRT, err := preflight(o.ProcRoot, o.SysRoot, cpus, prio)
		if err != nil {
			fmt.Fprintf(o.Stderr, "preflight: %v\n", err)
		}
		rep.Preflight, rep.Sysprep, rep.Host, kernelRT = pf, sp, host, isRT
		if pf != nil {
			fmt.Fprintf(o.Stdout, "preflight: %s (%d pass, %d warn, %d fail, %d skip)%s; details: sysprep --rt-cpus %s --priority %d\n",
				pf.Verdict, pf.Pass, pf.Warn, pf.Fail, pf.Skip, failedList(pf.Failed), sysprep.FormatCPUList(cpus), prio)
		}
	} else {
		rep.Host, kernelRT = hostInfo(o.ProcRoot, o.SysRoot)
	}
	rep.Host.GoVersion = runtime.Version()
	if err := ctx.Err(); err != nil {
		return ExitConfig, nil, fmt.Errorf("stopped before the run: %w", context.Cause(ctx))
	}

	// Privileges: refuse with the fix, or run at SCHED_OTHER if allowed.
	nonRT := false
	if err := probe.FIFO(prio); err != nil {
		if !(o.AllowNonRT || cfg.Run.AllowNonRT) {
			return ExitConfig, nil, fmt.Errorf("%w\n  fix: run as root, or `make setcap` (setcap cap_sys_nice,cap_ipc_lock+ep bin/runner),\n"+
				"       or add to /etc/security/limits.conf: `USER - rtprio %d` and `USER - memlock unlimited`,\n"+
				"       or in the systemd unit: AmbientCapabilities=CAP_SYS_NICE CAP_IPC_LOCK, LimitRTPRIO=%d, LimitMEMLOCK=infinity;\n"+
				"  or pass --allow-non-rt to run at SCHED_OTHER, marked NOT REAL-TIME", err, prio, prio)
		}
		nonRT = true
		fmt.Fprintf(o.Stdout, "%s\n  (SCHED_FIFO %d refused: %v)\n", report.NotRealtimeNotice, prio, err)
	}
	rep.NotRealtime = nonRT

	var ln net.Listener
	if cfg.Report.Metrics != "" {
		var err error
		if ln, err = net.Listen("tcp", cfg.Report.Metrics); err != nil {
			return ExitConfig, nil, fmt.Errorf("%s: report.metrics: %w", cfg.File, err)
		}
	}
	// Phases: one rt.Run each, one after the other (see runPhases).
	code, tasksRT, err := runPhases(ctx, cfg, o, nonRT, ln, rep)
	if len(rep.Tasks) == 0 {
		// Nothing started: a CPU leased by another run, a bad option.
		return code, nil, err
	}
	if err != nil {
		fmt.Fprintf(o.Stderr, "runner: %v\n", err)
	}
	realtime := kernelRT && !nonRT && tasksRT
	rep.Verdict = verdict(code, realtime)
	rep.EndTime = time.Now()
	rep.DurationNs = rep.EndTime.Sub(rep.StartTime).Nanoseconds()
	if werr := writeReports(rep, cfg, o); werr != nil {
		fmt.Fprintf(o.Stderr, "runner: %v\n", werr)
		code, err = ExitOutput, werr
	}
	rep.WriteText(o.Stdout)
	if code == ExitOK || code == ExitViolations {
		err = nil
	}
	return code, rep, err
}

// verdict judges a run from its exit code and whether it was real-time
// (a PREEMPT_RT kernel, and every task at an RT policy with its runtime
// settings in effect). A failed run is "failed" whatever else it shows.
// Otherwise a run that was not real-time is "not-realtime" first, also
// when it had violations: its numbers say nothing about what a real-time
// box guarantees, and a "violations" verdict would hide that. Its
// violations are still counted in the report, and the exit code still
// says violations (ExitViolations), so a script that checks for misses
// sees them on any box.
func verdict(code int, realtime bool) string {
	switch {
	case code == ExitWorkerFailed || code == ExitConfig:
		return report.VerdictFailed
	case !realtime:
		return report.VerdictNotRealtime
	case code == ExitViolations:
		return report.VerdictViolations
	}
	return report.VerdictPass
}

func failedList(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return "; failed: " + strings.Join(ids, ", ")
}

// program turns the config into an rt.Program: one task per [[task]],
// whose Setup builds the workload's cycle function, and a non-real-time
// side that prints the status lines and serves the metrics. The worker
// processes build the same program from the same arguments and find
// their task by name; their loop options come from the supervisor.
func program(cfg *config.Config, o Options, nonRT bool, ln net.Listener) rt.Program {
	p := rt.Program{
		Stdout:    o.Stdout,
		Stderr:    o.Stderr,
		Worker:    o.Worker,
		ShareCPUs: o.ShareCPUs,
		Trace:     traceOptions(cfg),
	}
	for i, t := range cfg.Tasks {
		lo := loopOptions(cfg, i, o, nonRT)
		w, seed := t.Workload, uint64(i)+1
		p.Tasks = append(p.Tasks, rt.Task{
			Loop:     lo,
			Setup:    func() (rt.CycleFunc, error) { return workloadCycle(w, seed), nil },
			Watchdog: rt.Watchdog{Stall: o.Watchdog},
		})
	}
	p.NonRT = func(ctx context.Context, sup *rt.Supervisor) error {
		stopMetrics := serveMetrics(cfg, ln, sup, o)
		defer stopMetrics()
		if !o.Quiet {
			printStatus(ctx, sup, o.Stdout)
		}
		<-ctx.Done()
		return nil
	}
	return p
}

// loopOptions turns config task i into loop options. --duration and
// --cycles replace the config's run length; given together, the task
// stops at whichever comes first, as in the config.
func loopOptions(cfg *config.Config, i int, o Options, nonRT bool) rt.LoopOptions {
	t := cfg.Tasks[i]
	lo := rt.LoopOptions{
		Name:        t.Name,
		Period:      t.Period,
		Deadline:    t.Deadline,
		Thread:      rt.ThreadOptions{CPU: t.CPU, Pin: true, Policy: rt.Policy(t.Policy), Priority: t.Priority},
		Wake:        rt.Wake(t.Wake),
		Overrun:     rt.OverrunPolicy(t.Overrun),
		Cycles:      t.Cycles,
		Duration:    cfg.Run.Duration,
		HistogramUS: t.HistogramUS,
	}
	if !t.MarginAuto {
		lo.Margin = t.Margin
	}
	if o.Duration > 0 || o.Cycles > 0 {
		lo.Duration, lo.Cycles = o.Duration, o.Cycles
	}
	if nonRT {
		lo.Thread = rt.ThreadOptions{CPU: t.CPU, Pin: true, Policy: rt.PolicyOther, NoMlock: true, NoDMALatency: true}
	}
	return lo
}

// printStatus prints a status line per task each second until ctx ends.
func printStatus(ctx context.Context, sup *rt.Supervisor, out io.Writer) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var snap rt.Snapshot
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for i, t := range sup.Tasks() {
			if t.Running && t.Snapshot(&snap) != nil {
				fmt.Fprintln(out, statusLine(i, &snap))
			}
		}
	}
}

// serveMetrics serves the tasks' statistics to Prometheus on ln and
// writes the node_exporter textfile every 10 s, as the config asks, until
// the returned stop function is called. The rtcell_verdict gauge judges
// the run so far, with the kernel judged as the report's host line
// judges it (/sys/kernel/realtime, or PREEMPT_RT in `uname -v`).
func serveMetrics(cfg *config.Config, ln net.Listener, sup *rt.Supervisor, o Options) (stop func()) {
	if ln == nil && cfg.Report.MetricsTextfile == "" {
		return func() {}
	}
	_, kernelRT := hostInfo(o.ProcRoot, o.SysRoot)
	col := metrics.NewCollectorOptions(func() []metrics.Task {
		infos := sup.Tasks()
		ts := make([]metrics.Task, len(infos))
		for i, t := range infos {
			ts[i] = metrics.Task{Name: t.Name, Source: t, Exited: !t.Running, Restarts: t.Restarts}
		}
		return ts
	}, metrics.CollectorOptions{Verdict: true, KernelRealtime: kernelRT})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if ln != nil {
		fmt.Fprintf(o.Stdout, "metrics: http://%s/metrics\n", ln.Addr())
		wg.Go(func() {
			if err := metrics.ServeListener(ctx, ln, col); err != nil {
				fmt.Fprintf(o.Stderr, "runner: metrics: %v\n", err)
			}
		})
	}
	if path := cfg.Report.MetricsTextfile; path != "" {
		wg.Go(func() {
			if err := metrics.WriteTextfileEvery(ctx, path, 10*time.Second, col); err != nil {
				fmt.Fprintf(o.Stderr, "runner: metrics textfile: %v\n", err)
			}
		})
	}
	return func() { cancel(); wg.Wait() }
}

// statusLine formats a task's live state like cyclictest's, in µs, with
// the deadline misses added.
func statusLine(i int, s *rt.Snapshot) string {
	l := s.Latency()
	return fmt.Sprintf("T:%2d (%6d) P:%2d I:%d C:%8d Min:%6d Act:%6d Avg:%6d Max:%8d Miss:%6d",
		i, s.TID(), s.ThreadPriority(), s.PeriodNs()/1000, s.Cycles(), l.Min/1000, l.Last/1000, l.Mean()/1000, l.Max/1000, s.DeadlineMisses())
}

// writeReports writes the JSON, histogram file and SVG the config names,
// each atomically.
func writeReports(rep *report.Report, cfg *config.Config, o Options) error {
	paths := cfg.Report // with the flags applied (Run)
	var errs []error
	for _, f := range []struct {
		path  string
		write func(io.Writer) error
	}{
		{paths.JSON, rep.WriteJSON},
		{paths.Histfile, rep.WriteHistfile},
		{paths.SVG, func(w io.Writer) error { return report.WriteSVG(w, rep) }},
		{paths.HTML, func(w io.Writer) error { return report.WriteHTML(w, []*report.Report{rep}, report.HTMLOptions{}) }},
	} {
		if f.path == "" {
			continue
		}
		if err := atomicfile.Write(f.path, f.write, 0o644); err != nil {
			errs = append(errs, fmt.Errorf("writing %s: %w", f.path, err))
			continue
		}
		fmt.Fprintf(o.Stdout, "wrote %s\n", f.path)
	}
	return errors.Join(errs...)
}

// workloadCycle returns the cycle function of a workload: nothing (pure
// latency, like cyclictest), or a busy spin of a fixed length or of a
// length drawn uniformly from [Min, Max] by a xorshift generator, which
// allocates nothing.
func workloadCycle(w config.Workload, seed uint64) rt.CycleFunc {
	if w.Kind != config.WorkloadBusy {
		return func(*rt.Cycle) bool { return true }
	}
	lo, span := int64(w.Min), uint64(w.Max-w.Min)
	x := seed | 1
	return func(*rt.Cycle) bool {
		d := lo
		if span > 0 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			d += int64(x % (span + 1))
		}
		end := rt.Nanotime() + d
		for rt.Nanotime() < end {
		}
		return true
	}
}
