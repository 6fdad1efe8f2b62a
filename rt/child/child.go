// Package child starts helper processes (load generators, reference tools
// such as cyclictest, rtcell's own worker processes) so that none of them
// outlives the process that started it.
//
// Two things make that hold when the parent is killed with SIGKILL, which
// no Go code can catch:
//   - the parent-death signal (prctl PR_SET_PDEATHSIG, set through
//     syscall.SysProcAttr.Pdeathsig): the kernel sends SIGKILL to the child
//     when the thread that forked it exits. It follows the thread, not the
//     process (golang/go#27505), so every fork is made from one goroutine
//     locked to an OS thread that is never unlocked and so lives as long as
//     the process;
//   - a process group of its own (Setpgid), so that Stop reaches the
//     child's own children too (stress-ng's stressors, hackbench's
//     senders and receivers), and a terminal's Ctrl-C reaches only the
//     parent, which stops its children in order.
//
// A grandchild that is not in the group and sets no parent-death signal
// of its own can still outlive a SIGKILLed parent; tools that fork such
// processes must be run under a keeper that reaps them (see rt/load).
//
//	cmd := exec.Command("stress-ng", "--cpu", "1")
//	p, err := child.Start(cmd)
//	if err != nil { … }
//	defer p.Stop(2 * time.Second)
package child

import (
	"errors"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

var (
	spawnOnce sync.Once
	spawnCh   chan spawnReq
)

// Process is a child started by Start.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // cmd.Wait's, set before done is closed
}

// Start starts cmd in a process group of its own, with SIGKILL as its
// parent-death signal, forked from a thread that lives as long as this
// process. It keeps the other fields of cmd.SysProcAttr. Start waits for
// the child in the background; do not call cmd.Wait, use Wait or Done.
func Start(cmd *exec.Cmd) (*Process, error) {
	setAttr(cmd)
	spawnOnce.Do(func() {
		spawnCh = make(chan spawnReq)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread must outlive every child
			for r := range spawnCh {
				r.done <- r.cmd.Start()
			}
		}()
	})
	r := spawnReq{cmd: cmd, done: make(chan error, 1)}
	spawnCh <- r
	if err := <-r.done; err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// PID is the child's process ID, which is also its process group ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Done is closed when the child has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits for the child to exit and returns cmd.Wait's error; the
// exit status is in the command's ProcessState.
func (p *Process) Wait() error {
	<-p.done
	return p.err
}

// Signal sends sig to the child's whole process group. A group that is
// gone is not an error.
func (p *Process) Signal(sig syscall.Signal) error {
	err := syscall.Kill(-p.cmd.Process.Pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// Stop ends the child and waits for it: SIGTERM to its process group,
// then SIGKILL to the group after grace if the child has not exited, and
// SIGKILL once more to whatever is left of the group after the child is
// reaped (stragglers of a tool whose children ignore SIGTERM). It returns
// Wait's error.
func (p *Process) Stop(grace time.Duration) error {
	p.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		p.Signal(syscall.SIGKILL)
		<-p.done
	}
	p.Signal(syscall.SIGKILL)
	return p.err
}
