package cpulease

import (
	"errors"
	"fmt"

	"github.com/rtcell/rtcell/rt/internal/errs"
)

// Sentinel errors; test for the kind with errors.Is.
var (
	// ErrBusy means another process, not an ancestor of the caller, holds
	// the lease on a CPU. The error is a *BusyError that names it.
	ErrBusy = errors.New("cpu is leased by another process")
	// ErrNotSupported is returned on platforms other than Linux.
	ErrNotSupported = errs.ErrNotSupported
	// ErrInvalid marks a CPU number below 0.
	ErrInvalid = errs.ErrInvalid
)

// BusyError says which process holds the lease on a CPU. PID is 0 when
// the holder could not be identified (it locked the file read-only, so
// could not write its PID, and /proc/locks does not show it).
type BusyError struct {
	CPU, PID int
	Path     string // the lock file
}

func (e *BusyError) Error() string {
	if e.PID <= 0 {
		return fmt.Sprintf("CPU %d is leased by another process (lock %s)", e.CPU, e.Path)
	}
	return fmt.Sprintf("CPU %d is leased by pid %d (lock %s)", e.CPU, e.PID, e.Path)
}

// Is reports whether target is ErrBusy.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }
