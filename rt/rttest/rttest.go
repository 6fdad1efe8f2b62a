// Package rttest holds test helpers that skip a test, with the exact
// reason, when the machine cannot run it: not root, no CAP_SYS_NICE,
// no PREEMPT_RT kernel, a missing tool. In CI, which runs as root on a
// Debian box with rt-tests installed, none of them skip except
// RequirePreemptRT.
package rttest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// RequireRoot skips the test unless it runs with effective UID 0.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skipf("needs root (euid is %d): run `sudo go test` or `make test` as root", os.Geteuid())
	}
}

// Capability numbers from linux/capability.h, for RequireCap.
const (
	CapIPCLock = unix.CAP_IPC_LOCK
	CapSysNice = unix.CAP_SYS_NICE
)

// HasCap reports whether the calling process has capability c in its
// effective set, from /proc/self/status CapEff.
func HasCap(c int) bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		hex, ok := strings.CutPrefix(line, "CapEff:")
		if !ok {
			continue
		}
		var v uint64
		for _, ch := range strings.TrimSpace(hex) {
			v <<= 4
			switch {
			case ch >= '0' && ch <= '9':
				v |= uint64(ch - '0')
			case ch >= 'a' && ch <= 'f':
				v |= uint64(ch-'a') + 10
			}
		}
		return v&(1<<uint(c)) != 0
	}
	return false
}

// RequireCap skips the test unless the process has capability c
// (CapSysNice, CapIPCLock) in its effective set.
func RequireCap(tb testing.TB, c int) {
	tb.Helper()
	if !HasCap(c) {
		name, ok := map[int]string{CapIPCLock: "CAP_IPC_LOCK", CapSysNice: "CAP_SYS_NICE"}[c]
		if !ok {
			name = fmt.Sprintf("capability %d", c)
		}
		tb.Skipf("needs %s in the effective set: run as root or `setcap cap_sys_nice,cap_ipc_lock+ep` on the test binary", name)
	}
}

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

// RequireCommand skips the test unless name is on PATH, and returns its path.
// hint says how to install it, e.g. "apt-get install -y rt-tests".
func RequireCommand(tb testing.TB, name, hint string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s not found on PATH in CI: .ci/run must install it (%s)", name, hint)
		}
		tb.Skipf("needs %s on PATH: %s", name, hint)
	}
	return p
}
