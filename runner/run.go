package runner

import (
	"context"
	"encoding/json"
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
	"github.com/rtcell/rtcell/rt/metrics"
	"github.com/rtcell/rtcell/rt/probe"
	"github.com/rtcell/rtcell/runner/config"
	"github.com/rtcell/rtcell/runner/report"
	"github.com/rtcell/rtcell/sysprep"
)

// Exit codes of `runner run`.
const (
	ExitOK           = 0
	ExitViolations   = 1 // deadline misses or overruns occurred
	ExitConfig       = 2 // config or privilege error; nothing ran
	ExitWorkerFailed = 3 // a worker died, stalled or could not start
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
	// Worker sets how worker processes are started (default: this binary).
	Worker rt.WorkerOptions
	// Watchdog is how long a worker may publish nothing before it is
	// declared stalled; default the larger of 2 s and 20 periods.
	Watchdog time.Duration
}

// Run runs the config's tasks to their end, or until ctx is cancelled (a
// signal), and writes the reports. It returns the exit code, the report
// and, for exit code ExitConfig, the error that stopped it. Reports are
// written also when a worker failed or the run was cancelled.
func Run(ctx context.Context, o Options) (int, *report.Report, error) {
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
	cfg := o.Config
	if cfg == nil || len(cfg.Tasks) == 0 {
		return ExitConfig, nil, errors.New("running: no config or no tasks")
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(o.Stderr, "warning: %s\n", w)
	}
	rep := &report.Report{Config: cfg.File, StartTime: time.Now()}

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
		pf, host, isRT, err := preflight(o.ProcRoot, o.SysRoot, cpus, prio)
		if err != nil {
			fmt.Fprintf(o.Stderr, "preflight: %v\n", err)
		}
		rep.Preflight, rep.Host, kernelRT = pf, host, isRT
		if pf != nil {
			fmt.Fprintf(o.Stdout, "preflight: %s (%d pass, %d warn, %d fail, %d skip)%s; details: sysprep --rt-cpus %s --priority %d\n",
				pf.Verdict, pf.Pass, pf.Warn, pf.Fail, pf.Skip, failedList(pf.Failed), sysprep.FormatCPUList(cpus), prio)
		}
	} else {
		rep.Host, kernelRT = hostInfo(o.SysRoot)
	}
	rep.Host.GoVersion = runtime.Version()

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

	if p := cfg.Report.MetricsTextfile; p != "" && !strings.HasSuffix(p, ".prom") {
		return ExitConfig, nil, fmt.Errorf("%s: report.metrics_textfile: %q must end in .prom for node_exporter's textfile collector", cfg.File, p)
	}
	var ln net.Listener
	if cfg.Report.Metrics != "" {
		var err error
		if ln, err = net.Listen("tcp", cfg.Report.Metrics); err != nil {
			return ExitConfig, nil, fmt.Errorf("%s: report.metrics: %w", cfg.File, err)
		}
	}
	workers, err := startWorkers(cfg, o, nonRT)
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return ExitWorkerFailed, nil, err
	}
	stopMetrics := serveMetrics(cfg, ln, workers, o)
	failures := supervise(ctx, workers, o)
	// Stop serving before the workers' blocks are unmapped below; the
	// textfile's last write holds the end-of-run figures.
	stopMetrics()

	// Final state of every task, from shared memory.
	code := ExitOK
	violations := false
	realtime := kernelRT && !nonRT
	for i, w := range workers {
		exit, res := w.Wait()
		w.Close()
		t := taskReport(res)
		switch {
		case failures[i] != "":
			t.Stopped = failures[i]
			t.Error = failures[i] + "; last statistics: " + lastStats(res)
			code = ExitWorkerFailed
		case !exit.Finished:
			t.Stopped = "worker " + exit.String()
			t.Error = fmt.Sprintf("task %q (pid %d) failed: %s; last statistics: %s", res.Name, w.PID(), exit, lastStats(res))
			if exit.Code == rt.WorkerExitSetup && res.Cycles == 0 {
				t.Error = fmt.Sprintf("task %q could not start: %s", w.Spec.Loop.Name, exit.Err)
			}
			code = ExitWorkerFailed
		}
		if t.Error != "" {
			fmt.Fprintf(o.Stderr, "runner: %s\n", t.Error)
		}
		if res.DeadlineMisses > 0 || res.Overruns > 0 {
			violations = true
		}
		if !res.Realtime() {
			realtime = false
		}
		rep.Tasks = append(rep.Tasks, t)
	}
	// A run at SCHED_OTHER is judged not real-time before anything else
	// it shows; on a kernel that is not PREEMPT_RT, violations still
	// come first. The exit code reports violations either way.
	if code != ExitWorkerFailed && violations {
		code = ExitViolations
	}
	switch {
	case code == ExitWorkerFailed:
		rep.Verdict = report.VerdictFailed
	case nonRT:
		rep.Verdict = report.VerdictNotRealtime
	case violations:
		rep.Verdict = report.VerdictViolations
	case !realtime:
		rep.Verdict = report.VerdictNotRealtime
	default:
		rep.Verdict = report.VerdictPass
	}
	rep.EndTime = time.Now()
	rep.DurationNs = rep.EndTime.Sub(rep.StartTime).Nanoseconds()
	if err := writeReports(rep, cfg, o); err != nil {
		fmt.Fprintf(o.Stderr, "runner: %v\n", err)
		if code == ExitOK {
			code = ExitWorkerFailed
		}
	}
	rep.WriteText(o.Stdout)
	return code, rep, nil
}

func failedList(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return "; failed: " + strings.Join(ids, ", ")
}

// startWorkers starts one worker per task. If one fails to start, the
// ones already started are stopped.
func startWorkers(cfg *config.Config, o Options, nonRT bool) ([]*rt.Worker, error) {
	var ws []*rt.Worker
	for i, t := range cfg.Tasks {
		spec, err := taskSpec(cfg, i, o, nonRT)
		if err == nil {
			var w *rt.Worker
			if w, err = rt.StartWorker(spec, o.Worker); err == nil {
				ws = append(ws, w)
				continue
			}
		}
		for _, w := range ws {
			w.Kill()
			w.Wait()
			w.Close()
		}
		return nil, fmt.Errorf("starting task %q: %w", t.Name, err)
	}
	return ws, nil
}

// taskSpec turns config task i into a worker spec.
func taskSpec(cfg *config.Config, i int, o Options, nonRT bool) (rt.WorkerSpec, error) {
	t := cfg.Tasks[i]
	lo := rt.LoopOptions{
		Name:        t.Name,
		Period:      t.Period,
		Deadline:    t.Deadline,
		Thread:      rt.ThreadOptions{CPU: t.CPU, Policy: rt.Policy(t.Policy), Priority: t.Priority},
		Wake:        rt.Wake(t.Wake),
		Overrun:     rt.OverrunPolicy(t.Overrun),
		Cycles:      t.Cycles,
		Duration:    cfg.Run.Duration,
		HistogramUS: t.HistogramUS,
	}
	if !t.MarginAuto {
		lo.Margin = t.Margin
	}
	if o.Duration > 0 {
		lo.Duration, lo.Cycles = o.Duration, 0
	}
	if o.Cycles > 0 {
		lo.Cycles, lo.Duration = o.Cycles, 0
	}
	if nonRT {
		lo.Thread = rt.ThreadOptions{CPU: t.CPU, Policy: rt.PolicyOther, NoMlock: true, NoDMALatency: true}
	}
	payload, err := json.Marshal(taskPayload{Workload: t.Workload.String(), Seed: uint64(i) + 1})
	if err != nil {
		return rt.WorkerSpec{}, err
	}
	return rt.WorkerSpec{Loop: lo, Role: RoleTask, Payload: payload}, nil
}

// supervise waits for the workers, printing status lines, stopping them
// when ctx ends, and killing those the watchdog finds stalled. It returns
// a failure description per worker ("" for none).
func supervise(ctx context.Context, ws []*rt.Worker, o Options) []string {
	failures := make([]string, len(ws))
	snaps := make([]rt.Snapshot, len(ws))
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var stopAt time.Time
	lastStatus := time.Now()
	for n := 0; ; n++ {
		running := 0
		for i, w := range ws {
			select {
			case <-w.Done():
				continue
			default:
			}
			running++
			limit := o.Watchdog
			if limit == 0 {
				limit = max(2*time.Second, 20*w.Spec.Loop.Period)
			}
			if failures[i] == "" && w.Stalled(limit) {
				failures[i] = fmt.Sprintf("watchdog: task %q (pid %d) published nothing for %v, detected at %s; killed",
					w.Spec.Loop.Name, w.PID(), limit, time.Now().Format(time.RFC3339Nano))
				fmt.Fprintf(o.Stderr, "runner: %s\n", failures[i])
				w.Kill()
			}
		}
		if running == 0 {
			return failures
		}
		if !stopAt.IsZero() && time.Since(stopAt) > 10*time.Second {
			for i, w := range ws {
				if failures[i] == "" {
					failures[i] = fmt.Sprintf("task %q (pid %d) did not stop within 10 s of the stop request; killed", w.Spec.Loop.Name, w.PID())
				}
				w.Kill()
			}
		}
		if !o.Quiet && time.Since(lastStatus) >= time.Second {
			lastStatus = time.Now()
			for i, w := range ws {
				w.Telemetry().Snapshot(&snaps[i])
				fmt.Fprintln(o.Stdout, statusLine(i, &snaps[i]))
			}
		}
		select {
		case <-ctx.Done():
			if stopAt.IsZero() {
				stopAt = time.Now()
				for _, w := range ws {
					w.Stop()
				}
			}
			<-tick.C
		case <-tick.C:
		}
	}
}

// serveMetrics serves the tasks' statistics to Prometheus on ln and
// writes the node_exporter textfile every 10 s, as the config asks, until
// the returned stop function is called.
func serveMetrics(cfg *config.Config, ln net.Listener, ws []*rt.Worker, o Options) (stop func()) {
	if ln == nil && cfg.Report.MetricsTextfile == "" {
		return func() {}
	}
	col := metrics.NewCollector(func() []metrics.Task {
		ts := make([]metrics.Task, len(ws))
		for i, w := range ws {
			ts[i] = metrics.Task{Name: w.Spec.Loop.Name, Telemetry: w.Telemetry()}
			select {
			case <-w.Done():
				ts[i].Exited = true
			default:
			}
		}
		return ts
	})
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

func lastStats(r *rt.Result) string {
	return fmt.Sprintf("%d cycles, latency min %.1f µs avg %.1f µs max %.1f µs, %d deadline misses",
		r.Cycles, float64(r.Latency.Min)/1e3, float64(r.Latency.Avg)/1e3, float64(r.Latency.Max)/1e3, r.DeadlineMisses)
}

// writeReports writes the JSON, histogram file and SVG the config and
// options name, each atomically.
func writeReports(rep *report.Report, cfg *config.Config, o Options) error {
	paths := cfg.Report
	if o.JSON != "" {
		paths.JSON = o.JSON
	}
	if o.Histfile != "" {
		paths.Histfile = o.Histfile
	}
	if o.SVG != "" {
		paths.SVG = o.SVG
	}
	var errs []error
	for _, f := range []struct {
		path  string
		write func(io.Writer) error
	}{
		{paths.JSON, rep.WriteJSON},
		{paths.Histfile, rep.WriteHistfile},
		{paths.SVG, func(w io.Writer) error { return report.WriteSVG(w, rep) }},
	} {
		if f.path == "" {
			continue
		}
		if err := report.WriteFileAtomic(f.path, f.write, 0o644); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(o.Stdout, "wrote %s\n", f.path)
	}
	return errors.Join(errs...)
}
