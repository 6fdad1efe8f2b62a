//go:build linux && !amd64

package vdso

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// On Linux other than amd64, MonotonicRaw makes the clock_gettime system
// call. arm64 has a vDSO clock_gettime (__kernel_clock_gettime@LINUX_2.6.39,
// which findSymbol resolves), but calling it from outside the runtime is
// not safe: when a signal lands inside vDSO code, the arm64 runtime finds
// the current goroutine not in R28 but in a slot at the bottom of the
// thread's signal stack, which runtime.nanotime1 fills before each of its
// own vDSO calls and clears after (runtime/signal_unix.go sigFetchG). Code
// outside the runtime cannot fill that slot, so any signal arriving during
// our call (SIGPROF, SIGCHLD, SIGURG with asyncpreemptoff=1, ...) would
// find no goroutine and the runtime would exit with "fatal: bad g in
// signal handler". amd64 finds the goroutine in thread-local storage and
// has no such slot. linux/arm (32-bit) has no vDSO path in this package
// either.

func setupFast() error {
	return fmt.Errorf("calling the vDSO on linux/%s: %w (MonotonicRaw uses the clock_gettime system call)", runtime.GOARCH, ErrNotSupported)
}

//go:nosplit
func fastReady() bool { return false }

//go:nosplit
func fastRaw() (int64, bool) { return 0, false }

// SleepMonotonic sleeps until the CLOCK_MONOTONIC instant t (ns) with a
// raw clock_nanosleep(TIMER_ABSTIME) and returns Nanotime read right after
// the wake-up. See the linux/amd64 version, which reads the clock in the
// same assembly routine as the sleep.
//
//go:nosplit
func SleepMonotonic(t int64) int64 {
	ts := unix.NsecToTimespec(t)
	sleepSyscall(&ts)
	return nanotime()
}
