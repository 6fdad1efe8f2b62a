package rt

import (
	"github.com/rtcell/rtcell/rt/internal/vdso"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sleepAbs sleeps until the CLOCK_MONOTONIC instant t (ns) with
// clock_nanosleep(TIMER_ABSTIME), as cyclictest does.
//
// It is a raw syscall: the goroutine does not tell the Go scheduler that it
// blocks, so its P is never handed to another thread while it sleeps and it
// does not have to win a P back on wake-up (the ordinary syscall path,
// entersyscall/exitsyscall, costs about 3 µs per wake-up and a futex
// hand-off on a 2-vCPU VM). The price is that no
// other goroutine of the process runs while the loop sleeps, which is what
// an RT worker process wants.
func sleepAbs(t int64) {
	ts := unix.Timespec{Sec: timespecSec(t / 1e9), Nsec: timespecNsec(t % 1e9)}
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_CLOCK_NANOSLEEP, unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME,
			uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
		if e != unix.EINTR {
			return
		}
	}
}

// sleepWake sleeps until the CLOCK_MONOTONIC instant t like sleepAbs and
// returns CLOCK_MONOTONIC read right after the wake-up. On linux/amd64 the
// sleep and the read are one assembly routine (vdso.SleepMonotonic): the
// clock is read by the first instructions after clock_nanosleep returns,
// as in cyclictest, instead of after the Go return path and the runtime's
// clock call, whose code and data are cold in the cache after a sleep.
func sleepWake(t int64) int64 { return vdso.SleepMonotonic(t) }
