package runner

import (
	"testing"

	"github.com/rtcell/rtcell/runner/report"
)

// TestVerdict is the verdict table: failed wins over everything, then
// not real-time (a non-RT policy or a kernel that is not PREEMPT_RT,
// with or without violations), then violations, then pass.
func TestVerdict(t *testing.T) {
	tests := []struct {
		name     string
		code     int
		realtime bool
		want     string
	}{
		{"RT, clean", ExitOK, true, report.VerdictPass},
		{"RT, violations", ExitViolations, true, report.VerdictViolations},
		{"non-RT kernel, clean", ExitOK, false, report.VerdictNotRealtime},
		{"non-RT kernel, violations", ExitViolations, false, report.VerdictNotRealtime},
		{"SCHED_OTHER, violations", ExitViolations, false, report.VerdictNotRealtime},
		{"worker failed on a non-RT kernel", ExitWorkerFailed, false, report.VerdictFailed},
		{"worker failed on RT", ExitWorkerFailed, true, report.VerdictFailed},
		{"config error", ExitConfig, true, report.VerdictFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := verdict(tt.code, tt.realtime); got != tt.want {
				t.Errorf("verdict(%d, realtime %v) = %q, want %q", tt.code, tt.realtime, got, tt.want)
			}
		})
	}
}
