// Package cpulease gives a process an exclusive lease on the CPUs it
// measures on (placeholder until the full implementation lands).
package cpulease

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrBusy means another process holds the lease.
var ErrBusy = errors.New("cpu is leased by another process")

// BusyError names the holder of a lease.
type BusyError struct {
	CPU, PID int
	Path     string
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("CPU %d is leased by pid %d (lock %s)", e.CPU, e.PID, e.Path)
}

// Is reports whether target is ErrBusy.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// Lease holds locks on CPUs.
type Lease struct{ files []*os.File }

func dir() string {
	if d := os.Getenv("RTCELL_LOCK_DIR"); d != "" {
		return d
	}
	if syscall.Access("/run/lock", 2) == nil {
		return "/run/lock"
	}
	return os.TempDir()
}

// Acquire takes the lease on cpus without waiting.
func Acquire(cpus []int) (*Lease, error) {
	l := &Lease{}
	for _, c := range cpus {
		p := filepath.Join(dir(), fmt.Sprintf("rtcell-cpu%d.lock", c))
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC, 0o666)
		if err == nil {
			f.Chmod(0o666) // any user's run may lease the CPU
		} else if errors.Is(err, os.ErrPermission) {
			f, err = os.OpenFile(p, os.O_RDONLY|syscall.O_CLOEXEC, 0)
		}
		if err != nil {
			l.Release()
			return nil, fmt.Errorf("leasing CPU %d: %w", c, err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			b := make([]byte, 32)
			n, _ := f.ReadAt(b, 0)
			f.Close()
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:n])))
			if isAncestor(pid) {
				continue
			}
			l.Release()
			return nil, &BusyError{CPU: c, PID: pid, Path: p}
		}
		f.Truncate(0)
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		l.files = append(l.files, f)
	}
	return l, nil
}

func isAncestor(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	for p := os.Getppid(); p > 1; {
		if p == pid {
			return true
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			return false
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 2 {
			return false
		}
		p, _ = strconv.Atoi(f[1])
	}
	return false
}

// Wait takes the lease, waiting for it.
func Wait(ctx context.Context, cpus []int) (*Lease, error) {
	for {
		l, err := Acquire(cpus)
		if !errors.Is(err, ErrBusy) {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Release drops the lease.
func (l *Lease) Release() error {
	for _, f := range l.files {
		f.Close()
	}
	l.files = nil
	return nil
}
