package rttest

import (
	"context"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/internal/cpulease"
)

// LeaseCPU holds the lease on cpu for the rest of the test, waiting for
// it while another test (in this or another package's test binary) holds
// it, so that tests run in parallel never measure on the same CPU at once.
// Child processes the test starts (a runner, a program) are granted the
// CPU under the test's lease.
func LeaseCPU(tb testing.TB, cpu int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	l, err := cpulease.Wait(ctx, []int{cpu})
	if err != nil {
		tb.Fatalf("leasing CPU %d: %v", cpu, err)
	}
	tb.Cleanup(func() { l.Release() })
}
