package report

import (
	"strings"
	"testing"
)

// TestVerdictText: the verdict line says the verdict first in plain
// words, says why a run is not real-time, and still names violations.
func TestVerdictText(t *testing.T) {
	viol := []Task{{DeadlineMisses: 3, Overruns: 1, MissedReleases: 2}}
	tests := []struct {
		name      string
		r         Report
		want, not []string
	}{
		{"pass", Report{Verdict: VerdictPass, Host: Host{Realtime: true}}, []string{"PASS"}, []string{"NOT REAL-TIME"}},
		{"violations", Report{Verdict: VerdictViolations, Host: Host{Realtime: true}, Tasks: viol},
			[]string{"VIOLATIONS", "deadline misses 3, overruns 1, missed releases 2"}, []string{"NOT REAL-TIME"}},
		{"kernel, clean", Report{Verdict: VerdictNotRealtime},
			[]string{"NOT REAL-TIME: the kernel is not PREEMPT_RT"}, []string{"violations", "allow_non_rt"}},
		{"kernel, violations", Report{Verdict: VerdictNotRealtime, Tasks: viol},
			[]string{"NOT REAL-TIME: the kernel is not PREEMPT_RT", "deadline misses 3"}, []string{"allow_non_rt"}},
		{"SCHED_OTHER", Report{Verdict: VerdictNotRealtime, NotRealtime: true, Host: Host{Realtime: true}, Tasks: viol},
			[]string{"NOT REAL-TIME: the tasks ran at SCHED_OTHER", "deadline misses 3"}, []string{"kernel"}},
		{"RT kernel, runtime settings", Report{Verdict: VerdictNotRealtime, Host: Host{Realtime: true}},
			[]string{"NOT REAL-TIME: a task did not run at an RT policy"}, nil},
		{"failed", Report{Verdict: VerdictFailed, Tasks: viol}, []string{"FAILED"}, []string{"NOT REAL-TIME"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.r.VerdictText()
			if !strings.HasPrefix(s, VerdictLabel(tt.r.Verdict)) {
				t.Errorf("%q does not start with %q", s, VerdictLabel(tt.r.Verdict))
			}
			for _, w := range tt.want {
				if !strings.Contains(s, w) {
					t.Errorf("%q lacks %q", s, w)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(s, w) {
					t.Errorf("%q has %q", s, w)
				}
			}
			var b strings.Builder
			if err := tt.r.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			txt := b.String()
			if !strings.Contains(txt, "\nverdict: "+s+"\n") {
				t.Errorf("text does not end with the verdict line:\n%s", txt)
			}
			if head := strings.HasPrefix(txt, "NOT REAL-TIME"); head != (tt.r.Verdict == VerdictNotRealtime) {
				t.Errorf("text headed by NOT REAL-TIME: %v, verdict %s", head, tt.r.Verdict)
			}
		})
	}
}

// TestTextEscapesBox: text from the box reaches the terminal escaped.
func TestTextEscapesBox(t *testing.T) {
	r := Report{Verdict: VerdictPass, Host: Host{Hostname: "h\x1b]0;x\a", Cmdline: "quiet \x1b[2J", Product: "P\x9b1m", CPUModel: "AMD EPYC"},
		Tasks: []Task{{Name: "t\x1b[1m"}}} // a JSON read back may hold any name
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	if strings.ContainsAny(s, "\x1b\a\u009b") {
		t.Errorf("control characters reach the text:\n%q", s)
	}
	for _, w := range []string{`h\x1b]0;x\a`, `cmdline    quiet \x1b[2J`, "box        AMD EPYC, " + `P\x9b1m`, `task t\x1b[1m on CPU`} {
		if !strings.Contains(s, w) {
			t.Errorf("text lacks %q:\n%s", w, s)
		}
	}
}
