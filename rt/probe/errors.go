package probe

import (
	"errors"

	"github.com/rtcell/rtcell/rt/internal/errs"
)

// Sentinel errors; wrapped errors carry the detail and the remedy.
var (
	// ErrNotSupported is returned on platforms other than Linux.
	ErrNotSupported = errs.ErrNotSupported
	// ErrPermission means the kernel refused to set SCHED_FIFO: the process
	// lacks CAP_SYS_NICE and a large enough RLIMIT_RTPRIO, or (with
	// CONFIG_RT_GROUP_SCHED) its cgroup has no real-time budget.
	ErrPermission = errs.ErrPermission
	// ErrInvalid marks an argument out of range.
	ErrInvalid = errs.ErrInvalid
	// ErrNoFileCaps means the file has no security.capability attribute.
	ErrNoFileCaps = errors.New("file has no capabilities")
	// ErrMalformed means a security.capability attribute could not be decoded.
	ErrMalformed = errors.New("malformed capability attribute")
)
