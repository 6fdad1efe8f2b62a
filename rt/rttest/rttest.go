// Package rttest holds test helpers that skip a test, with the exact
// reason, when the machine cannot run it: not root, no CAP_SYS_NICE,
// no PREEMPT_RT kernel, a missing tool. In CI, which runs as root on a
// Debian box with rt-tests installed, none of them skip except
// RequirePreemptRT.
//
// LeaseCPU is the other half: a test that pins a real-time loop to a CPU
// leases that CPU first, so that packages tested in parallel never run
// their loops on the same CPU at once.
package rttest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
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
	CapIPCLock = 14
	CapSysNice = 23
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
