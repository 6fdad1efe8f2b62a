//go:build !linux

package rttest

import "testing"

// RequirePreemptRT skips: only Linux has PREEMPT_RT.
func RequirePreemptRT(tb testing.TB) {
	tb.Helper()
	tb.Skip("needs Linux with a PREEMPT_RT kernel")
}

// RequireCPU skips: CPU affinity is Linux-only here.
func RequireCPU(tb testing.TB, cpu int) {
	tb.Helper()
	tb.Skipf("needs Linux to pin to CPU %d", cpu)
}
