package cyclictest

import "errors"

// Sentinel errors. Wrapped errors carry the detail and the remedy; test
// for the kind with errors.Is.
var (
	// ErrNotInstalled means the cyclictest binary was not found.
	ErrNotInstalled = errors.New("cyclictest not found: install rt-tests: apt-get install -y rt-tests")
	// ErrPermission means cyclictest could not set SCHED_FIFO or lock
	// its memory: it needs root, or CAP_SYS_NICE and CAP_IPC_LOCK.
	ErrPermission = errors.New("cyclictest needs root or CAP_SYS_NICE and CAP_IPC_LOCK: run as root")
	// ErrFailed means cyclictest exited with a non-zero status.
	ErrFailed = errors.New("cyclictest failed")
	// ErrMalformed marks cyclictest output (JSON or -h histogram) that
	// cannot be parsed.
	ErrMalformed = errors.New("malformed cyclictest output")
	// ErrNoHistogram means a result has no latency histogram, so no
	// percentiles: cyclictest ran without -h.
	ErrNoHistogram = errors.New("no histogram: run cyclictest with -h US")
	// ErrInvalid marks a bad option value.
	ErrInvalid = errors.New("invalid option")
	// ErrNotSupported is returned by Run on platforms other than Linux.
	ErrNotSupported = errors.New("cyclictest runs on linux only")
)
