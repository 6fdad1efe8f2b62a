package rt

import "syscall"

// touchFreshPage maps a fresh anonymous page, has the kernel write to
// it (clock_gettime's result) and unmaps it: one page fault (at the
// write, or at the mmap when mlockall's MCL_FUTURE populates new
// mappings), with no Go allocation.
func touchFreshPage() {
	const size = 4096
	addr, _, errno := syscall.RawSyscall6(syscall.SYS_MMAP, 0, size,
		syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON, ^uintptr(0), 0)
	if errno != 0 {
		return
	}
	syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, 1 /* CLOCK_MONOTONIC */, addr, 0)
	syscall.RawSyscall(syscall.SYS_MUNMAP, addr, size, 0)
}
