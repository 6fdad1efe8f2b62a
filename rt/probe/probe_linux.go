package probe

import (
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// FIFO checks that the process may run a thread at SCHED_FIFO priority.
// It starts a goroutine, locks it to a fresh OS thread, sets SCHED_FIFO
// there, restores the original policy and then exits the goroutine while
// still locked, so the Go runtime destroys that thread: no thread of the
// process is left changed, whatever happens.
//
// Side effect: for a few microseconds one thread of the process runs at
// SCHED_FIFO priority. It needs CAP_SYS_NICE or RLIMIT_RTPRIO ≥ priority,
// and with CONFIG_RT_GROUP_SCHED a cgroup with a real-time budget; the
// error wraps ErrPermission when any of these is missing.
func FIFO(priority int) error {
	if priority < 1 || priority > 99 {
		return fmt.Errorf("probing SCHED_FIFO priority %d: want 1..99: %w", priority, ErrInvalid)
	}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread dies with this goroutine.
		runtime.LockOSThread()
		orig, err := unix.SchedGetAttr(0, 0)
		if err != nil {
			errc <- fmt.Errorf("reading the scheduling policy of a test thread: %w", err)
			return
		}
		attr := unix.SchedAttr{
			Policy:   unix.SCHED_FIFO,
			Priority: uint32(priority),
			Flags:    unix.SCHED_FLAG_RESET_ON_FORK,
		}
		if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
			if errors.Is(err, unix.EPERM) {
				err = fmt.Errorf("%w (%w): grant CAP_SYS_NICE (`setcap cap_sys_nice,cap_ipc_lock+ep BINARY`) or raise RLIMIT_RTPRIO to %d; with CONFIG_RT_GROUP_SCHED the cgroup also needs cpu.rt_runtime_us > 0", ErrPermission, err, priority)
			}
			errc <- fmt.Errorf("setting SCHED_FIFO %d on a test thread: %w", priority, err)
			return
		}
		if err := unix.SchedSetAttr(0, orig, 0); err != nil {
			errc <- fmt.Errorf("restoring the policy of the test thread (the thread is discarded anyway): %w", err)
			return
		}
		errc <- nil
	}()
	return <-errc
}

// FileCaps reads and decodes the security.capability extended attribute
// of the file at path, as set by setcap. A file without one gives an
// error wrapping ErrNoFileCaps.
func FileCaps(path string) (FileCapabilities, error) {
	buf := make([]byte, 64)
	n, err := unix.Getxattr(path, "security.capability", buf)
	if err != nil {
		if errors.Is(err, unix.ENODATA) {
			return FileCapabilities{}, fmt.Errorf("reading capabilities of %s: %w", path, ErrNoFileCaps)
		}
		return FileCapabilities{}, fmt.Errorf("reading capabilities of %s: %w", path, err)
	}
	c, err := decodeFileCaps(buf[:n])
	if err != nil {
		return FileCapabilities{}, fmt.Errorf("reading capabilities of %s: %w", path, err)
	}
	return c, nil
}

// Uname returns the identity of the running kernel.
func Uname() (Utsname, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return Utsname{}, fmt.Errorf("calling uname: %w", err)
	}
	return Utsname{
		Sysname:  unix.ByteSliceToString(u.Sysname[:]),
		Nodename: unix.ByteSliceToString(u.Nodename[:]),
		Release:  unix.ByteSliceToString(u.Release[:]),
		Version:  unix.ByteSliceToString(u.Version[:]),
		Machine:  unix.ByteSliceToString(u.Machine[:]),
	}, nil
}
