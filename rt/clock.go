package rt

import _ "unsafe" // for go:linkname

// nanotime is the runtime's CLOCK_MONOTONIC read through the vDSO: about
// 30 ns, no syscall, no scheduler involvement, never preempts (nosplit).
// It is the clock cyclictest measures wake latency on.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// Nanotime returns CLOCK_MONOTONIC in nanoseconds, the clock that loop
// release times and Cycle timestamps are on.
func Nanotime() int64 { return nanotime() }
