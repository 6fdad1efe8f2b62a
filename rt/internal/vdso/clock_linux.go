package vdso

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fallbackReason is why the vDSO path is off (nil when Fast is true).
// Written once by init, read-only afterwards.
var fallbackReason error

func init() {
	fallbackReason = setupFast()
	if fallbackReason != nil {
		if err := checkSyscall(); err != nil {
			fallbackReason = errors.Join(fallbackReason, err)
		}
	}
}

// MonotonicRaw returns CLOCK_MONOTONIC_RAW in nanoseconds: the hardware
// counter since boot, never slewed by NTP, which is why period jitter is
// measured on it. Sleeps cannot use it (clock_nanosleep rejects it with
// EOPNOTSUPP); sleep on CLOCK_MONOTONIC and measure with this.
//
// When Fast reports true it calls the kernel vDSO's clock_gettime on a
// private stack (see fast_linux_amd64.go), at about the cost of
// Nanotime. Otherwise it makes the clock_gettime system call with
// unix.RawSyscall, which does not tell the scheduler, so a goroutine
// locked to a SCHED_FIFO thread keeps its P and its thread either way.
//
// It never allocates, is safe for concurrent use, and is nosplit: it adds
// no preemption point to an RT loop (a stack-check prologue is one: with
// asyncpreemptoff, a goroutine marked by sysmon yields there, which for a
// locked thread means a futex hand-off through a non-RT thread). If the
// system call
// itself fails (a kernel older than 2.6.28, or a seccomp filter) it
// returns Nanotime instead; FallbackReason reports that case.
//
//go:nosplit
func MonotonicRaw() int64 {
	if ns, ok := fastRaw(); ok {
		return ns
	}
	return syscallRaw()
}

// Fast reports whether MonotonicRaw uses the vDSO. It is fixed at package
// initialization.
func Fast() bool { return fastReady() }

// FallbackReason returns nil when Fast is true, and otherwise why
// MonotonicRaw takes the system call path, as an error wrapping
// ErrNotSupported, ErrNoVDSO, ErrMalformed or ErrSymbolNotFound.
func FallbackReason() error { return fallbackReason }

// syscallRaw reads CLOCK_MONOTONIC_RAW with a raw clock_gettime system
// call. The call chain (unix.RawSyscall -> syscall.RawSyscall ->
// RawSyscall6) is nosplit, so this is too.
//
//go:nosplit
func syscallRaw() int64 {
	var ts unix.Timespec
	_, _, errno := unix.RawSyscall(unix.SYS_CLOCK_GETTIME, unix.CLOCK_MONOTONIC_RAW, uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		return nanotime()
	}
	return int64(ts.Sec)*1e9 + int64(ts.Nsec)
}

// checkSyscall makes sure the fallback itself works.
func checkSyscall() error {
	var ts unix.Timespec
	_, _, errno := unix.RawSyscall(unix.SYS_CLOCK_GETTIME, unix.CLOCK_MONOTONIC_RAW, uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		return fmt.Errorf("calling clock_gettime(CLOCK_MONOTONIC_RAW): %w (kernel older than 2.6.28 or a seccomp filter; MonotonicRaw returns CLOCK_MONOTONIC instead)", errno)
	}
	return nil
}

// procSelf is the /proc directory of this process. It is a fixed path on
// purpose: it names this process's own memory and auxiliary vector, not
// a machine under inspection.
const procSelf = "/proc/self"

// vdsoBase returns the address of the vDSO ELF header from the auxiliary
// vector: the runtime's copy through unix.Auxv, else /proc/self/auxv.
func vdsoBase() (uintptr, error) {
	if pairs, err := unix.Auxv(); err == nil {
		for _, kv := range pairs {
			if kv[0] == atSysinfoEhdr {
				if kv[1] == 0 {
					break
				}
				return kv[1], nil
			}
		}
		return 0, fmt.Errorf("reading AT_SYSINFO_EHDR from the auxiliary vector: %w (kernel booted with vdso=0, or running under qemu-user)", ErrNoVDSO)
	}
	b, err := os.ReadFile(procSelf + "/auxv")
	if err != nil {
		return 0, fmt.Errorf("reading the auxiliary vector: %w", err)
	}
	v, err := auxvLookup(b, int(unsafe.Sizeof(uintptr(0))), atSysinfoEhdr)
	if err != nil {
		return 0, fmt.Errorf("reading AT_SYSINFO_EHDR: %w", err)
	}
	if v == 0 {
		return 0, fmt.Errorf("reading AT_SYSINFO_EHDR: %w", ErrNoVDSO)
	}
	return uintptr(v), nil
}

// readImage copies the vDSO ELF file mapped at base out of this process's
// memory through /proc/self/mem, so parsing works on a byte slice and an
// inconsistent header yields a read error rather than a fault. The first
// page holds the ELF and program headers (the mapping is page-granular,
// so at least one page is there); imageSize computes the rest.
func readImage(base uintptr) ([]byte, error) {
	f, err := os.Open(procSelf + "/mem")
	if err != nil {
		return nil, fmt.Errorf("opening own memory to read the vDSO: %w (is /proc mounted?)", err)
	}
	defer f.Close()
	head := make([]byte, os.Getpagesize())
	if _, err := f.ReadAt(head, int64(base)); err != nil {
		return nil, fmt.Errorf("reading the vDSO header at %#x: %w", base, err)
	}
	n, err := imageSize(head)
	if err != nil {
		return nil, fmt.Errorf("sizing the vDSO image: %w", err)
	}
	img := make([]byte, n)
	if _, err := f.ReadAt(img, int64(base)); err != nil {
		return nil, fmt.Errorf("reading the %d-byte vDSO image at %#x: %w", n, base, err)
	}
	return img, nil
}

// sleepSyscall sleeps until *ts on CLOCK_MONOTONIC with a raw
// clock_nanosleep(TIMER_ABSTIME), again after EINTR. Other errors
// (EFAULT, EINVAL) end the sleep: the caller reads the clock and goes on.
//
//go:nosplit
func sleepSyscall(ts *unix.Timespec) {
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_CLOCK_NANOSLEEP, unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME,
			uintptr(unsafe.Pointer(ts)), 0, 0, 0)
		if e != unix.EINTR {
			return
		}
	}
}
