package rt

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// An RT loop must own its process: in a GOMAXPROCS=1, asyncpreemptoff=1
// process any other goroutine that does work delays the loop by
// milliseconds or freezes it (NOTES.md). So a program that has non-real-
// time work too (reporting, network, HMI) runs each loop in a worker
// process of its own: the same binary, re-executed with the RT runtime
// settings, talking to its supervisor through a shared telemetry block
// only.
//
// The supervisor calls StartWorker. The worker binary calls ServeWorker
// first thing in main; in a worker process it never returns.

const (
	envWorkerSpec     = "RTCELL_WORKER_SPEC"
	workerTelemetryFD = 3 // first of exec.Cmd.ExtraFiles
)

// Worker exit codes.
const (
	WorkerExitOK      = 0
	WorkerExitSetup   = 2 // bad spec, permission or runtime settings
	WorkerExitFailed  = 3 // anything else
	workerExitNoRoles = 4
)

// WorkerSpec says what a worker process runs.
type WorkerSpec struct {
	// Loop is the loop's options (Telemetry is ignored: the worker uses
	// the shared block).
	Loop LoopOptions `json:"loop"`
	// Role names the cycle function, among those the worker binary passes
	// to ServeWorker.
	Role string `json:"role"`
	// Payload is passed to the role unchanged, e.g. a workload description.
	Payload json.RawMessage `json:"payload,omitempty"`
}

// RoleFunc builds the cycle function for a worker from its spec. It runs
// in the worker process before the loop starts; it may allocate.
type RoleFunc func(spec *WorkerSpec) (CycleFunc, error)

// IsWorker reports whether this process was started by StartWorker.
func IsWorker() bool { return os.Getenv(envWorkerSpec) != "" }

// ServeWorker returns at once in a process that is not a worker. In a
// worker it runs the loop its supervisor asked for, with the cycle
// function roles[spec.Role] builds, publishing into the shared telemetry
// block, and exits the process: 0 when the loop ran, WorkerExitSetup when
// it could not start (the reason is in the telemetry block and on
// stderr), WorkerExitFailed otherwise. SIGINT is ignored (the supervisor
// decides); SIGTERM stops the loop after its current cycle.
func ServeWorker(roles map[string]RoleFunc) {
	raw := os.Getenv(envWorkerSpec)
	if raw == "" {
		return
	}
	os.Exit(serveWorker(raw, roles))
}

func serveWorker(raw string, roles map[string]RoleFunc) int {
	f := os.NewFile(workerTelemetryFD, "telemetry")
	tel, err := OpenTelemetry(f)
	if err != nil {
		fmt.Fprintf(os.Stderr, "rtcell worker: opening the telemetry block on fd %d: %v\n", workerTelemetryFD, err)
		return WorkerExitSetup
	}
	f.Close()
	fail := func(code int, err error) int {
		tel.setError(err.Error())
		fmt.Fprintf(os.Stderr, "rtcell worker: %v\n", err)
		return code
	}
	var spec WorkerSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		return fail(WorkerExitSetup, fmt.Errorf("decoding the worker spec: %w", err))
	}
	build, ok := roles[spec.Role]
	if !ok {
		return fail(workerExitNoRoles, fmt.Errorf("worker role %q is not served by this binary", spec.Role))
	}
	fn, err := build(&spec)
	if err != nil {
		return fail(WorkerExitSetup, fmt.Errorf("building role %q: %w", spec.Role, err))
	}
	spec.Loop.Telemetry = tel
	loop, err := NewLoop(spec.Loop, fn)
	if err != nil {
		return fail(WorkerExitSetup, err)
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
		code := WorkerExitFailed
		if errors.Is(err, ErrPermission) || errors.Is(err, ErrRuntimeSettings) || errors.Is(err, ErrInvalid) {
			code = WorkerExitSetup
		}
		return fail(code, err)
	}
	return WorkerExitOK
}

// WorkerOptions are the process-level options of StartWorker.
type WorkerOptions struct {
	// Path is the binary to run; default /proc/self/exe (this binary).
	Path string
	// Args are the worker's arguments after argv[0].
	Args []string
	// Env is added to the worker's environment (after os.Environ and the
	// RT runtime settings).
	Env []string
	// Stdout and Stderr receive the worker's output; nil discards stdout
	// and sends stderr to this process's stderr.
	Stdout, Stderr io.Writer
	// MemoryLimit is the worker's GOMEMLIMIT; default DefaultMemoryLimit.
	MemoryLimit int64
	// ExtraFiles are passed to the worker after the telemetry block, as
	// fds 4, 5, …: shared regions (see Program).
	ExtraFiles []*os.File
}

// Worker is a running worker process, seen from its supervisor.
type Worker struct {
	Spec WorkerSpec
	cmd  *exec.Cmd
	tel  *Telemetry
	done chan struct{}

	mu       sync.Mutex
	state    *os.ProcessState
	waitErr  error
	exitedAt time.Time
}

// StartWorker starts a worker process for spec: this binary (or
// o.Path) re-executed with GOMAXPROCS=1, GODEBUG=asyncpreemptoff=1,
// GOGC=off and a memory limit, the spec in its environment and a shared
// telemetry block on fd 3. The worker runs in its own process group, so a
// terminal's Ctrl-C reaches only the supervisor, which stops workers with
// Stop; if the supervisor dies, the kernel sends the worker SIGTERM.
func StartWorker(spec WorkerSpec, o WorkerOptions) (*Worker, error) {
	// Check the loop options here, where the error is easy to report.
	check := spec.Loop
	check.Telemetry = nil
	if err := check.normalize(); err != nil {
		return nil, fmt.Errorf("starting worker %q: %w", spec.Loop.Name, err)
	}
	spec.Loop = check
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("starting worker %q: encoding its spec: %w", spec.Loop.Name, err)
	}
	tel, f, err := NewSharedTelemetry(spec.Loop.HistogramUS)
	if err != nil {
		return nil, fmt.Errorf("starting worker %q: %w", spec.Loop.Name, err)
	}
	defer f.Close()
	path := o.Path
	if path == "" {
		path = "/proc/self/exe"
	}
	cmd := exec.Command(path, o.Args...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(RTEnviron(os.Environ(), o.MemoryLimit), o.Env...)
	cmd.Env = append(cmd.Env, envWorkerSpec+"="+string(raw))
	cmd.ExtraFiles = append([]*os.File{f}, o.ExtraFiles...)
	cmd.Stdout = o.Stdout
	cmd.Stderr = o.Stderr
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	cmd.SysProcAttr = workerSysProcAttr()
	if err := cmd.Start(); err != nil {
		tel.Close()
		return nil, fmt.Errorf("starting worker %q: %w", spec.Loop.Name, err)
	}
	w := &Worker{Spec: spec, cmd: cmd, tel: tel, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		w.mu.Lock()
		w.state, w.waitErr, w.exitedAt = cmd.ProcessState, err, time.Now()
		w.mu.Unlock()
		close(w.done)
	}()
	return w, nil
}

// PID is the worker's process ID.
func (w *Worker) PID() int { return w.cmd.Process.Pid }

// Telemetry is the shared block the worker publishes to.
func (w *Worker) Telemetry() *Telemetry { return w.tel }

// Stop asks the worker's loop to stop after its current cycle, through
// shared memory. The worker then exits on its own.
func (w *Worker) Stop() { w.tel.RequestStop() }

// Kill kills the worker process at once.
func (w *Worker) Kill() error { return w.cmd.Process.Kill() }

// Done is closed when the worker process has exited.
func (w *Worker) Done() <-chan struct{} { return w.done }

// Stalled reports whether the worker's loop has published nothing for
// longer than limit while still running: the watchdog's test.
func (w *Worker) Stalled(limit time.Duration) bool {
	last, done := w.tel.Heartbeat()
	return !done && last != 0 && nanotime()-last > int64(limit)
}

// Exit describes how a worker process ended.
type Exit struct {
	Code     int       // exit code, or -1 when killed by a signal
	Signal   string    // the signal that killed it, if any
	At       time.Time // when the supervisor saw it exit
	Err      string    // the worker's own error report, if any
	Finished bool      // the loop reached its end and published it
}

// String says how the worker ended, in words.
func (e Exit) String() string {
	switch {
	case e.Signal != "":
		return fmt.Sprintf("killed by signal %s at %s", e.Signal, e.At.Format(time.RFC3339Nano))
	case e.Err != "":
		return fmt.Sprintf("exit code %d: %s", e.Code, e.Err)
	default:
		return fmt.Sprintf("exit code %d", e.Code)
	}
}

// Wait waits for the worker process to exit and returns how it ended and
// its final statistics, read from the shared block. After a crash the
// statistics are the last the worker published (Result.Torn if it died in
// the middle of an update).
func (w *Worker) Wait() (Exit, *Result) {
	<-w.done
	w.mu.Lock()
	st, at := w.state, w.exitedAt
	w.mu.Unlock()
	snap := w.tel.Snapshot()
	e := Exit{Code: -1, At: at, Err: snap.Err(), Finished: snap.Done() && snap.Err() == ""}
	if st != nil {
		e.Code = st.ExitCode()
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			e.Signal = ws.Signal().String()
			e.Finished = false
		}
	}
	return e, snap.Result()
}

// Close releases the shared block. Call it after Wait.
func (w *Worker) Close() error { return w.tel.Close() }
