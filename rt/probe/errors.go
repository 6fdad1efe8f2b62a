package probe

import "errors"

// Sentinel errors; wrapped errors carry the detail and the remedy.
var (
	// ErrNotSupported is returned on platforms other than Linux.
	ErrNotSupported = errors.New("not supported on this platform")
	// ErrPermission means the kernel refused to set SCHED_FIFO: the process
	// lacks CAP_SYS_NICE and a large enough RLIMIT_RTPRIO, or (with
	// CONFIG_RT_GROUP_SCHED) its cgroup has no real-time budget.
	ErrPermission = errors.New("permission denied")
	// ErrInvalid marks an argument out of range.
	ErrInvalid = errors.New("invalid argument")
	// ErrNoFileCaps means the file has no security.capability attribute.
	ErrNoFileCaps = errors.New("file has no capabilities")
	// ErrMalformed means a security.capability attribute could not be decoded.
	ErrMalformed = errors.New("malformed capability attribute")
)
