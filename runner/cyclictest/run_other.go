//go:build !linux

package cyclictest

import (
	"context"
	"fmt"
	"runtime"
)

// Run runs cyclictest; on this platform it returns ErrNotSupported.
func Run(ctx context.Context, o Options) (*Result, error) {
	return nil, fmt.Errorf("running cyclictest on %s: %w", runtime.GOOS, ErrNotSupported)
}

// SweepStale removes stale temporary directories of Run; on this
// platform Run makes none, and SweepStale returns ErrNotSupported.
func SweepStale(dir string) ([]string, error) {
	return nil, fmt.Errorf("sweeping cyclictest directories on %s: %w", runtime.GOOS, ErrNotSupported)
}
