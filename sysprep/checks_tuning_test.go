package sysprep

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtcell/rtcell/sysprep/internal/synth"
)

// TestTuningChecks runs each check tuned and rtcqs have on a tuned tree
// (pass), an untuned one (warn, with a remedy) and one without the file
// the check reads (skip, naming what is missing).
func TestTuningChecks(t *testing.T) {
	tests := []struct {
		id      string
		remove  []string // files whose absence makes the check a skip
		skipSay string
		remedy  string // in the untuned remedy, or the kernel parameter it wants
	}{
		{"kernel.nmi_watchdog", []string{"proc/sys/kernel/nmi_watchdog"}, "hard-lockup detector", "nmi_watchdog=0"},
		{"kernel.softlockup", []string{"proc/sys/kernel/soft_watchdog"}, "soft-lockup detector", "nosoftlockup"},
		{"kernel.skew_tick", nil, "", "skew_tick=1"},
		{"clock.tsc_watchdog", []string{"sys/devices/system/clocksource/clocksource0/current_clocksource"}, "current_clocksource", "tsc=reliable"},
		{"sched.numa_balancing", []string{"proc/sys/kernel/numa_balancing"}, "CONFIG_NUMA_BALANCING", "kernel.numa_balancing=0"},
		{"mem.ksm", []string{"sys/kernel/mm/ksm/run"}, "CONFIG_KSM", "echo 0 > /sys/kernel/mm/ksm/run"},
		{"vm.stat_interval", []string{"proc/sys/vm/stat_interval"}, "no vmstat sysctl", "vm.stat_interval=10"},
		{"cpu.boost", []string{"sys/devices/system/cpu/intel_pstate/no_turbo"}, "no cpufreq boost control", "echo 1 > /sys/devices/system/cpu/intel_pstate/no_turbo"},
		{"kernel.rcu_normal", []string{"sys/kernel/rcu_normal"}, "TINY_RCU", "rcupdate.rcu_normal_after_boot=1"},
	}
	good := runTree(t, synth.Good(), Options{})
	untunedP := synthTrees["synth-untuned"]
	untuned := runTree(t, untunedP, Options{})
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			if r := result(t, good, tt.id); r.Status != Pass {
				t.Errorf("tuned tree: %s: %s", r.Status, r.Observed)
			}
			r := result(t, untuned, tt.id)
			if r.Status != Warn {
				t.Errorf("untuned tree: %s, want warn: %s", r.Status, r.Observed)
			}
			if !strings.Contains(r.Remedy+" "+strings.Join(r.KernelParams, " "), tt.remedy) {
				t.Errorf("untuned remedy %q (params %v) lacks %q", r.Remedy, r.KernelParams, tt.remedy)
			}
			if len(tt.remove) == 0 {
				return
			}
			env, dir := writeTree(t, untunedP)
			for _, f := range tt.remove {
				if err := os.Remove(filepath.Join(dir, f)); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := Run(env, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if r := result(t, rep, tt.id); r.Status != Skip || !strings.Contains(r.Observed, tt.skipSay) {
				t.Errorf("without %v: %s %q, want skip saying %q", tt.remove, r.Status, r.Observed, tt.skipSay)
			}
		})
	}
}

// TestStalld: running stalld passes; where it is packaged (Fedora, the
// RHEL family) a missing stalld warns with the install command; where it
// is not (Debian 12), the check is a skip that names the guards instead.
func TestStalld(t *testing.T) {
	env, dir := writeTree(t, synth.Good())
	rep, _ := Run(env, Options{})
	if r := result(t, rep, "sched.stalld"); r.Status != Skip || !strings.Contains(r.Observed, "does not package it") || !strings.Contains(r.Observed, "rtcell's watchdog") || r.Remedy != "" {
		t.Errorf("Debian: %s %q remedy %q", r.Status, r.Observed, r.Remedy)
	}
	os.WriteFile(filepath.Join(dir, "etc/os-release"), []byte("ID=rocky\nID_LIKE=\"rhel centos fedora\"\nPRETTY_NAME=\"Rocky Linux 9\"\n"), 0o644)
	rep, _ = Run(env, Options{})
	if r := result(t, rep, "sched.stalld"); r.Status != Warn || !strings.Contains(r.Remedy, "dnf install -y stalld") {
		t.Errorf("Rocky: %s remedy %q", r.Status, r.Remedy)
	}
	// A stalld process.
	d := filepath.Join(dir, "proc", "777")
	os.MkdirAll(d, 0o755)
	os.WriteFile(filepath.Join(d, "stat"), []byte("777 (stalld) S 1 777 777 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 10 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"), 0o644)
	os.WriteFile(filepath.Join(d, "status"), []byte("Name:\tstalld\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\n"), 0o644)
	rep, _ = Run(env, Options{})
	if r := result(t, rep, "sched.stalld"); r.Status != Pass {
		t.Errorf("stalld running: %s %q", r.Status, r.Observed)
	}
}

// TestSharedIRQ: a device IRQ line shared with a real-time device warns.
func TestSharedIRQ(t *testing.T) {
	p := synth.Good()
	p.IRQsOnRT = []int{30}
	p.IRQNames = map[int]string{30: "eth1"}
	env, dir := writeTree(t, p)
	path := filepath.Join(dir, "proc", "interrupts")
	b, _ := os.ReadFile(path)
	s := strings.Replace(string(b), "      eth1\n", "      eth1, snd_hda_intel\n", 1)
	if s == string(b) {
		t.Fatal("no eth1 line to share")
	}
	os.WriteFile(path, []byte(s), 0o644)
	rep, _ := Run(env, Options{AllowIRQs: []string{"eth1"}})
	r := result(t, rep, "irq.shared")
	if r.Status != Warn || !strings.Contains(r.Observed, "IRQ 30 (eth1, snd_hda_intel)") {
		t.Errorf("irq.shared %s %q", r.Status, r.Observed)
	}
	if r := result(t, runFixture(t, "synth-good", Options{}), "irq.shared"); r.Status != Pass {
		t.Errorf("good tree: %s", r.Status)
	}
}
