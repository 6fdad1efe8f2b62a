// Package errs defines the sentinel errors that several rt packages share,
// once: rt, rt/shm, rt/probe, rt/stats, rt/metrics and the runner's
// packages re-export them, so that errors.Is(err, rt.ErrInvalid) holds
// for an invalid argument refused by any of them.
package errs

import "errors"

var (
	// ErrNotSupported: the operation needs Linux (or a CPU architecture)
	// this build does not run on.
	ErrNotSupported = errors.New("not supported on this platform")
	// ErrPermission: the kernel refused for lack of a capability or a
	// resource limit (CAP_SYS_NICE, CAP_IPC_LOCK, RLIMIT_RTPRIO,
	// RLIMIT_MEMLOCK). Wrapped errors keep the errno.
	ErrPermission = errors.New("permission denied")
	// ErrInvalid: a bad option or argument value.
	ErrInvalid = errors.New("invalid argument")
)
