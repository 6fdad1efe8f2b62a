package errs_test

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/rtcell/rtcell/rt"
	"github.com/rtcell/rtcell/rt/metrics"
	"github.com/rtcell/rtcell/rt/probe"
	"github.com/rtcell/rtcell/rt/shm"
	"github.com/rtcell/rtcell/rt/stats"
	"github.com/rtcell/rtcell/runner/config"
	"github.com/rtcell/rtcell/runner/cyclictest"
)

// TestOneSentinel: the packages re-export one error value per meaning, and
// a wrapped errno stays in the chain.
func TestOneSentinel(t *testing.T) {
	for _, e := range []error{shm.ErrInvalid, probe.ErrInvalid, stats.ErrInvalid, metrics.ErrInvalid, config.ErrInvalid, cyclictest.ErrInvalid} {
		if e != rt.ErrInvalid {
			t.Errorf("%v is not rt.ErrInvalid", e)
		}
	}
	for _, e := range []error{shm.ErrNotSupported, probe.ErrNotSupported, cyclictest.ErrNotSupported} {
		if e != rt.ErrNotSupported {
			t.Errorf("%v is not rt.ErrNotSupported", e)
		}
	}
	for _, e := range []error{probe.ErrPermission, cyclictest.ErrPermission} {
		if e != rt.ErrPermission {
			t.Errorf("%v is not rt.ErrPermission", e)
		}
	}
	err := fmt.Errorf("setting fifo priority 90: %w (%w)", rt.ErrPermission, syscall.EPERM)
	if !errors.Is(err, probe.ErrPermission) || !errors.Is(err, syscall.EPERM) {
		t.Errorf("%v: want both the sentinel and EPERM in the chain", err)
	}
}
