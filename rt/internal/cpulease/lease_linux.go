package cpulease

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// procRoot is where /proc is read from (PPid chains, /proc/locks).
var procRoot = "/proc"

// pollInterval is how often Wait retries a busy CPU.
const pollInterval = 5 * time.Millisecond

// Lease holds the locks of the CPUs it was granted. Its zero value holds
// nothing; Release on it does nothing.
type Lease struct {
	mu     sync.Mutex
	files  []*os.File // one locked file per CPU held, in CPU order
	cpus   []int      // CPUs whose lock this lease holds
	shared []int      // CPUs granted under a lock held by an ancestor
}

// CPUs returns the CPUs this lease holds a lock on.
func (l *Lease) CPUs() []int { l.mu.Lock(); defer l.mu.Unlock(); return append([]int(nil), l.cpus...) }

// Shared returns the CPUs granted under an ancestor's (or this process's
// own) lock: this lease took no lock on them.
func (l *Lease) Shared() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.shared...)
}

// Dir returns the directory of the lock files: $RTCELL_LOCK_DIR if set,
// else /run/lock if this process may write there, else os.TempDir().
// Processes that should exclude each other must agree on it.
func Dir() string {
	if d := os.Getenv("RTCELL_LOCK_DIR"); d != "" {
		return d
	}
	if unix.Access("/run/lock", unix.W_OK) == nil {
		return "/run/lock"
	}
	return os.TempDir()
}

// Path returns the lock file of cpu in Dir().
func Path(cpu int) string { return filepath.Join(Dir(), fmt.Sprintf("rtcell-cpu%d.lock", cpu)) }

// Acquire leases cpus, exclusively and without blocking. If another
// process holds one of them, Acquire releases what it took and returns a
// *BusyError naming that process (errors.Is(err, ErrBusy)). A CPU held by
// the calling process or one of its ancestors is granted as a shared
// sub-lease. The lock files are opened close-on-exec: a child started
// with exec does not inherit the lease (it is granted a shared one if it
// asks). Acquire creates the lock directory's files, never removes them.
func Acquire(cpus []int) (*Lease, error) {
	cpus, err := normalize(cpus)
	if err != nil {
		return nil, err
	}
	l := &Lease{}
	for _, cpu := range cpus {
		if err := l.take(cpu); err != nil {
			l.Release()
			return nil, err
		}
	}
	return l, nil
}

// Wait leases cpus like Acquire, but while a CPU is held by another
// process it waits, retrying every few milliseconds, until the holder
// releases it or ctx ends. CPUs are taken in ascending order and kept
// while the next one is awaited, so waiters on overlapping sets cannot
// deadlock. When ctx ends, Wait releases what it took and returns an
// error that wraps both ctx.Err() and the last *BusyError.
func Wait(ctx context.Context, cpus []int) (*Lease, error) {
	cpus, err := normalize(cpus)
	if err != nil {
		return nil, err
	}
	l := &Lease{}
	for _, cpu := range cpus {
		for {
			err := l.take(cpu)
			if err == nil {
				break
			}
			if !errors.Is(err, ErrBusy) {
				l.Release()
				return nil, err
			}
			select {
			case <-ctx.Done():
				l.Release()
				return nil, fmt.Errorf("waiting for the lease on CPU %d: %w: %w", cpu, err, ctx.Err())
			case <-time.After(pollInterval):
			}
		}
	}
	return l, nil
}

// Release gives the locks back. It is safe to call more than once, and
// on a lease that holds only shared CPUs (it then does nothing).
func (l *Lease) Release() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, f := range l.files {
		// Empty the PID first, so that a reader never sees a released
		// lock file naming this process; then unlock and close.
		f.Truncate(0)
		if err := unix.Flock(int(f.Fd()), unix.LOCK_UN); err != nil {
			errs = append(errs, fmt.Errorf("unlocking %s: %w", f.Name(), err))
		}
		f.Close()
	}
	l.files, l.cpus, l.shared = nil, nil, nil
	return errors.Join(errs...)
}

// take locks cpu's file into l, or grants it shared, or returns a
// *BusyError.
func (l *Lease) take(cpu int) error {
	path := Path(cpu)
	f, writable, err := openLock(path)
	if err != nil {
		return fmt.Errorf("opening the lease on CPU %d: %w", cpu, err)
	}
	pid := 0
	for try := 0; try < 3; try++ {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == unix.EINTR {
			continue
		}
		if err != unix.EWOULDBLOCK {
			break
		}
		// A holder that released between the flock and the look-up
		// leaves no name: try again rather than report nobody.
		if pid = holder(f); pid > 0 {
			break
		}
	}
	if err == nil {
		if writable {
			// The PID names the holder to refused processes. It is a
			// hint: /proc/locks, read first, is the kernel's word.
			if err := f.Truncate(0); err == nil {
				f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
			}
		}
		l.mu.Lock()
		l.files, l.cpus = append(l.files, f), append(l.cpus, cpu)
		l.mu.Unlock()
		return nil
	}
	defer f.Close()
	if err != unix.EWOULDBLOCK {
		return fmt.Errorf("locking %s: %w", path, err)
	}
	if pid > 0 && isSelfOrAncestor(pid) {
		l.mu.Lock()
		l.shared = append(l.shared, cpu)
		l.mu.Unlock()
		return nil
	}
	return &BusyError{CPU: cpu, PID: pid, Path: path}
}

// openLock opens (creating it if need be) the lock file read-write, or
// read-only if it belongs to another user who did not let us write:
// flock works on a read-only descriptor too, only the PID cannot be
// written then. It does not pass O_CREAT for a file that exists, as the
// fs.protected_regular sysctl refuses that for other users' files in a
// sticky directory such as /run/lock.
func openLock(path string) (f *os.File, writable bool, err error) {
	for range 3 {
		fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err == unix.ENOENT {
			fd, err = unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o644)
			if err == unix.EEXIST {
				continue // created by another process meanwhile
			}
		}
		if err == unix.EACCES || err == unix.EPERM {
			fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
			if err != nil {
				return nil, false, err
			}
			return os.NewFile(uintptr(fd), path), false, nil
		}
		if err != nil {
			return nil, false, err
		}
		return os.NewFile(uintptr(fd), path), true, nil
	}
	return nil, false, fmt.Errorf("%s: created and removed repeatedly: %w", path, unix.EEXIST)
}

// holder returns the PID that holds the flock on f: from /proc/locks if it
// lists one, else from the PID the holder wrote into the file, else 0.
func holder(f *os.File) int {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err == nil {
		if b, err := os.ReadFile(filepath.Join(procRoot, "locks")); err == nil {
			id := fileID{unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)), uint64(st.Ino)}
			if pid := parseLockHolder(string(b), id); pid > 0 {
				return pid
			}
		}
	}
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	return parsePIDFile(b[:n])
}

// isSelfOrAncestor reports whether pid is the calling process or one of
// its ancestors, following the PPid chain through /proc/PID/status.
func isSelfOrAncestor(pid int) bool {
	p := os.Getpid()
	for range 4096 { // a chain longer than this is a loop in a fake /proc
		if p == pid {
			return true
		}
		if p <= 1 {
			return false
		}
		b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(p), "status"))
		if err != nil {
			return false
		}
		pp, err := parsePPid(string(b))
		if err != nil {
			return false
		}
		p = pp
	}
	return false
}
