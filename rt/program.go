package rt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rtcell/rtcell/rt/shm"
)

// A Program is firmware with real-time tasks and non-real-time code in one
// binary. Main runs each task's loop in a worker process of its own (the
// binary re-executed with the RT runtime settings) and the non-real-time
// code in the supervisor process, as ordinary Go with any goroutines it
// likes. The two sides share data only through shared regions (process
// images and rings, package shm), so the non-RT side can never delay a
// loop.
type Program struct {
	// Tasks are the RT loops, one worker process each.
	Tasks []Task
	// NonRT runs in the supervisor once the workers have started. Main
	// stops the workers when it returns or when ctx ends (SIGINT, SIGTERM).
	// It may be nil.
	NonRT func(ctx context.Context, sup *Supervisor) error
	// Stdout gets Main's own messages (watchdog events, the final
	// summary); default os.Stdout.
	Stdout io.Writer
}

// Task is one RT loop of a Program.
type Task struct {
	// Loop configures the loop; Loop.Name names the task and must be
	// unique. Loop.Telemetry is ignored.
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

// Watchdog configures the supervision of a task.
type Watchdog struct {
	// MaxMisses fires the watchdog after this many deadline misses in a
	// row; 0 turns the check off.
	MaxMisses int
	// Stall fires it when no cycle has completed for this long (a hung
	// cycle function); default the larger of 1 s and 20 periods.
	Stall time.Duration
	// Restart starts a new worker after the safe state, up to MaxRestarts
	// times (default 3); otherwise the task stays stopped.
	Restart     bool
	MaxRestarts int
}

// WatchdogEvent says why and when the watchdog fired.
type WatchdogEvent struct {
	Task     string
	Reason   string // "deadline misses", "stalled", "died"
	Detail   string
	At       time.Time
	Last     *Result // the task's last published statistics
	Restarts int     // restarts so far, this one not included
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
// package-level var initialiser, before Main. Most programs use
// DeclareImage and DeclareRing instead.
func DeclareRegion(name string, size int) *Region {
	return declareRegion(name, size, nil, nil)
}

func declareRegion(name string, size int, create, attach func(*shm.Region) error) *Region {
	regionsMu.Lock()
	defer regionsMu.Unlock()
	if attached {
		panic("rt: shared region " + strconv.Quote(name) + " declared after rt.Main started")
	}
	r := &Region{name: name, size: size, create: create, attach: attach}
	regions = append(regions, r)
	return r
}

// Region returns the mapped region. It is nil before Main has created or
// attached the regions.
func (r *Region) Region() *shm.Region { return r.r }

// Name is the name the region was declared with.
func (r *Region) Name() string { return r.name }

// SharedImage is a process image declared at package level: a typed,
// fixed-size value exchanged between the RT task and the non-RT side.
type SharedImage[T any] struct {
	reg *Region
	img *shm.Image[T]
}

// DeclareImage declares a shared process image of type T (pointer-free,
// fixed size; see shm.NewImage). Declare it in a package-level var.
func DeclareImage[T any](name string) *SharedImage[T] {
	s := &SharedImage[T]{}
	s.reg = declareRegion(name, shm.ImageSize[T](),
		func(r *shm.Region) (err error) { s.img, err = shm.NewImage[T](r); return err },
		func(r *shm.Region) (err error) { s.img, err = shm.OpenImage[T](r); return err })
	return s
}

// Image returns the image, on either side, once Main has set it up (in
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
// var.
func DeclareRing[T any](name string, capacity int, p shm.Policy) *SharedRing[T] {
	s := &SharedRing[T]{}
	s.reg = declareRegion(name, shm.RingSize[T](capacity),
		func(r *shm.Region) (err error) { s.ring, err = shm.NewRing[T](r, capacity, p); return err },
		func(r *shm.Region) (err error) { s.ring, err = shm.OpenRing[T](r); return err })
	return s
}

// Ring returns the ring, on either side, once Main has set it up; nil
// before.
func (s *SharedRing[T]) Ring() *shm.Ring[T] { return s.ring }

// firstRegionFD is the worker's fd of the first region: fd 3 is the
// telemetry block.
const firstRegionFD = workerTelemetryFD + 1

// createRegions creates every declared region in the supervisor.
func createRegions() error {
	regionsMu.Lock()
	defer regionsMu.Unlock()
	attached = true
	for _, d := range regions {
		r, f, err := shm.NewRegion(d.name, d.size)
		if err != nil {
			return fmt.Errorf("creating shared region %q: %w", d.name, err)
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

// Main runs the program and exits the process: 0 when every task ended
// normally, 1 when a watchdog fired, 2 when the program or a task could
// not start (a task whose worker fails to set up is not restarted). It
// runs until the tasks end (or, with a NonRT function, until that
// returns) or a SIGINT or SIGTERM. Telemetry blocks stay mapped until the
// process exits, so the non-RT side may read them at any time. In a
// worker process Main runs that worker's loop instead.
func Main(p Program) {
	if IsWorker() {
		roles := make(map[string]RoleFunc, len(p.Tasks))
		for _, t := range p.Tasks {
			setup := t.Setup
			roles[t.Loop.Name] = func(*WorkerSpec) (CycleFunc, error) {
				if err := attachRegions(); err != nil {
					return nil, err
				}
				return setup()
			}
		}
		ServeWorker(roles)
	}
	os.Exit(runProgram(p))
}

func runProgram(p Program) int {
	out := p.Stdout
	if out == nil {
		out = os.Stdout
	}
	names := map[string]bool{}
	for _, t := range p.Tasks {
		if t.Loop.Name == "" || names[t.Loop.Name] || t.Setup == nil {
			fmt.Fprintf(os.Stderr, "rt.Main: task %q: every task needs a unique Loop.Name and a Setup\n", t.Loop.Name)
			return 2
		}
		names[t.Loop.Name] = true
	}
	if err := createRegions(); err != nil {
		fmt.Fprintf(os.Stderr, "rt.Main: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sup := &Supervisor{out: out, tasks: make([]*taskState, len(p.Tasks))}
	for i, t := range p.Tasks {
		sup.tasks[i] = &taskState{task: t}
		if err := sup.start(sup.tasks[i]); err != nil {
			fmt.Fprintf(os.Stderr, "rt.Main: %v\n", err)
			sup.stopAll()
			return 2
		}
	}
	nonRTDone := make(chan error, 1)
	if p.NonRT != nil {
		go func() { nonRTDone <- p.NonRT(ctx, sup) }()
	}
	code := sup.watch(ctx, nonRTDone, p.NonRT != nil)
	if p.NonRT != nil && ctx.Err() != nil {
		// Stopped by a signal: give the non-RT side, which saw ctx end
		// too, a moment to finish (its summary, its connections).
		select {
		case <-nonRTDone:
		case <-time.After(5 * time.Second):
		}
	}
	for _, ts := range sup.tasks {
		if ts.last != nil && ts.last.Thread.TID != 0 {
			fmt.Fprint(out, ts.last.Text())
		}
	}
	return code
}

// Supervisor is the non-RT side's view of a Program's tasks.
type Supervisor struct {
	out      io.Writer
	mu       sync.Mutex
	tasks    []*taskState
	fired    bool
	setupErr error
}

type taskState struct {
	task     Task
	w        *Worker
	restarts int
	stopped  bool
	last     *Result
	snap     Snapshot
}

// TaskInfo is the state of one task, for the non-RT side.
type TaskInfo struct {
	Name      string
	PID       int
	Telemetry *Telemetry // nil while the task is stopped
	Restarts  int
	Running   bool
}

// Tasks returns the state of every task. Telemetry pointers change when a
// task restarts: call Tasks again rather than keeping them.
func (s *Supervisor) Tasks() []TaskInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TaskInfo, len(s.tasks))
	for i, ts := range s.tasks {
		out[i] = TaskInfo{Name: ts.task.Loop.Name, Restarts: ts.restarts, Running: !ts.stopped}
		if ts.w != nil && !ts.stopped {
			out[i].PID, out[i].Telemetry = ts.w.PID(), ts.w.Telemetry()
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
		if ts.task.Loop.Name == task && ts.w != nil {
			return ts.w.Kill()
		}
	}
	return fmt.Errorf("killing task %q: no such running task", task)
}

func (s *Supervisor) start(ts *taskState) error {
	w, err := StartWorker(WorkerSpec{Loop: ts.task.Loop, Role: ts.task.Loop.Name},
		WorkerOptions{ExtraFiles: regionFiles()})
	if err != nil {
		return fmt.Errorf("starting task %q: %w", ts.task.Loop.Name, err)
	}
	s.mu.Lock()
	ts.w, ts.stopped = w, false
	s.mu.Unlock()
	return nil
}

func (s *Supervisor) stopAll() {
	s.mu.Lock()
	ws := make([]*Worker, 0, len(s.tasks))
	for _, ts := range s.tasks {
		if ts.w != nil && !ts.stopped {
			ws = append(ws, ts.w)
		}
	}
	s.mu.Unlock()
	for _, w := range ws {
		w.Stop()
	}
	for _, w := range ws {
		select {
		case <-w.Done():
		case <-time.After(5 * time.Second):
			w.Kill()
		}
	}
}

// watch runs until every task has ended, ctx ends or the non-RT side
// returns, checking the watchdogs every 10 ms.
func (s *Supervisor) watch(ctx context.Context, nonRTDone <-chan error, hasNonRT bool) int {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return s.finish()
		case err := <-nonRTDone:
			if err != nil && !errors.Is(err, context.Canceled) {
				fmt.Fprintf(os.Stderr, "rt.Main: non-real-time side: %v\n", err)
			}
			return s.finish()
		case <-tick.C:
		}
		running := 0
		for _, ts := range s.tasks {
			if ts.stopped {
				continue
			}
			running++
			s.check(ts)
		}
		s.mu.Lock()
		setupErr := s.setupErr
		s.mu.Unlock()
		if setupErr != nil {
			fmt.Fprintf(os.Stderr, "rt.Main: %v\n", setupErr)
			s.finish()
			return 2
		}
		// With a non-RT side (an HMI, say) the program lives on after its
		// tasks stopped, to show their final or safe state.
		if running == 0 && !hasNonRT {
			return s.finish()
		}
	}
}

// check runs one task's watchdog.
func (s *Supervisor) check(ts *taskState) {
	wd := ts.task.Watchdog
	w := ts.w
	var reason, detail string
	select {
	case <-w.Done():
		exit, res := w.Wait()
		if exit.Finished {
			s.mu.Lock()
			ts.stopped, ts.last = true, res
			s.mu.Unlock()
			return
		}
		if exit.Code == WorkerExitSetup && res.Cycles == 0 {
			// Not a crash: the task cannot run at all (privileges, a
			// bad option, Setup's error). Restarting would not help.
			s.mu.Lock()
			ts.stopped, s.setupErr = true, fmt.Errorf("task %q could not start: %s", ts.task.Loop.Name, exit.Err)
			s.mu.Unlock()
			return
		}
		reason, detail = "died", exit.String()
	default:
		stall := wd.Stall
		if stall == 0 {
			stall = max(time.Second, 20*ts.task.Loop.Period)
		}
		w.Telemetry().Snapshot(&ts.snap)
		switch {
		case wd.MaxMisses > 0 && ts.snap.ConsecutiveMisses() >= uint64(wd.MaxMisses):
			reason, detail = "deadline misses", fmt.Sprintf("%d deadline misses in a row", ts.snap.ConsecutiveMisses())
		case w.Stalled(stall):
			reason, detail = "stalled", fmt.Sprintf("no cycle for %v", stall)
		default:
			return
		}
		w.Kill()
	}
	_, last := w.Wait()
	// The block stays mapped until the process exits: the non-RT side
	// may still be reading it (Tasks, metrics).
	ev := WatchdogEvent{Task: ts.task.Loop.Name, Reason: reason, Detail: detail, At: time.Now(), Last: last, Restarts: ts.restarts}
	s.mu.Lock()
	ts.stopped, ts.last, s.fired = true, last, true
	s.mu.Unlock()
	fmt.Fprintf(s.out, "watchdog: task %q %s (%s) at %s after %d cycles; safe state\n",
		ev.Task, reason, detail, ev.At.Format(time.RFC3339Nano), last.Cycles)
	if ts.task.SafeState != nil {
		ts.task.SafeState(ev)
	}
	maxRestarts := wd.MaxRestarts
	if maxRestarts == 0 {
		maxRestarts = 3
	}
	if wd.Restart && ts.restarts < maxRestarts {
		ts.restarts++
		if err := s.start(ts); err != nil {
			fmt.Fprintf(s.out, "watchdog: restarting task %q: %v; task stopped\n", ev.Task, err)
			return
		}
		fmt.Fprintf(s.out, "watchdog: task %q restarted (%d of %d)\n", ev.Task, ts.restarts, maxRestarts)
		return
	}
	fmt.Fprintf(s.out, "watchdog: task %q stopped\n", ev.Task)
}

// finish stops every worker and collects the last results.
func (s *Supervisor) finish() int {
	s.stopAll()
	for _, ts := range s.tasks {
		if ts.w != nil && !ts.stopped {
			_, res := ts.w.Wait()
			ts.stopped, ts.last = true, res
		}
	}
	if s.fired {
		return 1
	}
	return 0
}
