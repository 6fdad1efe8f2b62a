package cyclictest

import (
	"errors"

	"github.com/rtcell/rtcell/rt"
)

// Sentinel errors. Wrapped errors carry the detail and the remedy; test
// for the kind with errors.Is.
var (
	// ErrNotInstalled means the cyclictest binary was not found.
	ErrNotInstalled = errors.New("cyclictest not found: install rt-tests: apt-get install -y rt-tests")
	// ErrPermission means cyclictest could not set SCHED_FIFO or lock
	// its memory: it needs root, or CAP_SYS_NICE and CAP_IPC_LOCK. It is
	// rt.ErrPermission.
	ErrPermission = rt.ErrPermission
	// ErrFailed means cyclictest exited with a non-zero status.
	ErrFailed = errors.New("cyclictest failed")
	// ErrMalformed marks cyclictest output (JSON or -h histogram) that
	// cannot be parsed.
	ErrMalformed = errors.New("malformed cyclictest output")
	// ErrNoHistogram means a result has no latency histogram, so no
	// percentiles: cyclictest ran without -h.
	ErrNoHistogram = errors.New("no histogram: run cyclictest with -h US")
	// ErrInvalid marks a bad option value; it is rt.ErrInvalid.
	ErrInvalid = rt.ErrInvalid
	// ErrNotSupported is returned by Run on platforms other than Linux;
	// it is rt.ErrNotSupported.
	ErrNotSupported = rt.ErrNotSupported
)
