package rt

import (
	"errors"

	"github.com/rtcell/rtcell/rt/internal/cpulease"
	"github.com/rtcell/rtcell/rt/internal/errs"
)

// Sentinel errors. Wrapped errors carry the detail and the remedy; test
// for the kind with errors.Is.
var (
	// ErrNotSupported is returned on platforms other than Linux.
	ErrNotSupported = errs.ErrNotSupported
	// ErrPermission means a scheduling or memory-locking call was refused:
	// the process lacks CAP_SYS_NICE / CAP_IPC_LOCK or a large enough
	// RLIMIT_RTPRIO / RLIMIT_MEMLOCK.
	ErrPermission = errs.ErrPermission
	// ErrRuntimeSettings means GOMAXPROCS=1, GODEBUG=asyncpreemptoff=1 or
	// GOGC=off is not in effect and the caller did not allow it.
	ErrRuntimeSettings = errors.New("go runtime settings for real-time are not in effect")
	// ErrInvalid marks a bad option value.
	ErrInvalid = errs.ErrInvalid
	// ErrCPUBusy means another rtcell process (a runner, a Program, a
	// test) holds the lease on a CPU; the error names its PID.
	ErrCPUBusy = cpulease.ErrBusy
)
