package vmtest

import "errors"

// Sentinel errors. Wrapped errors carry the detail and, where there is
// one, the fix; test for the kind with errors.Is.
var (
	// ErrTimeout means the watchdog killed QEMU: the guest neither
	// finished its script nor powered off in time. The log file shows
	// where it stopped.
	ErrTimeout = errors.New("guest timed out")
	// ErrIncomplete means QEMU exited before the guest printed its
	// end-of-script marker: a kernel panic, an init that died, or a
	// script that powered off early.
	ErrIncomplete = errors.New("guest did not finish its script")
	// ErrMalformed marks a corrupt section on the serial console or a
	// corrupt archive.
	ErrMalformed = errors.New("malformed data")
	// ErrUnavailable means a tool or the kernel package could not be
	// found or installed (not root, no apt, no package lists).
	ErrUnavailable = errors.New("not available on this machine")
)
