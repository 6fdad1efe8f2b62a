// Package worker starts and serves the worker processes of package rt: a
// supervisor re-executes its own binary once per RT task, with the Go
// runtime settings an RT loop needs in the environment, the task's spec
// in RTCELL_WORKER_SPEC and its shared-memory files from fd 3 on. It is
// plumbing: firmware uses rt.Program, which runs on it.
//
// Why a process per loop: in a GOMAXPROCS=1, asyncpreemptoff=1 process
// any other goroutine that does work delays the loop by milliseconds or
// freezes it, so an RT loop must own its process; the non-real-time work
// (reports, network, HMI) stays in the supervisor.
package worker

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rtcell/rtcell/rt/child"
)

// EnvSpec carries a worker's Spec as JSON; its presence makes a process
// a worker.
const EnvSpec = "RTCELL_WORKER_SPEC"

// FirstFD is the worker's first inherited file (exec.Cmd.ExtraFiles[0]).
const FirstFD = 3

// Exit codes of a worker process.
const (
	ExitOK     = 0
	ExitSetup  = 2 // the loop could not start: bad spec, permission, runtime settings, Setup's error
	ExitFailed = 3 // anything else
	ExitNoTask = 4 // the binary does not serve the task the spec names
)

// Spec says what a worker process runs.
type Spec struct {
	// Task names the task among those the binary's program declares.
	Task string `json:"task"`
	// Loop is the task's loop options, encoded by package rt.
	Loop json.RawMessage `json:"loop"`
}

// IsWorker reports whether this process was started by Start.
func IsWorker() bool { return os.Getenv(EnvSpec) != "" }

// ReadSpec decodes this worker's spec from its environment.
func ReadSpec() (Spec, error) {
	var s Spec
	if err := json.Unmarshal([]byte(os.Getenv(EnvSpec)), &s); err != nil {
		return s, fmt.Errorf("decoding the worker spec from %s: %w", EnvSpec, err)
	}
	return s, nil
}

// Options are the process-level options of Start.
type Options struct {
	// Path is the binary to run; default /proc/self/exe (this binary).
	Path string
	// Args are the worker's arguments after argv[0]; default this
	// process's own (os.Args[1:]), so that the program's flag parsing
	// sees the same arguments on both sides.
	Args []string
	// Env is added to the worker's environment, after os.Environ and the
	// RT runtime settings.
	Env []string
	// Stdout and Stderr receive the worker's output; nil discards stdout
	// and sends stderr to this process's stderr.
	Stdout, Stderr io.Writer
	// MemoryLimit is the worker's GOMEMLIMIT; default DefaultMemoryLimit.
	MemoryLimit int64
	// Files are passed to the worker as fds FirstFD, FirstFD+1, …
	Files []*os.File
}

// Process is a running worker process, seen from its supervisor.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}

	mu       sync.Mutex
	state    *os.ProcessState
	exitedAt time.Time
}

// Start starts a worker for spec: this binary re-executed with
// GOMAXPROCS=1, GODEBUG=asyncpreemptoff=1, GOGC=off and a memory limit.
// It is started with package child: in its own process group, so a
// terminal's Ctrl-C reaches only the supervisor, which stops workers
// through shared memory, and killed by the kernel (SIGKILL) if the
// supervisor dies.
func Start(spec Spec, o Options) (*Process, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("encoding the spec of worker %q: %w", spec.Task, err)
	}
	path := o.Path
	if path == "" {
		path = "/proc/self/exe"
	}
	args := o.Args
	if args == nil && len(os.Args) > 1 {
		args = os.Args[1:]
	}
	cmd := exec.Command(path, args...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(Environ(os.Environ(), o.MemoryLimit), o.Env...)
	cmd.Env = append(cmd.Env, EnvSpec+"="+string(raw))
	cmd.ExtraFiles = o.Files
	cmd.Stdout = o.Stdout
	cmd.Stderr = o.Stderr
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	c, err := child.Start(cmd)
	if err != nil {
		return nil, fmt.Errorf("starting worker %q: %w", spec.Task, err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		c.Wait()
		p.mu.Lock()
		p.state, p.exitedAt = cmd.ProcessState, time.Now()
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// PID is the worker's process ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Kill kills the worker process at once (SIGKILL).
func (p *Process) Kill() error {
	err := p.cmd.Process.Kill()
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

// Done is closed when the worker process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Status says how a worker process ended.
type Status struct {
	Code   int       // exit code, or -1 when killed by a signal
	Signal string    // the signal that killed it, if any
	At     time.Time // when the supervisor saw it exit
}

// Wait waits for the worker process to exit.
func (p *Process) Wait() Status {
	<-p.done
	p.mu.Lock()
	st, at := p.state, p.exitedAt
	p.mu.Unlock()
	s := Status{Code: -1, At: at}
	if st != nil {
		s.Code = st.ExitCode()
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			s.Signal = ws.Signal().String()
		}
	}
	return s
}

// String says how the worker ended, in words.
func (s Status) String() string {
	if s.Signal != "" {
		return fmt.Sprintf("killed by signal %s at %s", s.Signal, s.At.Format(time.RFC3339Nano))
	}
	return fmt.Sprintf("exit code %d", s.Code)
}

// Environment values that put the Go runtime into the mode an RT loop
// needs. They must be present when the process starts: the runtime reads
// GODEBUG and GOGC once, at start-up.
const (
	EnvGOMAXPROCS = "GOMAXPROCS"
	EnvGODEBUG    = "GODEBUG"
	EnvGOGC       = "GOGC"
	EnvGOMEMLIMIT = "GOMEMLIMIT"
	// DefaultMemoryLimit guards a GC-off process: the GC comes back only if
	// the heap grows past it, which an allocation-free loop never does.
	DefaultMemoryLimit = 256 << 20
)

// Environ returns env (in os.Environ form) with the RT runtime settings:
// GOMAXPROCS=1, asyncpreemptoff=1 appended to any GODEBUG, GOGC=off and
// GOMEMLIMIT=memLimit bytes (DefaultMemoryLimit when memLimit <= 0).
func Environ(env []string, memLimit int64) []string {
	if memLimit <= 0 {
		memLimit = DefaultMemoryLimit
	}
	out := make([]string, 0, len(env)+4)
	godebug := ""
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case EnvGOMAXPROCS, EnvGOGC, EnvGOMEMLIMIT, EnvSpec:
			continue
		case EnvGODEBUG:
			godebug = v
			continue
		}
		out = append(out, kv)
	}
	if godebug != "" {
		godebug += ","
	}
	godebug += "asyncpreemptoff=1"
	return append(out,
		EnvGOMAXPROCS+"=1",
		EnvGODEBUG+"="+godebug,
		EnvGOGC+"=off",
		EnvGOMEMLIMIT+"="+strconv.FormatInt(memLimit, 10),
	)
}

// MemoryLimitFromEnv is GOMEMLIMIT in bytes, or DefaultMemoryLimit when
// it is unset or not a plain byte count.
func MemoryLimitFromEnv() int64 {
	if v, err := strconv.ParseInt(os.Getenv(EnvGOMEMLIMIT), 10, 64); err == nil && v > 0 && v < math.MaxInt64 {
		return v
	}
	return DefaultMemoryLimit
}
