// Package vdso reads CLOCK_MONOTONIC_RAW fast and CLOCK_MONOTONIC through
// the runtime, for the RT loop's once-per-cycle jitter measurement.
//
// CLOCK_MONOTONIC_RAW is the hardware counter, never slewed by NTP, so
// jitter measured on it is the machine's, not the time daemon's. Sleeps
// cannot use it (clock_nanosleep rejects it), so the loop sleeps on
// CLOCK_MONOTONIC (Nanotime) and measures with MonotonicRaw.
//
// On linux/amd64 MonotonicRaw calls the kernel vDSO's clock_gettime from
// Go assembly on a private, guard-paged stack, at about the cost of the
// runtime's own clock read and without a system call; Fast reports it.
// Elsewhere on Linux it makes the clock_gettime system call through
// unix.RawSyscall, which does not enter the scheduler, and on other
// systems it returns the runtime's monotonic clock. Every call is allocation-free,
// nosplit and safe from a goroutine locked to a SCHED_FIFO thread.
//
// SleepMonotonic (Linux) is the loop's wait: a raw clock_nanosleep to an
// absolute CLOCK_MONOTONIC time, and the CLOCK_MONOTONIC reading that
// measures the wake latency. On linux/amd64 both are one assembly routine,
// so the reading is taken right after the system call returns, as
// cyclictest takes it, and not after a Go return path that is cold in the
// cache after the sleep.
// Package initialization resolves the vDSO symbol and maps the stacks
// (20 KiB of address space per CPU, up to 64); it reads /proc/self/mem.
//
// Example, timing one cycle of a loop:
//
//	start := vdso.MonotonicRaw()
//	cycle()
//	elapsedNs := vdso.MonotonicRaw() - start
//	if !vdso.Fast() {
//		log.Printf("clock reads are system calls: %v", vdso.FallbackReason())
//	}
package vdso
