package load

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rtcell/rtcell/rt/child"
)

const (
	// readyTimeout bounds the keeper's start-up: a re-executed binary
	// that starts two generators.
	readyTimeout = 10 * time.Second
	// stopTimeout bounds Stop: the keeper's grace time plus reaping.
	stopTimeout = 5 * time.Second
)

// Load is running load: a keeper process (this binary re-executed) and
// the generators it started.
type Load struct {
	proc     *child.Process
	cpus     []int
	statuses chan status
	last     []CommandResult

	stopOnce sync.Once
	res      *Result
	err      error
}

// Start starts the load the spec describes and returns once every
// generator has been started. It re-executes this binary as the load's
// keeper (see the package documentation), with rt/child, so the keeper
// is in a process group of its own and gets a signal when this process
// dies, also by SIGKILL; the keeper then ends every load process. The
// caller must call Stop.
//
// A generator that cannot be started is not an error of Start: its
// CommandResult says why, as does one that ends before Stop.
func Start(s Spec) (*Load, error) {
	cmds, err := s.Commands()
	if err != nil {
		return nil, err
	}
	for _, c := range cmds {
		if err := Installed(c.Name); err != nil {
			return nil, err
		}
	}
	raw, err := json.Marshal(keeperSpec{Parent: os.Getpid(), CPUs: s.CPUs, Commands: cmds})
	if err != nil {
		return nil, fmt.Errorf("encoding the load spec: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("starting the load: %w", err)
	}
	cmd := exec.Command("/proc/self/exe")
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(os.Environ(), envKeeper+"="+string(raw), raceEnv())
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stderr = os.Stderr // a keeper's panic must be seen
	p, err := child.Start(cmd)
	w.Close()
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("starting the load keeper: %w", err)
	}
	l := &Load{proc: p, cpus: slices.Clone(s.CPUs), statuses: make(chan status, 4)}
	go func() {
		defer close(l.statuses)
		defer r.Close()
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var st status
			if json.Unmarshal(sc.Bytes(), &st) == nil {
				l.statuses <- st
			}
		}
	}()
	t := time.NewTimer(readyTimeout)
	defer t.Stop()
	select {
	case st, ok := <-l.statuses:
		switch {
		case !ok:
			p.Stop(time.Second)
			return nil, fmt.Errorf("starting the load: the keeper (pid %d) exited without a word", p.PID())
		case !st.Ready:
			p.Stop(time.Second)
			return nil, fmt.Errorf("starting the load: %s", st.Error)
		}
		l.last = st.Commands
	case <-t.C:
		p.Stop(time.Second)
		return nil, fmt.Errorf("starting the load: the keeper (pid %d) did not report within %v", p.PID(), readyTimeout)
	}
	return l, nil
}

// PID is the keeper's process ID, which is also the process group of
// the generators.
func (l *Load) PID() int { return l.proc.PID() }

// Done is closed when the keeper has exited: after Stop, or early if it
// was killed.
func (l *Load) Done() <-chan struct{} { return l.proc.Done() }

// Stop ends the load: SIGTERM to the keeper, which ends every load
// process (SIGTERM, then SIGKILL after half a second) and exits; if it
// has not exited within 5 s, SIGKILL to its process group. It returns
// what ran. Stop may be called more than once; later calls return the
// first call's result.
func (l *Load) Stop() (*Result, error) {
	l.stopOnce.Do(func() {
		syscall.Kill(l.proc.PID(), syscall.SIGTERM)
		t := time.NewTimer(stopTimeout)
		defer t.Stop()
		select {
		case <-l.proc.Done():
		case <-t.C:
			l.err = fmt.Errorf("stopping the load: keeper (pid %d) did not exit within %v, killed its process group", l.proc.PID(), stopTimeout)
			l.proc.Signal(syscall.SIGKILL)
			<-l.proc.Done()
		}
		l.proc.Signal(syscall.SIGKILL) // nothing normally: the keeper reaped its group
		final := false
		for st := range l.statuses {
			l.last, final = st.Commands, true
		}
		l.res = &Result{CPUs: l.cpus, Commands: l.last}
		if !final && l.err == nil {
			l.err = errors.New("stopping the load: the keeper exited without its final report")
		}
	})
	return l.res, l.err
}

// raceEnv keeps a race-enabled keeper (a test binary built with -race)
// from sleeping a second at exit (the race runtime's atexit_sleep_ms
// default), which would delay the end of the load past Stop's
// expectations; other builds ignore GORACE.
func raceEnv() string {
	return "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")
}
