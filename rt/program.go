package rt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rtcell/rtcell/rt/internal/cpulease"
	"github.com/rtcell/rtcell/rt/internal/telemetry"
	"github.com/rtcell/rtcell/rt/internal/worker"
	"github.com/rtcell/rtcell/rt/load"
	"github.com/rtcell/rtcell/rt/shm"
)

// Exit statuses of Main, and of rtcell's commands: one vocabulary.
const (
	// ExitOK: every task ran to its end, with no deadline miss or overrun.
	ExitOK = 0
	// ExitViolations: the tasks ran, with deadline misses or overruns, or
	// a watchdog fired and the task was restarted.
	ExitViolations = 1
	// ExitConfig: nothing ran, because of the configuration, the program's
	// declarations or missing privileges (including a task whose Setup
	// failed, or a CPU leased by another process).
	ExitConfig = 2
	// ExitFailed: a task died, stalled or did not stop and the watchdog
	// gave up on it, or the non-real-time side failed.
	ExitFailed = 3
	// ExitOutput: the run happened but a report could not be written.
	ExitOutput = 4
)

// Supervision defaults.
const (
	// DefaultStall is the least time without a completed cycle after
	// which a task counts as stalled; a task's limit is the larger of this
	// and 20 periods (Watchdog.Stall overrides it).
	DefaultStall = 2 * time.Second
	// DefaultStopGrace is how long a task has to stop after it was asked
	// to before its worker is killed.
	DefaultStopGrace = 5 * time.Second
	// DefaultMaxRestarts bounds Watchdog.Restart.
	DefaultMaxRestarts = 3
	// watchEvery is the supervisor's polling interval.
	watchEvery = 10 * time.Millisecond
)

// A Program is firmware with real-time tasks and non-real-time code in one
// binary. Run runs each task's loop in a worker process of its own (the
// binary re-executed, with the same arguments, under the RT runtime
// settings) and the non-real-time code in the supervisor process, as
// ordinary Go with any goroutines it likes. The two sides share data only
// through shared regions (process images and rings, see DeclareImage), so
// the non-RT side can never delay a loop.
type Program struct {
	// Tasks are the RT loops, one worker process each.
	Tasks []Task
	// NonRT runs in the supervisor once the workers have started. ctx
	// ends on SIGINT or SIGTERM, and when every task has ended (unless
	// KeepRunning). Run stops the workers when NonRT returns; an error
	// it returns (other than ctx's) makes the run fail with ExitFailed.
	// It may be nil.
	NonRT func(ctx context.Context, sup *Supervisor) error
	// KeepRunning keeps the program, and NonRT, running after every task
	// has ended, until a signal or NonRT returns: for an HMI that shows
	// the final or safe state.
	KeepRunning bool
	// ShareCPUs skips the exclusive lease on the tasks' CPUs. By default
	// Run refuses to start while another rtcell process (a runner, a
	// program, a test) measures on one of them, naming its PID.
	ShareCPUs bool
	// IgnoreMisses makes deadline misses and overruns not count against
	// the exit status (they are still counted in the results).
	IgnoreMisses bool
	// Stdout gets Main's final summary; default os.Stdout. Stderr gets the
	// watchdog's events and the workers' stderr (Run serialises its writes);
	// default os.Stderr.
	Stdout, Stderr io.Writer
	// Worker sets the binary and memory limit of the worker processes;
	// the zero value re-executes this binary. For tests and tools.
	Worker WorkerOptions
	// Trace, when set, arms trace on threshold (see TraceOptions): a
	// private ftrace instance on the tasks' CPUs, frozen by the first
	// cycle whose wake latency exceeds the threshold, then saved and
	// analysed. It needs root.
	Trace *TraceOptions
	// Load runs background load (package rt/load: stress-ng, hackbench)
	// while the tasks run, so firmware can commission itself under load
	// as rteval does: Run starts it once every task's loop runs and stops
	// it on every path before it returns; a SIGKILL of this process ends
	// it too. CPUs nil means every online CPU no task is pinned to; a
	// load CPU that runs a task is refused. Summary.Load records what ran.
	Load *load.Spec
}

// WorkerOptions are the process settings of a Program's workers.
type WorkerOptions struct {
	// Path is the worker binary; default this binary (/proc/self/exe).
	Path string
	// Args are the worker's arguments; default this process's own.
	Args []string
	// MemoryLimit is the worker's GOMEMLIMIT in bytes; default 256 MiB.
	MemoryLimit int64
}

// Task is one RT loop of a Program.
type Task struct {
	// Loop configures the loop; Loop.Name names the task and must be
	// unique.
	Loop LoopOptions
	// Setup builds the cycle function. It runs in the worker process,
	// after the shared regions are mapped and before the loop starts; it
	// may allocate.
	Setup func() (CycleFunc, error)
	// Watchdog says when the supervisor gives up on the task.
	Watchdog Watchdog
	// SafeState runs in the supervisor when the watchdog fires, after the
	// worker was killed: it drives the outputs to a safe state (for
	// example by writing a safe output image). It must not block long.
	SafeState func(ev WatchdogEvent)
}

// Watchdog configures the supervision of a task. Its checks are
// independent; the first that holds fires it.
type Watchdog struct {
	// MaxMisses fires the watchdog after this many deadline misses in a
	// row; 0 turns the check off.
	MaxMisses int
	// Time and Sensitivity are CODESYS's task watchdog: it fires on the
	// Sensitivity-th cycle in a row that took longer than Time, or at
	// once on one cycle that took longer than Sensitivity × Time. A
	// cycle's time is counted from its release (the nominal start) to
	// the end of the cycle function, so a late wake-up counts as well as
	// a long execution; "longer" is strict. Time 0 turns the check off;
	// Sensitivity 0 means 1 (fire on the first cycle over Time). The
	// loop keeps the count itself, so no cycle escapes the check between
	// two looks of the supervisor, which kills the worker within about
	// 10 ms of the cycle that fired it.
	Time        time.Duration
	Sensitivity int
	// Stall fires it when no cycle has completed for this long (a hung
	// cycle function); default the larger of DefaultStall and 20 periods.
	Stall time.Duration
	// Restart starts a new worker after the safe state, up to MaxRestarts
	// times (default DefaultMaxRestarts); otherwise the task stays
	// stopped.
	Restart     bool
	MaxRestarts int
}

func (w Watchdog) stall(period time.Duration) time.Duration {
	if w.Stall > 0 {
		return w.Stall
	}
	return max(DefaultStall, 20*period)
}

// WatchdogEvent says why and when the watchdog fired.
type WatchdogEvent struct {
	Task     string
	Reason   string // "deadline misses", "task watchdog", "stalled", "died"
	Detail   string
	At       time.Time
	Last     *Result // the task's last published statistics
	Restarts int     // restarts so far, this one not included
}

// Summary is the outcome of Run.
type Summary struct {
	// Code is the exit status in the vocabulary above (ExitOK …).
	Code int
	// Tasks are the tasks' outcomes, in Program order.
	Tasks []TaskResult
	// Events are the watchdog's events, in order.
	Events []WatchdogEvent
	// Load is what ran as Program.Load (nil without it): its CPUs and
	// commands, how often each started and why one failed.
	Load *load.Result
}

// TaskResult is one task's outcome.
type TaskResult struct {
	Name string
	// PID is the process ID of the task's last worker.
	PID int
	// Result holds the last worker's final statistics.
	Result *Result
	// Restarts counts the watchdog's restarts.
	Restarts int
	// Failure says why the task failed (died, stalled, did not stop,
	// could not start), or is "" when it ended normally.
	Failure string
	// Trace is the trace-on-threshold outcome; nil without
	// Program.Trace.
	Trace *TraceResult
}

// Run runs the program until its tasks end, NonRT returns, or ctx ends
// (Main passes a context that SIGINT and SIGTERM cancel), and returns the
// tasks' final results and the watchdog's events. The error says why the
// program could not run or failed; Summary.Code holds the exit status
// either way. In a worker process Run runs that worker's loop and exits
// the process instead of returning.
//
// Telemetry blocks stay mapped until the process exits, so the non-RT
// side may read them at any time, also after Run returned.
func Run(ctx context.Context, p Program) (*Summary, error) {
	if worker.IsWorker() {
		os.Exit(serveWorker(p))
	}
	sum := &Summary{Code: ExitConfig}
	if p.Stdout == nil {
		p.Stdout = os.Stdout
	}
	if p.Stderr == nil {
		p.Stderr = os.Stderr
	}
	if _, ok := p.Stderr.(*os.File); !ok {
		// The watchdog and the copiers of the workers' stderr write to it
		// from several goroutines.
		p.Stderr = &lockedWriter{w: p.Stderr}
	}
	if err := p.check(); err != nil {
		return sum, err
	}
	p.Tasks = p.resolveCPUs()
	var loadSpec load.Spec
	if p.Load != nil {
		var err error
		if loadSpec, err = p.loadSpec(); err != nil {
			return sum, err
		}
	}
	if !p.ShareCPUs {
		lease, err := cpulease.Acquire(p.cpus())
		if err != nil {
			return sum, fmt.Errorf("leasing the tasks' CPUs (another rtcell process measures there; share them explicitly to run anyway): %w", err)
		}
		defer lease.Release()
	}
	if err := createRegions(); err != nil {
		return sum, err
	}
	var tr *tracer
	if p.Trace != nil {
		var err error
		if tr, err = openTracer(*p.Trace, p.cpus(), p.Stderr); err != nil {
			return sum, err
		}
		defer tr.close()
	}
	// Retained data (retain.go): load before any worker, save at the end.
	if err := startRetained(p.Stderr); err != nil {
		return sum, err
	}
	defer endRetained(p.Stderr)
	sup := &Supervisor{prog: &p, tasks: make([]*taskState, len(p.Tasks)), tracer: tr}
	for i, t := range p.Tasks {
		sup.tasks[i] = &taskState{task: t}
	}
	for _, ts := range sup.tasks {
		if err := sup.start(ts); err != nil {
			sup.finish()
			sum.Code = ExitFailed
			return sum, err
		}
	}
	var ld *load.Load
	if p.Load != nil {
		sup.waitRunning(ctx)
	}
	if p.Load != nil && ctx.Err() == nil { // after a signal in the wait there is nothing to load
		var err error
		if ld, err = load.Start(loadSpec); err != nil {
			sup.finish()
			sum.Code = ExitFailed
			return sum, fmt.Errorf("starting the load: %w", err)
		}
		defer ld.Stop() // every path; the normal one stops it below, first
	}
	nonRTCtx, cancelNonRT := context.WithCancel(ctx)
	defer cancelNonRT()
	nonRTDone := make(chan error, 1)
	if p.NonRT != nil {
		go func() { nonRTDone <- p.NonRT(nonRTCtx, sup) }()
	}
	end := sup.watch(ctx, nonRTDone)
	var loadErr error
	if ld != nil {
		sum.Load, loadErr = ld.Stop()
	}
	sup.finish()
	if p.NonRT != nil && !end.nonRTReturned {
		cancelNonRT()
		select {
		case end.nonRTErr = <-nonRTDone:
		case <-time.After(DefaultStopGrace):
			end.nonRTErr = fmt.Errorf("did not return within %v of the end", DefaultStopGrace)
		}
	}
	if errors.Is(end.nonRTErr, context.Canceled) {
		end.nonRTErr = nil
	}
	sum, err := sup.summary(sum, end)
	if loadErr != nil && err == nil {
		fmt.Fprintf(p.Stderr, "%s: %v\n", progName(), loadErr) // the tasks' results stand
	}
	sup.traceResults(sum)
	return sum, err
}

// Main runs the program (see Run) with a context that SIGINT and SIGTERM
// cancel, prints each task's final statistics, and exits the process
// with the status Run gives. In a worker process it runs that worker's
// loop instead.
//
// Workers are re-executed with the program's own arguments, so a main
// that parses flags before calling Main parses them the same way in
// both processes; code that must run only once (opening a listening
// socket, say) belongs in NonRT, or behind !IsWorker().
func Main(p Program) {
	if worker.IsWorker() {
		os.Exit(serveWorker(p))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	sum, err := Run(ctx, p)
	stop()
	out := p.Stdout
	if out == nil {
		out = os.Stdout
	}
	for _, t := range sum.Tasks {
		if t.Result != nil && t.Result.Thread.TID != 0 {
			fmt.Fprint(out, t.Result.Text())
		}
	}
	if sum.Load != nil {
		fmt.Fprint(out, loadText(sum.Load))
	}
	if err != nil {
		errOut := p.Stderr
		if errOut == nil {
			errOut = os.Stderr
		}
		fmt.Fprintf(errOut, "%s: %v\n", progName(), err)
	}
	os.Exit(sum.Code)
}

// IsWorker reports whether this process is one of a Program's worker
// processes rather than its supervisor.
func IsWorker() bool { return worker.IsWorker() }

// progName is the running binary's name, for messages.
func progName() string {
	if exe, err := os.Executable(); err == nil {
		return exe
	}
	return os.Args[0]
}

func (p *Program) check() error {
	if len(p.Tasks) == 0 {
		return fmt.Errorf("program has no tasks: %w", ErrInvalid)
	}
	if p.Trace != nil {
		t := *p.Trace
		if err := t.check(); err != nil {
			return err
		}
		p.Trace = &t
	}
	names := map[string]bool{}
	for i, t := range p.Tasks {
		switch {
		case t.Loop.Name == "":
			return fmt.Errorf("task %d has no Loop.Name: %w", i, ErrInvalid)
		case names[t.Loop.Name]:
			return fmt.Errorf("task %q: two tasks have that name: %w", t.Loop.Name, ErrInvalid)
		case t.Setup == nil:
			return fmt.Errorf("task %q has no Setup: %w", t.Loop.Name, ErrInvalid)
		case len(t.Loop.Name) >= telemetry.NameBytes:
			return fmt.Errorf("task %q: name longer than %d bytes: %w", t.Loop.Name, telemetry.NameBytes-1, ErrInvalid)
		}
		names[t.Loop.Name] = true
		if p.Trace != nil && len(t.Loop.Name) > 63 {
			return fmt.Errorf("task %q: name longer than 63 bytes, the limit with trace on threshold: %w", t.Loop.Name, ErrInvalid)
		}
		if wd := t.Watchdog; wd.Time < 0 || wd.Sensitivity < 0 || wd.MaxMisses < 0 || wd.Stall < 0 || wd.MaxRestarts < 0 {
			return fmt.Errorf("task %q: watchdog %+v: negative setting: %w", t.Loop.Name, wd, ErrInvalid)
		}
		lo := t.Loop
		if err := lo.normalize(); err != nil {
			return fmt.Errorf("task %q: %w", t.Loop.Name, err)
		}
	}
	return nil
}

// resolveCPUs returns the tasks with their auto CPUs chosen (see
// ThreadOptions.CPU): tasks on auto take distinct free isolated CPUs
// while there are any, in Program order, then the last online CPU.
func (p *Program) resolveCPUs() []Task {
	tasks := slices.Clone(p.Tasks)
	taken := map[int]bool{}
	for _, t := range tasks {
		if !t.Loop.Thread.auto() {
			taken[t.Loop.Thread.CPU] = true
		}
	}
	for i := range tasks {
		th := &tasks[i].Loop.Thread
		if th.auto() {
			th.CPU, th.Pin = autoCPU(func(c int) bool { return taken[c] }), true
			taken[th.CPU] = true
		}
	}
	return tasks
}

// cpus lists the CPUs the tasks pin their loops to.
func (p *Program) cpus() []int {
	var cpus []int
	for _, t := range p.Tasks {
		if c := t.Loop.Thread.CPU; c >= 0 && !slices.Contains(cpus, c) {
			cpus = append(cpus, c)
		}
	}
	slices.Sort(cpus)
	return cpus
}

// Supervisor is the non-RT side's view of a Program's tasks. Its methods
// are safe for concurrent use.
type Supervisor struct {
	prog *Program

	mu     sync.Mutex
	tasks  []*taskState
	events []WatchdogEvent
	// tracer is the trace instance; nil without Program.Trace.
	tracer *tracer
}

type taskState struct {
	task Task
	// Guarded by Supervisor.mu.
	w        *workerProc
	restarts int
	stopped  bool
	failure  string
	last     *Result
	setupErr error
	gaveUp   bool
	fired    bool
	// breach is the task's first trace breach (noteBreach).
	breach *TraceBreach
}

// TaskInfo is the state of one task, for the non-RT side.
type TaskInfo struct {
	Name     string
	PID      int // 0 while the task is stopped
	Restarts int
	Running  bool
	tel      *telemetry.Block
}

// Snapshot copies the task's live statistics into dst (allocating it
// when nil) and returns it; it returns nil while the task has no worker.
// It never blocks the loop. Snapshots of one task are taken one at a
// time.
func (ti TaskInfo) Snapshot(dst *Snapshot) *Snapshot {
	if ti.tel == nil {
		return nil
	}
	if dst == nil {
		dst = &Snapshot{}
	}
	ti.tel.Snapshot(&dst.s)
	return dst
}

// Tasks returns the state of every task. A restarted task has a new
// worker: call Tasks again rather than keeping a TaskInfo.
func (s *Supervisor) Tasks() []TaskInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TaskInfo, len(s.tasks))
	for i, ts := range s.tasks {
		out[i] = TaskInfo{Name: ts.task.Loop.Name, Restarts: ts.restarts, Running: !ts.stopped}
		if ts.w != nil {
			out[i].tel = ts.w.tel
			if !ts.stopped {
				out[i].PID = ts.w.proc.PID()
			}
		}
	}
	return out
}

// Kill kills a task's worker process at once, as a fault would: the
// watchdog then sees it die. It is for fault injection and tests.
func (s *Supervisor) Kill(task string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ts := range s.tasks {
		if ts.task.Loop.Name == task && ts.w != nil && !ts.stopped {
			return ts.w.proc.Kill()
		}
	}
	return fmt.Errorf("killing task %q: no such running task", task)
}

// ResetStatistics asks a running task's loop to reset its statistics,
// as CODESYS's ResetStatistics does, without stopping it: the latency,
// jitter and execution-time series, the histogram, the worst cycles and
// the counts of deadline misses, overruns, missed releases and
// migrations start again from the loop's next cycle. The cycle count,
// the run of misses in progress (which Watchdog.MaxMisses reads), the
// task watchdog's state and the thread's fault and context-switch
// counters keep going. The loop honours the request between cycles,
// allocation-free; ResetStatistics does not wait for it (a Snapshot
// taken later shows the reset in StatisticsSince).
func (s *Supervisor) ResetStatistics(task string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ts := range s.tasks {
		if ts.task.Loop.Name == task && ts.w != nil && !ts.stopped {
			ts.w.tel.RequestReset()
			return nil
		}
	}
	return fmt.Errorf("resetting the statistics of task %q: no such running task", task)
}

// ResetStatistics asks the task's loop to reset its statistics (see
// Supervisor.ResetStatistics); it does nothing while the task has no
// worker.
func (ti TaskInfo) ResetStatistics() {
	if ti.tel != nil && ti.Running {
		ti.tel.RequestReset()
	}
}

func (s *Supervisor) start(ts *taskState) error {
	files := regionFiles()
	var traceNs int64
	if s.tracer != nil {
		files = append(files, s.tracer.files()...)
		traceNs = int64(s.tracer.opts.Threshold)
	}
	w, err := startWorker(ts.task.Loop, ts.task.Watchdog, traceNs, files, s.prog.Worker, s.prog.Stderr)
	if err != nil {
		return fmt.Errorf("starting task %q: %w", ts.task.Loop.Name, err)
	}
	s.mu.Lock()
	ts.w, ts.stopped = w, false
	s.mu.Unlock()
	return nil
}

// watchEnd says why watch returned.
type watchEnd struct {
	setupErr      error // a task could not start
	nonRTReturned bool
	nonRTErr      error
}

// watch runs until every task has ended (with KeepRunning: and NonRT
// returned), ctx ends or NonRT returns, checking the watchdogs every
// 10 ms.
func (s *Supervisor) watch(ctx context.Context, nonRTDone <-chan error) watchEnd {
	tick := time.NewTicker(watchEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return watchEnd{}
		case err := <-nonRTDone:
			return watchEnd{nonRTReturned: true, nonRTErr: err}
		case <-tick.C:
		}
		running := 0
		for _, ts := range s.tasks {
			s.mu.Lock()
			stopped, setupErr := ts.stopped, ts.setupErr
			s.mu.Unlock()
			if setupErr != nil {
				return watchEnd{setupErr: setupErr}
			}
			if !stopped {
				running++
				s.check(ts)
			}
		}
		if running == 0 && !(s.prog.NonRT != nil && s.prog.KeepRunning) {
			return watchEnd{}
		}
		if s.traceStop() {
			return watchEnd{}
		}
		s.analyseFirst()
	}
}

// check runs one task's watchdog.
func (s *Supervisor) check(ts *taskState) {
	wd := ts.task.Watchdog
	s.mu.Lock()
	w := ts.w
	s.mu.Unlock()
	var reason, detail string
	select {
	case <-w.proc.Done():
		ex, res := w.wait()
		switch {
		case ex.finished:
			s.mu.Lock()
			ts.stopped, ts.last = true, res
			s.mu.Unlock()
			return
		case res.Cycles == 0 && ex.status.Signal == "" && (ex.status.Code == worker.ExitSetup || res.Start.IsZero()):
			// Not a crash: the task cannot run at all (privileges, a
			// bad option, Setup's error, a main that exited before it
			// called Run or Main). Restarting would not help.
			s.mu.Lock()
			ts.stopped, ts.last = true, res
			ts.failure = "could not start: " + ex.String()
			ts.setupErr = fmt.Errorf("task %q could not start: %s", ts.task.Loop.Name, ex)
			s.mu.Unlock()
			return
		}
		reason, detail = "died", ex.String()
	default:
		stall := wd.stall(ts.task.Loop.Period)
		switch {
		case wd.MaxMisses > 0 && w.tel.ConsecutiveMisses() >= uint64(wd.MaxMisses):
			reason, detail = "deadline misses", fmt.Sprintf("%d deadline misses in a row", w.tel.ConsecutiveMisses())
		case wd.Time > 0 && w.tel.WatchdogTripped():
			reason, detail = "task watchdog", w.watchdogDetail(wd)
		case w.stalled(stall):
			reason, detail = "stalled", fmt.Sprintf("no cycle for %v", stall)
		default:
			return
		}
		w.killCounted()
	}
	_, last := w.wait()
	s.mu.Lock()
	ev := WatchdogEvent{Task: ts.task.Loop.Name, Reason: reason, Detail: detail, At: time.Now(), Last: last, Restarts: ts.restarts}
	ts.stopped, ts.last, ts.fired = true, last, true
	s.events = append(s.events, ev)
	s.mu.Unlock()
	fmt.Fprintf(s.prog.Stderr, "watchdog: task %q %s (%s) at %s after %d cycles (pid %d); safe state\n",
		ev.Task, reason, detail, ev.At.Format(time.RFC3339Nano), last.Cycles, w.proc.PID())
	if ts.task.SafeState != nil {
		ts.task.SafeState(ev)
	}
	maxRestarts := wd.MaxRestarts
	if maxRestarts == 0 {
		maxRestarts = DefaultMaxRestarts
	}
	s.mu.Lock()
	restart := wd.Restart && ts.restarts < maxRestarts
	if restart {
		ts.restarts++
	} else {
		ts.gaveUp = true
		ts.failure = fmt.Sprintf("watchdog: %s (%s) at %s, pid %d; last statistics: %s",
			reason, detail, ev.At.Format(time.RFC3339Nano), w.proc.PID(), lastStats(last))
	}
	n := ts.restarts
	s.mu.Unlock()
	if !restart {
		fmt.Fprintf(s.prog.Stderr, "watchdog: task %q stopped\n", ev.Task)
		return
	}
	if err := s.start(ts); err != nil {
		s.mu.Lock()
		ts.gaveUp = true
		ts.failure = fmt.Sprintf("watchdog: restarting after %s: %v", reason, err)
		s.mu.Unlock()
		fmt.Fprintf(s.prog.Stderr, "watchdog: restarting task %q: %v; task stopped\n", ev.Task, err)
		return
	}
	fmt.Fprintf(s.prog.Stderr, "watchdog: task %q restarted (%d of %d)\n", ev.Task, n, maxRestarts)
}

// finish asks every running worker to stop, kills those that do not
// within DefaultStopGrace, and collects the last results.
func (s *Supervisor) finish() {
	s.mu.Lock()
	var run []*taskState
	for _, ts := range s.tasks {
		if ts.w != nil && !ts.stopped {
			run = append(run, ts)
			ts.w.tel.RequestStop()
		}
	}
	s.mu.Unlock()
	deadline := time.After(DefaultStopGrace)
	for _, ts := range run {
		select {
		case <-ts.w.proc.Done():
		case <-deadline:
			ts.w.killCounted()
		}
	}
	for _, ts := range run {
		ex, res := ts.w.wait()
		s.mu.Lock()
		ts.stopped, ts.last = true, res
		if !ex.finished {
			ts.failure = fmt.Sprintf("worker %s (pid %d) did not end its loop: %s; last statistics: %s",
				ts.task.Loop.Name, ts.w.proc.PID(), ex, lastStats(res))
			if ex.status.Signal != "" {
				ts.failure = fmt.Sprintf("did not stop within %v of the stop request (pid %d), killed; last statistics: %s",
					DefaultStopGrace, ts.w.proc.PID(), lastStats(res))
			}
		}
		s.mu.Unlock()
	}
}

// summary fills sum with the final state and decides the exit status.
func (s *Supervisor) summary(sum *Summary, end watchEnd) (*Summary, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum.Code = ExitOK
	sum.Events = slices.Clone(s.events)
	violations, failed := false, false
	for _, ts := range s.tasks {
		tr := TaskResult{Name: ts.task.Loop.Name, Result: ts.last, Restarts: ts.restarts, Failure: ts.failure}
		if ts.w != nil {
			tr.PID = ts.w.proc.PID()
		}
		if tr.Result != nil && (tr.Result.DeadlineMisses > 0 || tr.Result.Overruns > 0) && !s.prog.IgnoreMisses {
			violations = true
		}
		if ts.fired {
			violations = true
		}
		if ts.failure != "" && ts.setupErr == nil {
			failed = true
		}
		sum.Tasks = append(sum.Tasks, tr)
	}
	var err error
	switch {
	case end.setupErr != nil:
		sum.Code, err = ExitConfig, end.setupErr
	case end.nonRTErr != nil:
		sum.Code, err = ExitFailed, fmt.Errorf("non-real-time side: %w", end.nonRTErr)
	case failed:
		sum.Code = ExitFailed
	case violations:
		sum.Code = ExitViolations
	}
	return sum, err
}

func lastStats(r *Result) string {
	if r == nil {
		return "none"
	}
	return fmt.Sprintf("%d cycles, latency min %.1f µs avg %.1f µs max %.1f µs, %d deadline misses",
		r.Cycles, float64(r.Latency.Min)/1e3, float64(r.Latency.Avg)/1e3, float64(r.Latency.Max)/1e3, r.DeadlineMisses)
}

// workerProc is a task's worker process and its telemetry block, seen
// from the supervisor.
type workerProc struct {
	proc *worker.Process
	tel  *telemetry.Block
	// stderr keeps the end of what the worker wrote on its stderr (which
	// also goes on to the program's), for the failure reason.
	stderr *tailWriter
	// killedCounters are the loop thread's counters read just before
	// the supervisor killed the worker, which then cannot publish its own.
	killedCounters *ThreadCounters
}

// killCounted kills the worker, first reading its loop thread's counters
// for the result.
func (w *workerProc) killCounted() {
	var snap Snapshot
	w.tel.Snapshot(&snap.s)
	if c, ok := snap.ThreadCounters(); ok {
		w.killedCounters = &c
	}
	w.proc.Kill()
}

// watchdogDetail says why the task watchdog fired.
func (w *workerProc) watchdogDetail(wd Watchdog) string {
	var snap Snapshot
	w.tel.Snapshot(&snap.s)
	h := &snap.s.H
	d := time.Duration(h.WdTripNs)
	sens := max(wd.Sensitivity, 1)
	if h.WdTripOver >= uint64(sens) {
		return fmt.Sprintf("%d cycles in a row longer than %v, the last %v (cycle %d)", h.WdTripOver, wd.Time, d, h.WdTripCycle)
	}
	return fmt.Sprintf("cycle %d took %v, more than %d × %v", h.WdTripCycle, d, sens, wd.Time)
}

// startWorker starts a worker process for the loop lo, watched by wd,
// with its telemetry block on fd 3 and files from fd 4 on.
func startWorker(lo LoopOptions, wd Watchdog, traceNs int64, files []*os.File, wo WorkerOptions, stderr io.Writer) (*workerProc, error) {
	if err := lo.normalize(); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(lo)
	if err != nil {
		return nil, fmt.Errorf("encoding the loop options: %w", err)
	}
	tel, f, err := telemetry.NewShared(lo.HistogramUS)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if wd.Time > 0 {
		tel.SetWatchdog(int64(wd.Time), uint64(max(wd.Sensitivity, 1)))
	}
	if traceNs > 0 {
		tel.SetTraceThreshold(traceNs)
	}
	if stderr == nil {
		stderr = os.Stderr
	}
	tail := newTailWriter(stderrTailBytes)
	proc, err := worker.Start(worker.Spec{Task: lo.Name, Loop: raw}, worker.Options{
		Path:        wo.Path,
		Args:        wo.Args,
		MemoryLimit: wo.MemoryLimit,
		Stderr:      io.MultiWriter(stderr, tail),
		Files:       append([]*os.File{f}, files...),
	})
	if err != nil {
		tel.Close()
		return nil, err
	}
	return &workerProc{proc: proc, tel: tel, stderr: tail}, nil
}

// stalled reports whether the worker's loop has published nothing for
// longer than limit while still running.
func (w *workerProc) stalled(limit time.Duration) bool {
	last, done := w.tel.Heartbeat()
	return !done && last != 0 && nanotime()-last > int64(limit)
}

// workerExit is how a worker process ended.
type workerExit struct {
	status   worker.Status
	err      string // the worker's own error report, if any
	finished bool   // the loop reached its end and published it
}

func (e workerExit) String() string {
	if e.err != "" && e.status.Signal == "" {
		return fmt.Sprintf("exit code %d: %s", e.status.Code, e.err)
	}
	return e.status.String()
}

// wait waits for the worker process to exit and returns how it ended and
// its final statistics, read from the shared block. After a crash the
// statistics are the last the worker published (Result.Torn if it died
// in the middle of an update).
func (w *workerProc) wait() (workerExit, *Result) {
	st := w.proc.Wait()
	var snap Snapshot
	w.tel.Snapshot(&snap.s)
	e := workerExit{status: st, err: snap.Err(), finished: snap.Done() && snap.Err() == "" && st.Signal == ""}
	e.err = failureReason(e.err, e.finished, st.Code, w.stderr.String())
	res := snap.Result()
	if snap.s.H.Counted == 0 && w.killedCounters != nil {
		res.ThreadCounters = *w.killedCounters
	}
	return e, res
}

// failureReason is the worker's own reason for failing: the error it
// published, whole (the published copy is cut at 2 KiB, its stderr has
// all of it), or, when it exited without publishing one (a main that
// exited before Run, say), the end of its stderr.
func failureReason(published string, finished bool, code int, stderrTail string) string {
	if cut, ok := strings.CutSuffix(published, telemetry.CutNote); ok {
		if i := strings.Index(stderrTail, cut); i >= 0 {
			line, _, _ := strings.Cut(stderrTail[i:], "\n")
			return line
		}
		return published
	}
	if published != "" || finished || code <= 0 {
		return published
	}
	tail := strings.TrimSpace(stderrTail)
	if tail == "" {
		return "the worker exited before its loop ran, with nothing on its stderr"
	}
	return "the worker exited before its loop ran; its stderr ended:\n" + tail
}

// serveWorker runs, in a worker process, the task its supervisor asked
// for, publishing into the telemetry block on fd 3, and returns the
// worker's exit code: 0 when the loop ran, worker.ExitSetup when it could
// not start (the reason is in the block and on stderr),
// worker.ExitFailed otherwise. SIGINT is ignored (the supervisor
// decides); SIGTERM stops the loop after its current cycle.
func serveWorker(p Program) int {
	f := os.NewFile(worker.FirstFD, "telemetry")
	tel, err := telemetry.Open(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s worker: %v\n", progName(), err)
		return worker.ExitSetup
	}
	spec, err := worker.ReadSpec()
	fail := func(code int, err error) int {
		tel.SetError(err.Error())
		fmt.Fprintf(os.Stderr, "%s worker %q: %v\n", progName(), spec.Task, err)
		return code
	}
	if err != nil {
		return fail(worker.ExitSetup, err)
	}
	var lo LoopOptions
	if err := json.Unmarshal(spec.Loop, &lo); err != nil {
		return fail(worker.ExitSetup, fmt.Errorf("decoding the loop options: %w", err))
	}
	i := slices.IndexFunc(p.Tasks, func(t Task) bool { return t.Loop.Name == spec.Task })
	if i < 0 || p.Tasks[i].Setup == nil {
		return fail(worker.ExitNoTask, fmt.Errorf("this binary's program has no task %q (supervisor and worker binaries differ, or the program's tasks depend on something that changed)", spec.Task))
	}
	if err := attachRegions(); err != nil {
		return fail(worker.ExitSetup, err)
	}
	fn, err := p.Tasks[i].Setup()
	if err != nil {
		return fail(worker.ExitSetup, fmt.Errorf("task setup: %w", err))
	}
	if fn == nil {
		return fail(worker.ExitSetup, fmt.Errorf("task setup returned a nil cycle function: %w", ErrInvalid))
	}
	loop, err := newLoop(lo, fn, tel)
	if err != nil {
		return fail(worker.ExitSetup, err)
	}
	if err := armTrace(loop, spec.Task, len(regionFiles())); err != nil {
		return fail(worker.ExitSetup, err)
	}
	signal.Ignore(syscall.SIGINT)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	parked := make(chan struct{})
	go func() {
		// Blocked in the runtime until a signal comes: no work, so it does
		// not disturb the loop. It runs at the loop's next yield.
		close(parked)
		<-term
		loop.Stop()
	}()
	// Let this goroutine and os/signal's reach their blocking points
	// now: their first run allocates, and must not fall into the loop.
	<-parked
	for range 3 {
		runtime.Gosched()
	}
	if _, err := loop.Run(); err != nil {
		code := worker.ExitFailed
		if errors.Is(err, ErrPermission) || errors.Is(err, ErrRuntimeSettings) || errors.Is(err, ErrInvalid) {
			code = worker.ExitSetup
		}
		return fail(code, err)
	}
	return worker.ExitOK
}

// Region is a shared-memory region declared by a Program. Declare regions
// at package level (DeclareImage, DeclareRing, DeclareRegion) so that the
// supervisor and the workers, which run the same binary, declare the same
// regions in the same order.
type Region struct {
	name string
	size int
	r    *shm.Region
	f    *os.File
	// create lays out the region in the supervisor; attach checks and
	// opens it in a worker.
	create, attach func(*shm.Region) error
}

var (
	regionsMu sync.Mutex
	regions   []*Region
	attached  bool
)

// DeclareRegion declares a raw shared region of size bytes. Call it from a
// package-level var initialiser, before Run. Most programs use
// DeclareImage and DeclareRing instead. It panics if size is not
// positive.
func DeclareRegion(name string, size int) *Region {
	if size <= 0 {
		declPanic("region", name, fmt.Errorf("size %d must be positive: %w", size, ErrInvalid))
	}
	return declareRegion(name, size, nil, nil)
}

// declPanic stops a program whose declaration can never work, at
// start-up, before anything runs: the error names the region and says
// why (for a type, which field and what kind it is).
func declPanic(what, name string, err error) {
	panic(fmt.Errorf("rt: declaring %s %q: %w", what, name, err))
}

func declareRegion(name string, size int, create, attach func(*shm.Region) error) *Region {
	regionsMu.Lock()
	defer regionsMu.Unlock()
	if attached {
		panic("rt: shared region " + strconv.Quote(name) + " declared after rt.Run started")
	}
	r := &Region{name: name, size: size, create: create, attach: attach}
	regions = append(regions, r)
	return r
}

// Shared returns the mapped region. It is nil before Run has created or
// attached the regions.
func (r *Region) Shared() *shm.Region { return r.r }

// Name is the name the region was declared with.
func (r *Region) Name() string { return r.name }

// SharedImage is a process image declared at package level: a typed,
// fixed-size value exchanged between the RT task and the non-RT side.
type SharedImage[T any] struct {
	reg *Region
	img *shm.Image[T]
}

// DeclareImage declares a shared process image of type T (pointer-free,
// fixed size; see shm.NewImage). Declare it in a package-level var. It
// panics, when the package is initialised, if T cannot be placed in
// shared memory: the error (a *shm.TypeError) names the type, the path
// of the field and its kind (pointer, string, slice, map, interface,
// func, chan, uintptr). Use fixed-size arrays ([16]byte for a name)
// instead.
func DeclareImage[T any](name string) *SharedImage[T] {
	if err := shm.CheckType[T](); err != nil {
		declPanic("image", name, err)
	}
	s := &SharedImage[T]{}
	s.reg = declareRegion(name, shm.ImageSize[T](),
		func(r *shm.Region) (err error) { s.img, err = shm.NewImage[T](r); return err },
		func(r *shm.Region) (err error) { s.img, err = shm.OpenImage[T](r); return err })
	return s
}

// Image returns the image, on either side, once Run has set it up (in
// Task.Setup, in NonRT); nil before.
func (s *SharedImage[T]) Image() *shm.Image[T] { return s.img }

// SharedRing is a single-producer single-consumer ring declared at
// package level, for streams between the RT task and the non-RT side.
type SharedRing[T any] struct {
	reg  *Region
	ring *shm.Ring[T]
}

// DeclareRing declares a shared ring of capacity items of type T with the
// given policy when full (see shm.NewRing). Declare it in a package-level
// var. It panics, when the package is initialised, if T cannot be placed
// in shared memory (as DeclareImage does), if capacity is not a power of
// two between 1 and shm.MaxRingCapacity or if p is not a policy.
func DeclareRing[T any](name string, capacity int, p shm.Policy) *SharedRing[T] {
	if err := shm.CheckType[T](); err != nil {
		declPanic("ring", name, err)
	}
	if shm.RingSize[T](capacity) == 0 {
		declPanic("ring", name, fmt.Errorf("capacity %d is not a power of two between 1 and %d: %w", capacity, shm.MaxRingCapacity, ErrInvalid))
	}
	if p != shm.DropNewest && p != shm.OverwriteOldest {
		declPanic("ring", name, fmt.Errorf("unknown policy %v (use shm.DropNewest or shm.OverwriteOldest): %w", p, ErrInvalid))
	}
	s := &SharedRing[T]{}
	s.reg = declareRegion(name, shm.RingSize[T](capacity),
		func(r *shm.Region) (err error) { s.ring, err = shm.NewRing[T](r, capacity, p); return err },
		func(r *shm.Region) (err error) { s.ring, err = shm.OpenRing[T](r); return err })
	return s
}

// Ring returns the ring, on either side, once Run has set it up; nil
// before.
func (s *SharedRing[T]) Ring() *shm.Ring[T] { return s.ring }

// firstRegionFD is the worker's fd of the first region: the telemetry
// block comes first.
const firstRegionFD = worker.FirstFD + 1

// createRegions creates every declared region in the supervisor (once:
// later calls, as from a second Run in one process, reuse them).
func createRegions() error {
	regionsMu.Lock()
	defer regionsMu.Unlock()
	attached = true
	for _, d := range regions {
		if d.r != nil {
			continue
		}
		r, f, err := shm.NewRegion(d.name, d.size)
		if err != nil {
			return err // it names the region
		}
		d.r, d.f = r, f
		if d.create != nil {
			if err := d.create(r); err != nil {
				return fmt.Errorf("laying out shared region %q: %w", d.name, err)
			}
		}
	}
	return nil
}

// attachRegions maps, in a worker, the regions its supervisor passed.
func attachRegions() error {
	regionsMu.Lock()
	defer regionsMu.Unlock()
	attached = true
	for i, d := range regions {
		f := os.NewFile(uintptr(firstRegionFD+i), d.name)
		r, err := shm.OpenRegion(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("mapping shared region %q from fd %d: %w", d.name, firstRegionFD+i, err)
		}
		if len(r.Bytes()) < d.size {
			return fmt.Errorf("shared region %q is %d bytes, want %d: supervisor and worker binaries differ", d.name, len(r.Bytes()), d.size)
		}
		d.r = r
		if d.attach != nil {
			if err := d.attach(r); err != nil {
				return fmt.Errorf("opening shared region %q: %w", d.name, err)
			}
		}
	}
	return nil
}

func regionFiles() []*os.File {
	regionsMu.Lock()
	defer regionsMu.Unlock()
	fs := make([]*os.File, len(regions))
	for i, d := range regions {
		fs[i] = d.f
	}
	return fs
}

// trimLines splits text into its non-empty lines.
func trimLines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
