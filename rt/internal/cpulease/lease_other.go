//go:build !linux

package cpulease

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Lease is a lease on CPUs; leases need Linux (flock and /proc).
type Lease struct{}

// CPUs returns nil: no lease is held on this platform.
func (l *Lease) CPUs() []int { return nil }

// Shared returns nil: no lease is held on this platform.
func (l *Lease) Shared() []int { return nil }

// Dir returns $RTCELL_LOCK_DIR or os.TempDir().
func Dir() string {
	if d := os.Getenv("RTCELL_LOCK_DIR"); d != "" {
		return d
	}
	return os.TempDir()
}

// Path returns the lock file of cpu in Dir().
func Path(cpu int) string { return filepath.Join(Dir(), fmt.Sprintf("rtcell-cpu%d.lock", cpu)) }

// Acquire returns ErrNotSupported.
func Acquire(cpus []int) (*Lease, error) {
	return nil, fmt.Errorf("leasing cpus %v: %w", cpus, ErrNotSupported)
}

// Wait returns ErrNotSupported.
func Wait(ctx context.Context, cpus []int) (*Lease, error) {
	return nil, fmt.Errorf("leasing cpus %v: %w", cpus, ErrNotSupported)
}

// Release does nothing.
func (l *Lease) Release() error { return nil }
