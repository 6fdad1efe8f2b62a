package rttest

import (
	"bytes"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// RequirePreemptRT skips the test unless the running kernel is
// PREEMPT_RT, judged by /sys/kernel/realtime or `uname -v`.
func RequirePreemptRT(tb testing.TB) {
	tb.Helper()
	if b, err := os.ReadFile("/sys/kernel/realtime"); err == nil && bytes.Equal(bytes.TrimSpace(b), []byte("1")) {
		return
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil && bytes.Contains(u.Version[:], []byte("PREEMPT_RT")) {
		return
	}
	tb.Skip("needs a PREEMPT_RT kernel (/sys/kernel/realtime is not 1 and uname -v lacks PREEMPT_RT); `make vmtest` runs these checks in a QEMU guest")
}

// RequireCPU skips the test unless CPU cpu is online and in the
// process's allowed set.
func RequireCPU(tb testing.TB, cpu int) {
	tb.Helper()
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil || !set.IsSet(cpu) {
		tb.Skipf("needs CPU %d in the allowed set (this process may run on %d CPUs)", cpu, set.Count())
	}
}
