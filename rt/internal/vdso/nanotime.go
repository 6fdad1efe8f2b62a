package vdso

import _ "unsafe" // for go:linkname

// nanotime is the runtime's monotonic clock. On Linux it is the vDSO
// clock_gettime(CLOCK_MONOTONIC), called on the g0 stack; runtime.nanotime
// is a "push" linkname the runtime exports on purpose.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// Nanotime returns the runtime's monotonic clock in nanoseconds: on Linux
// CLOCK_MONOTONIC read through the vDSO, elsewhere the OS's monotonic
// clock. It is what time.Now's monotonic reading and time.Sleep use.
// CLOCK_MONOTONIC is slewed by NTP (its rate may differ from the hardware
// counter by up to 500 ppm), so sleep deadlines belong on it and jitter
// measurements on MonotonicRaw. It never allocates and never enters the
// scheduler.
//
//go:nosplit
func Nanotime() int64 { return nanotime() }
