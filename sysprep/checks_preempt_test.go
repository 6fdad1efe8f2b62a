package sysprep

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rtcell/rtcell/sysprep/internal/synth"
)

func Test_parsePreemptMode(t *testing.T) {
	tests := []struct {
		name, in, want string
		bad            bool
	}{
		{"full", "none voluntary (full) lazy\n", "full", false},
		{"none", "(none) voluntary full lazy\n", "none", false},
		{"6.1 has no lazy", "none (voluntary) full\n", "voluntary", false},
		{"no choice", "none voluntary full lazy\n", "", true},
		{"two choices", "(none) (full)\n", "", true},
		{"empty parens", "() full\n", "", true},
		{"empty", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePreemptMode(tt.in)
			if got != tt.want || (err != nil) != tt.bad {
				t.Errorf("parsePreemptMode(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.bad)
			}
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v is not ErrMalformed", err)
			}
		})
	}
}

func FuzzParsePreemptMode(f *testing.F) {
	f.Add("none voluntary (full) lazy\n")
	f.Add("((x))")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parsePreemptMode(s)
		if err == nil && (m == "" || !strings.Contains(s, "("+m+")")) {
			t.Errorf("parsePreemptMode(%q) = %q", s, m)
		}
	})
}

// TestCheckPreemptMode runs kernel.preempt_mode on fixture trees: the RT
// tree, a non-RT tree in each way it can show its mode, and this VM.
func TestCheckPreemptMode(t *testing.T) {
	const (
		debugfs = "sys/kernel/debug/sched/preempt"
		kconfig = "boot/config-6.12.43+deb13-rt-amd64"
	)
	tests := []struct {
		name   string
		rt     bool
		files  map[string]string // written over the tree; "" removes
		status Status
		param  bool   // proposes preempt=full
		seen   string // in the observation
	}{
		{"PREEMPT_RT", true, nil, Skip, false, "not applicable"},
		{"debugfs full", false, map[string]string{debugfs: "none voluntary (full) lazy\n"}, Pass, false, "preemption mode full"},
		{"debugfs none", false, map[string]string{debugfs: "(none) voluntary full lazy\n"}, Warn, true, "preemption mode none"},
		{"debugfs lazy", false, map[string]string{debugfs: "none voluntary full (lazy)\n"}, Warn, true, "preemption mode lazy"},
		{"debugfs malformed", false, map[string]string{debugfs: "none voluntary full\n"}, Skip, false, "has no (choice)"},
		{"cmdline preempt=full", false, map[string]string{"proc/cmdline": "root=/dev/sda1 preempt=full\n"}, Pass, false, "preempt=full on the kernel command line"},
		{"cmdline preempt=bogus", false, map[string]string{"proc/cmdline": "root=/dev/sda1 preempt=bogus\n", kconfig: "CONFIG_PREEMPT_VOLUNTARY=y\nCONFIG_PREEMPT_DYNAMIC=y\n"}, Warn, true, "preempt=bogus on the kernel command line is no mode"},
		{"config default voluntary", false, map[string]string{kconfig: "CONFIG_PREEMPT_VOLUNTARY=y\nCONFIG_PREEMPT_DYNAMIC=y\n"}, Warn, true, "builds in voluntary as the default"},
		{"static voluntary kernel", false, map[string]string{
			kconfig:                   "CONFIG_PREEMPT_VOLUNTARY=y\n",
			"proc/sys/kernel/version": "#1 SMP Debian 6.1.0\n",
		}, Warn, false, "builds in voluntary"},
		{"static full kernel", false, map[string]string{kconfig: "CONFIG_PREEMPT=y\n", "proc/sys/kernel/version": "#1 SMP PREEMPT Debian\n"}, Pass, false, "preemption mode full"},
		{"nothing to tell", false, nil, Skip, false, "names no preemption model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := synth.Good()
			p.RT = tt.rt
			env, dir := writeTree(t, p)
			for f, s := range tt.files {
				path := filepath.Join(dir, f)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := Run(env, Options{Checks: []string{"kernel.preempt_mode"}})
			if err != nil {
				t.Fatal(err)
			}
			r := rep.Checks[0]
			if r.Status != tt.status || !strings.Contains(r.Observed, tt.seen) {
				t.Errorf("%s: %s, want %s with %q", r.Status, r.Observed, tt.status, tt.seen)
			}
			if got := slices.Contains(r.KernelParams, "preempt=full"); got != tt.param {
				t.Errorf("kernel params %v, want preempt=full: %v", r.KernelParams, tt.param)
			}
			if (r.Status == Warn) != (r.Remedy != "") {
				t.Errorf("status %s with remedy %q", r.Status, r.Remedy)
			}
			if tt.param && (rep.KernelCmdline == nil || !strings.Contains(rep.KernelCmdline.Proposed, "preempt=full")) {
				t.Errorf("preempt=full not in the proposed command line: %+v", rep.KernelCmdline)
			}
		})
	}
	t.Run("host-vm", func(t *testing.T) {
		env, err := NewEnv("testdata/host-vm/proc", "testdata/host-vm/sys")
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Run(env, Options{Checks: []string{"kernel.preempt_mode"}})
		if err != nil {
			t.Fatal(err)
		}
		if r := rep.Checks[0]; r.Status != Warn || !strings.Contains(r.Observed, "preemption mode none") || !slices.Contains(r.KernelParams, "preempt=full") {
			t.Errorf("host-vm: %+v", r)
		}
	})
}
