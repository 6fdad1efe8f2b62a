package runner

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestBusyFixtures judges rounds from /proc/stat and /proc/loadavg texts
// taken at both ends: box-busy was captured on the 2-vCPU build VM while
// other test runs kept it busy; quiet, steal and broken are hand-made
// from it. CPU 1 is the RT CPU.
func TestBusyFixtures(t *testing.T) {
	tests := []struct {
		name               string
		loaded             bool
		steal, other, load float64
		reasons            []string // substrings; none means a quiet round
		err                string
	}{
		{name: "box-busy", steal: 1.7, other: 97.0, load: 14.97,
			reasons: []string{"load average 14.97 above 2 CPUs", "other tasks ran 97.0 % of the time on CPU 1"}},
		{name: "box-busy", loaded: true, steal: 1.7, other: 97.0, load: 14.97,
			reasons: []string{"other tasks ran 97.0 %"}},
		{name: "quiet", steal: 0.7, other: 1.0, load: 0.42},
		{name: "steal", steal: 9.7, other: 0.3, load: 1.20,
			reasons: []string{"9.7 % of CPU 1's time stolen by the hypervisor"}},
		{name: "broken", err: "reading cpu times"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "busy", tt.name)
			before, err := newBusyMeter(filepath.Join(dir, "before"), 1, 2, tt.loaded)
			if err != nil {
				t.Fatal(err)
			}
			after, err := newBusyMeter(filepath.Join(dir, "after"), 1, 2, tt.loaded)
			if err != nil {
				t.Fatal(err)
			}
			b, err := before.sample()
			if err != nil {
				t.Fatal(err)
			}
			// This process reaps no child between the samples: the
			// round's own CPU time is 0, all busy time is others'.
			got := after.end(b)
			if tt.err != "" {
				if !strings.Contains(got.Error, tt.err) {
					t.Fatalf("error %q, want %q", got.Error, tt.err)
				}
				return
			}
			if got.Error != "" {
				t.Fatal(got.Error)
			}
			if got.StealPct != tt.steal || got.OtherPct != tt.other || got.LoadAvg1 != tt.load || got.CPUs != 2 {
				t.Errorf("got %+v, want steal %.1f other %.1f load %.2f", got, tt.steal, tt.other, tt.load)
			}
			if len(tt.reasons) == 0 && got.Reason != "" {
				t.Errorf("quiet round judged busy: %q", got.Reason)
			}
			if len(tt.reasons) > 0 && got.Reason == "" {
				t.Errorf("busy round not judged busy")
			}
			for _, r := range tt.reasons {
				if !strings.Contains(got.Reason, r) {
					t.Errorf("reason %q lacks %q", got.Reason, r)
				}
			}
			if tt.loaded && strings.Contains(got.Reason, "load average") {
				t.Errorf("load average counted against a loaded round: %q", got.Reason)
			}
		})
	}
}

// TestJudgeBusy covers the arithmetic the fixtures do not: the round's
// own CPU time is not others', and a round with no tick is no verdict.
func TestJudgeBusy(t *testing.T) {
	s := func(user, system, idle, steal, own float64) busySample {
		var b busySample
		b.cpu.User, b.cpu.System, b.cpu.Idle, b.cpu.Steal, b.ownSec = user, system, idle, steal, own
		return b
	}
	tests := []struct {
		name          string
		before, after busySample
		load          float64
		other, steal  float64
		busy          bool
		err           bool
	}{
		{"own time is not others'", s(10, 10, 10, 0, 5), s(11, 12, 17, 0, 7.9), 0.5, 1.0, 0, false, false},
		{"own time beyond the CPU's", s(10, 10, 10, 0, 0), s(10.5, 10, 19.5, 0, 3), 0.5, 0, 0, false, false},
		{"others at the limit", s(0, 0, 0, 0, 0), s(0.5, 0, 9.5, 0, 0), 0.5, 5.0, 0, false, false},
		{"others beyond the limit", s(0, 0, 0, 0, 0), s(0.51, 0, 9.49, 0, 0), 0.5, 5.1, 0, true, false},
		{"load at the CPU count", s(0, 0, 0, 0, 0), s(0, 0, 10, 0, 0), 2.0, 0, 0, false, false},
		{"load above the CPU count", s(0, 0, 0, 0, 0), s(0, 0, 10, 0, 0), 2.01, 0, 0, true, false},
		{"counters went back", s(5, 5, 5, 5, 0), s(0, 0, 15, 0, 0), 0.1, 0, 0, false, false},
		{"no tick", s(1, 1, 1, 1, 0), s(1, 1, 1, 1, 0), 0.1, 0, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := judgeBusy(tt.before, tt.after, tt.load, 1, 2, false)
			if (got.Error != "") != tt.err {
				t.Fatalf("error %q, want error %v", got.Error, tt.err)
			}
			if got.OtherPct != tt.other || got.StealPct != tt.steal || (got.Reason != "") != tt.busy {
				t.Errorf("got %+v, want other %.1f steal %.1f busy %v", got, tt.other, tt.steal, tt.busy)
			}
		})
	}
}
