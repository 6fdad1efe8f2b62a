package vdso

// How the fast path works, and why it is safe (linux/amd64).
//
// The kernel maps a small ELF library, the vDSO, into every process. Its
// __vdso_clock_gettime@LINUX_2.6 reads the clocksource (the TSC here)
// and the kernel's timekeeping page without entering the kernel. The Go
// runtime calls it for CLOCK_MONOTONIC (runtime.nanotime1 in
// sys_linux_amd64.s) but never for CLOCK_MONOTONIC_RAW, and unix.ClockGettime
// is a real system call. So this package resolves the symbol itself, once,
// at package init: AT_SYSINFO_EHDR from the auxiliary vector gives the
// vDSO's address, the image is copied out through /proc/self/mem and
// parsed by findSymbol (elf.go), and the resolved address is checked to
// lie inside the vDSO's loaded segment. A first call at init must return
// 0 and a time between two system-call reads, or the fast path stays off.
//
// The vDSO function is C code (System V ABI), so callVDSO
// (clock_linux_amd64.s) runs it the way runtime.nanotime1 does, with one
// change: nanotime1 switches to the thread's g0 stack, which code outside
// the runtime cannot reach. callVDSO switches instead to a private stack
// from a pool that this file allocates at init:
//
//   - Size. Each stack is 16 KiB, the size of a Go-created thread's g0
//     stack, with a PROT_NONE guard page below it. The vDSO here uses
//     under 100 bytes; kernels built with stack probes (golang/go#20427)
//     touch up to a page below the stack pointer, which is why the
//     runtime left the goroutine stack and why 16 KiB, not a few hundred
//     bytes. An overflow hits the guard page and faults; it cannot
//     corrupt memory.
//   - Alignment and registers. The stack pointer is 16-byte aligned at
//     the CALL, as the ABI requires. The caller's SP is kept in R12, which
//     the ABI makes callee-saved. R14 (g) is callee-saved too, and the
//     ABI0-to-ABIInternal wrapper reloads it and re-zeroes X15 after the
//     call. The vDSO's int return is sign-extended.
//   - Ownership. A stack is taken with a compare-and-swap on its busy flag
//     and released by callVDSO's store of 0 after the call. The goroutine cannot be rescheduled in
//     between: fastRaw is nosplit (no stack check, so no synchronous
//     preemption point) and the assembly is not an asynchronous safe point
//     (the runtime never async-preempts assembly or non-Go code). A
//     thread the OS deschedules mid-call just keeps its slot; other
//     callers take another slot or, if all are busy, the system call.
//     Slots are hashed by the caller's stack address so concurrent
//     goroutines rarely share a cache line.
//   - Signals. Go installs every handler with SA_ONSTACK and gives each
//     thread a signal stack, so the kernel delivers signals on that stack,
//     never on the private one. On amd64 the handler finds the goroutine
//     through thread-local storage, which the vDSO cannot change. (arm64
//     differs: see fast_linux_noasm.go.) An async-preemption signal sees a
//     PC outside Go code, or in assembly, and does nothing. A profiling
//     signal unwinds from the interrupted PC: inside the vDSO that fails
//     silently and the sample is charged to "_VDSO"; inside callVDSO
//     (frame size 0) the unwinder reads the return address at the
//     private SP, where callVDSO keeps a zero word, and stops. The memory
//     it reads is always mapped.
//   - Garbage collection. The stacks are mmap'd outside the Go heap and
//     hold no Go pointers. The goroutine's own stack cannot move during
//     the call (moving needs a safe point, and there is none).
//
// The path is nosplit and allocation-free from MonotonicRaw down, and it
// makes no system call and never enters the scheduler, so it is safe from
// a goroutine locked to a SCHED_FIFO thread that sleeps with raw system
// calls.

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
	"runtime"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	clockMonotonic    = 1
	clockMonotonicRaw = 4

	privateStackSize = 16 << 10
	maxStackSlots    = 64
)

// callVDSO calls the C function fn(clock, &ts) on the private stack whose
// top (16-byte aligned, exclusive) is stackTop, releases the stack by
// storing 0 to *busy, and returns ts as nanoseconds and the function's int
// result (0, or -errno).
//
//go:noescape
func callVDSO(fn, stackTop uintptr, busy *uint32, clock int32) (ns int64, ret int64)

// stackSlot is one private stack, padded to its own pair of cache lines.
type stackSlot struct {
	busy uint32 // 1 while a call runs on the stack; taken with CAS, released by callVDSO
	top  uintptr
	_    [128 - 16]byte
}

var (
	// vdsoFn is the resolved __vdso_clock_gettime, 0 when the fast path
	// is off. It is set last in setupFast and never changes afterwards.
	vdsoFn   uintptr
	slotMask uint32
	slots    [maxStackSlots]stackSlot
)

//go:nosplit
func fastReady() bool { return vdsoFn != 0 }

// fastRaw reads CLOCK_MONOTONIC_RAW through the vDSO. ok is false when
// the fast path is off, every private stack is busy, or the vDSO returned
// an error; the caller then makes the system call.
//
//go:nosplit
func fastRaw() (ns int64, ok bool) {
	fn := vdsoFn
	if fn == 0 {
		return 0, false
	}
	s := takeSlot()
	if s == nil {
		return 0, false
	}
	ns, ret := callVDSO(fn, s.top, &s.busy, clockMonotonicRaw)
	return ns, ret == 0
}

// takeSlot takes a free private stack, or returns nil when all are busy.
// The caller must hand its busy flag to callVDSO or sleepVDSO, which
// release it.
//
//go:nosplit
func takeSlot() *stackSlot {
	var probe byte
	h := uint32(uintptr(unsafe.Pointer(&probe)) >> 13)
	for i := uint32(0); i <= slotMask; i++ {
		s := &slots[(h+i)&slotMask]
		if atomic.LoadUint32(&s.busy) == 0 && atomic.CompareAndSwapUint32(&s.busy, 0, 1) {
			return s
		}
	}
	return nil
}

// sleepVDSO sleeps until *ts on CLOCK_MONOTONIC (TIMER_ABSTIME), then
// reads CLOCK_MONOTONIC through the vDSO on the private stack whose top is
// stackTop, releases the stack by storing 0 to *busy, and returns the
// reading and the vDSO function's result (0, or -errno). See
// clock_linux_amd64.s.
//
//go:noescape
func sleepVDSO(ts *unix.Timespec, fn, stackTop uintptr, busy *uint32) (ns int64, ret int64)

// SleepMonotonic sleeps until the CLOCK_MONOTONIC instant t (ns) with
// clock_nanosleep(TIMER_ABSTIME) and returns CLOCK_MONOTONIC read right
// after the wake-up: the reading cyclictest takes to measure wake latency.
//
// The sleep is a raw system call: the goroutine does not tell the
// scheduler it blocks, so it keeps its P and its thread, and no other
// goroutine of the process runs while it sleeps. On the fast path the
// sleep and the clock read are one assembly routine, so the reading is
// taken by the first instructions after the system call returns, before
// any Go code runs (the Go return path and the runtime's clock read,
// whose code and data are cold in the cache after a sleep, cost several
// hundred ns on a VM). The routine holds one private stack for the
// duration of the sleep; concurrent MonotonicRaw calls use the others or
// the system call. Without the fast path it sleeps with unix.RawSyscall6
// and reads Nanotime. It never allocates and is nosplit.
//
//go:nosplit
func SleepMonotonic(t int64) int64 {
	ts := unix.Timespec{Sec: t / 1e9, Nsec: t % 1e9}
	if fn := vdsoFn; fn != 0 {
		if s := takeSlot(); s != nil {
			ns, ret := sleepVDSO(&ts, fn, s.top, &s.busy)
			if ret == 0 {
				return ns
			}
			return nanotime()
		}
	}
	sleepSyscall(&ts)
	return nanotime()
}

// callOnSlot calls the vDSO on slot 0 with any clock, for tests.
func callOnSlot(clock int32) (ns int64, ret int64, err error) {
	if vdsoFn == 0 {
		return 0, 0, fallbackReason
	}
	s := &slots[0]
	for !atomic.CompareAndSwapUint32(&s.busy, 0, 1) {
		runtime.Gosched()
	}
	ns, ret = callVDSO(vdsoFn, s.top, &s.busy, clock)
	return ns, ret, nil
}

// setupFast resolves the vDSO symbol, allocates the stacks and checks one
// call; on any failure it leaves the fast path off and says why.
func setupFast() error {
	base, err := vdsoBase()
	if err != nil {
		return err
	}
	img, err := readImage(base)
	if err != nil {
		return err
	}
	off, err := findSymbol(img, keyAMD64)
	if err != nil {
		return fmt.Errorf("resolving the vDSO clock_gettime: %w", err)
	}
	if err := allocStacks(); err != nil {
		return err
	}
	fn := base + uintptr(off)

	// One checked call before enabling: a wrong symbol or ABI shows here,
	// at init, instead of as bad timestamps later.
	before := syscallRaw()
	slots[0].busy = 1
	ns, ret := callVDSO(fn, slots[0].top, &slots[0].busy, clockMonotonicRaw)
	after := syscallRaw()
	if ret != 0 {
		return fmt.Errorf("checking the vDSO clock_gettime(CLOCK_MONOTONIC_RAW): returned %d: %w", ret, ErrSymbolNotFound)
	}
	if ns < before || ns > after {
		return fmt.Errorf("checking the vDSO clock_gettime(CLOCK_MONOTONIC_RAW): %d outside the system call readings [%d, %d]: %w", ns, before, after, ErrSymbolNotFound)
	}
	vdsoFn = fn
	return nil
}

// allocStacks maps the private stacks, one per CPU or P (whichever is
// more) rounded up to a power of two, between 2 and maxStackSlots, each
// with a guard page below it. The top page of each stack is touched so
// the first call takes no page fault (mlockall would do it as well). The
// pool is n*(16 KiB + a page) of address space, 20 KiB per slot.
func allocStacks() error {
	n := max(runtime.NumCPU(), runtime.GOMAXPROCS(0))
	n = min(max(n, 2), maxStackSlots)
	n = 1 << bits.Len(uint(n-1))
	page := os.Getpagesize()
	slotLen := page + privateStackSize
	mem, err := unix.Mmap(-1, 0, n*slotLen, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_STACK)
	if err != nil {
		return fmt.Errorf("mapping %d private stacks for vDSO calls: %w", n, err)
	}
	base := uintptr(unsafe.Pointer(&mem[0]))
	for i := range n {
		if err := unix.Mprotect(mem[i*slotLen:i*slotLen+page], unix.PROT_NONE); err != nil {
			return errors.Join(fmt.Errorf("protecting guard page of private stack %d: %w", i, err), unix.Munmap(mem))
		}
		end := (i + 1) * slotLen
		clear(mem[end-page : end])
		slots[i].top = base + uintptr(end)
	}
	// The mapping is never unmapped: callers may hold a slot at any time.
	slotMask = uint32(n - 1)
	return nil
}
