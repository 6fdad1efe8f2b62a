package runner

import "testing"

func TestPhaseTraceFile(t *testing.T) {
	for _, tc := range []struct{ file, phase, want string }{
		{"out/run.trace.txt", "load", "out/run.load.trace.txt"},
		{"rtcell.trace.txt", "idle", "rtcell.idle.trace.txt"},
		{"t.txt", "load", "t.load.txt"},
		{"trace", "idle", "trace.idle"},
	} {
		if got := phaseTraceFile(tc.file, tc.phase); got != tc.want {
			t.Errorf("phaseTraceFile(%q, %q) = %q, want %q", tc.file, tc.phase, got, tc.want)
		}
	}
}
