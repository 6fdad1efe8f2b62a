package rt

import "github.com/rtcell/rtcell/rt/internal/vdso"

// monotonicRaw reads CLOCK_MONOTONIC_RAW through the kernel's vDSO, at
// about the cost of the runtime's own CLOCK_MONOTONIC read, with no
// syscall (see package vdso). It falls back to a raw syscall where the
// vDSO lacks the clock.
func monotonicRaw() int64 { return vdso.MonotonicRaw() }
