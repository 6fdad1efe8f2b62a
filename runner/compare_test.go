package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtcell/rtcell/runner/cyclictest"
)

func TestCompareOptionsInvalid(t *testing.T) {
	box := filepath.Join("..", "sysprep", "testdata", "host-vm") // CPUs 0-1 online
	root := func(o CompareOptions) CompareOptions {
		o.ProcRoot, o.SysRoot = filepath.Join(box, "proc"), filepath.Join(box, "sys")
		return o
	}
	tests := []struct {
		name string
		o    CompareOptions
		err  string
	}{
		{"offline cpu", root(CompareOptions{CPU: 2}), "--cpu 2: CPU 2 is not online (online: 0-1)"},
		{"negative cpu", root(CompareOptions{CPU: -1}), "--cpu -1"},
		{"priority", root(CompareOptions{CPU: 1, Priority: 100}), "--priority 100"},
		{"loops", root(CompareOptions{CPU: 1, Loops: -1}), "--loops -1"},
		{"rounds", root(CompareOptions{CPU: 1, Rounds: -2}), "--rounds -2"},
		{"interval", root(CompareOptions{CPU: 1, Interval: 5000}), "--interval 5µs"},
		{"wake", root(CompareOptions{CPU: 1, Wake: "busy"}), `--wake "busy"`},
		{"no sysfs", CompareOptions{CPU: 1, ProcRoot: t.TempDir(), SysRoot: t.TempDir()}, "--cpu 1: reading the online CPUs"},
		{"out is a file", root(CompareOptions{CPU: 1, Cyclictest: "/bin/true", Out: aFile(t)}), "--out "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compare(context.Background(), tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
		})
	}
}

func aFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCompareNotInstalled: without cyclictest, Compare says how to
// install rt-tests, once, before any round runs.
func TestCompareNotInstalled(t *testing.T) {
	box := filepath.Join("..", "sysprep", "testdata", "host-vm")
	var out strings.Builder
	_, err := Compare(context.Background(), CompareOptions{CPU: 1, Rounds: 3, Cyclictest: "/nonexistent/cyclictest",
		ProcRoot: filepath.Join(box, "proc"), SysRoot: filepath.Join(box, "sys"), Stdout: &out})
	if !errors.Is(err, cyclictest.ErrNotInstalled) {
		t.Fatalf("err = %v, want ErrNotInstalled", err)
	}
	if n := strings.Count(err.Error(), "install rt-tests"); n != 1 {
		t.Errorf("%q says install rt-tests %d times, want once", err, n)
	}
	if out.Len() != 0 {
		t.Errorf("a round ran: %q", out.String())
	}
}

func TestCompareTextUnreliable(t *testing.T) {
	quiet := &Busy{LoadAvg1: 0.3, CPUs: 2, StealPct: 0.5, OtherPct: 1.2}
	busy := func(why string) *Busy { return &Busy{LoadAvg1: 3.2, CPUs: 2, Reason: why} }
	mk := func(bs ...*Busy) *Comparison {
		c := &Comparison{Schema: CompareSchema, Wake: "sleep", Verdict: "PASS: x"}
		for _, b := range bs {
			c.Rounds = append(c.Rounds, Round{Busy: b})
		}
		c.Reliable, c.Unreliable = reliability(c.Rounds)
		return c
	}
	tests := []struct {
		name     string
		c        *Comparison
		reliable bool
		want     []string
	}{
		{"quiet", mk(quiet, quiet), true, []string{"verdict: PASS: x\n"}},
		{"no busy record", mk(nil), true, []string{"verdict: PASS: x\n"}},
		{"one busy", mk(quiet, busy("load average 3.20 above 2 CPUs")), false, []string{
			"round 2 busy: load average 3.20 above 2 CPUs\n",
			"verdict: PASS: x — UNRELIABLE: the box was busy in round 2\n"}},
		{"two busy", mk(busy("a"), quiet, busy("b")), false, []string{
			"round 1 busy: a\n", "round 3 busy: b\n",
			"verdict: PASS: x — UNRELIABLE: the box was busy in rounds 1, 3\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			c.Median.Ratio = Ratios{}
			var b strings.Builder
			if err := c.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			if c.Reliable != tt.reliable || (c.Unreliable == "") != tt.reliable {
				t.Errorf("reliable %v (%q), want %v", c.Reliable, c.Unreliable, tt.reliable)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("text lacks %q:\n%s", w, b.String())
				}
			}
			if tt.reliable && strings.Contains(b.String(), "UNRELIABLE") {
				t.Errorf("a quiet comparison marked unreliable:\n%s", b.String())
			}
		})
	}
}
