package rt

import "golang.org/x/sys/unix"

// monotonicRaw reads CLOCK_MONOTONIC_RAW. Replaced by the vDSO path.
func monotonicRaw() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC_RAW, &ts)
	return ts.Nano()
}
