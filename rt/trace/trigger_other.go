//go:build !linux

package trace

import (
	"os"
	"syscall"
)

// Trigger freezes an instance's trace from the RT loop; ftrace is
// Linux's, so elsewhere NewTrigger fails with ErrNotSupported.
type Trigger struct{}

// NewTrigger fails with ErrNotSupported.
func NewTrigger(marker, tracingOn *os.File, task string) (*Trigger, error) {
	return nil, ErrNotSupported
}

// Fire does nothing and reports ENOSYS.
func (*Trigger) Fire(cycle uint64, latencyNs int64) (markerErr, stopErr syscall.Errno) {
	return syscall.ENOSYS, syscall.ENOSYS
}

// Close does nothing.
func (*Trigger) Close() error { return nil }
