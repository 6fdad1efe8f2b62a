package vdso

import (
	"errors"

	"github.com/rtcell/rtcell/rt/internal/errs"
)

// Sentinel errors. FallbackReason wraps one of them with the detail; test
// for the kind with errors.Is.
var (
	// ErrNotSupported means this platform has no vDSO fast path for
	// CLOCK_MONOTONIC_RAW: MonotonicRaw still works, through the
	// clock_gettime system call (Linux) or the runtime clock (other OSes).
	ErrNotSupported = errs.ErrNotSupported
	// ErrNoVDSO means the kernel mapped no vDSO into the process: it was
	// booted with vdso=0, or the program runs under qemu-user.
	ErrNoVDSO = errors.New("no vDSO mapped in this process")
	// ErrMalformed means the auxiliary vector or the vDSO ELF image could
	// not be parsed.
	ErrMalformed = errors.New("malformed vDSO image or auxiliary vector")
	// ErrSymbolNotFound means the vDSO lacks the clock_gettime symbol at the
	// expected version.
	ErrSymbolNotFound = errors.New("symbol not found in vDSO")
)
