//go:build !linux

package vdso

import (
	"fmt"
	"runtime"
)

// MonotonicRaw returns the runtime's monotonic clock in nanoseconds
// (Nanotime): CLOCK_MONOTONIC_RAW exists only on Linux. On darwin that
// clock is mach_absolute_time, which NTP does not slew either. It never
// allocates and is safe for concurrent use.
//
//go:nosplit
func MonotonicRaw() int64 { return nanotime() }

// Fast reports whether MonotonicRaw uses the Linux vDSO: always false here.
func Fast() bool { return false }

// FallbackReason says why Fast is false: it wraps ErrNotSupported.
func FallbackReason() error {
	return fmt.Errorf("reading CLOCK_MONOTONIC_RAW on %s: %w (MonotonicRaw returns the runtime's monotonic clock)", runtime.GOOS, ErrNotSupported)
}
