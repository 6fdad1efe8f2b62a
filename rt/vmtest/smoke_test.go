//go:build vmtest

package vmtest

import (
	"encoding/json"
	"strings"
	"testing"
)

// goodCmdline isolates CPU 1 the way a commissioned box does.
const goodCmdline = "isolcpus=1 nohz_full=1 rcu_nocbs=1 irqaffinity=0"

// noIsolationCmdline is goodCmdline without isolcpus and nohz_full.
const noIsolationCmdline = "rcu_nocbs=1 irqaffinity=0"

// cyclictestJSON is the part of cyclictest --json output the smoke test reads.
type cyclictestJSON struct {
	NumThreads int `json:"num_threads"`
	Sysinfo    struct {
		Realtime int `json:"realtime"`
	} `json:"sysinfo"`
	Thread map[string]struct {
		Cycles int `json:"cycles"`
		Min    int `json:"min"`
		Max    int `json:"max"`
		CPU    int `json:"cpu"`
	} `json:"thread"`
}

func TestSmoke(t *testing.T) {
	t.Run("good", func(t *testing.T) {
		r := MustBoot(t, Scenario{
			Name:    "smoke-good",
			Cmdline: goodCmdline,
			Init: `
vm_file realtime /sys/kernel/realtime
vm_file isolated /sys/devices/system/cpu/isolated
vm_file nohz_full /sys/devices/system/cpu/nohz_full
vm_run uname uname -v
vm_run cyclictest cyclictest -m -p 90 -i 1000 -l 200 -q -t 1 -a 1 --json=/tmp/c.json
vm_file cyclictest.json /tmp/c.json
`,
		})
		if got := strings.TrimSpace(string(r.Must(t, "realtime").Data)); got != "1" {
			t.Errorf("/sys/kernel/realtime = %q, want 1 (QEMU log: %s)", got, r.Log)
		}
		if got := strings.TrimSpace(string(r.Must(t, "isolated").Data)); got != "1" {
			t.Errorf("/sys/devices/system/cpu/isolated = %q, want 1 (QEMU log: %s)", got, r.Log)
		}
		if got := strings.TrimSpace(string(r.Must(t, "nohz_full").Data)); got != "1" {
			t.Errorf("/sys/devices/system/cpu/nohz_full = %q, want 1 (QEMU log: %s)", got, r.Log)
		}
		if u := r.Must(t, "uname"); !strings.Contains(string(u.Data), "PREEMPT_RT") {
			t.Errorf("uname -v = %q, want PREEMPT_RT in it (QEMU log: %s)", u.Data, r.Log)
		}
		ct := r.Must(t, "cyclictest")
		if ct.RC != 0 {
			t.Fatalf("cyclictest exited %d: %s (QEMU log: %s)", ct.RC, r.Must(t, "cyclictest.stderr").Data, r.Log)
		}
		var cj cyclictestJSON
		if err := json.Unmarshal(r.Must(t, "cyclictest.json").Data, &cj); err != nil {
			t.Fatalf("cyclictest --json output does not parse: %v (QEMU log: %s)", err, r.Log)
		}
		th, ok := cj.Thread["0"]
		if cj.NumThreads != 1 || !ok {
			t.Fatalf("cyclictest JSON has %d threads and thread 0 = %v, want 1 thread (QEMU log: %s)", cj.NumThreads, ok, r.Log)
		}
		if th.Cycles != 200 || th.CPU != 1 {
			t.Errorf("cyclictest thread 0 ran %d cycles on CPU %d, want 200 on CPU 1 (QEMU log: %s)", th.Cycles, th.CPU, r.Log)
		}
		if cj.Sysinfo.Realtime != 1 {
			t.Errorf("cyclictest sysinfo.realtime = %d, want 1 (QEMU log: %s)", cj.Sysinfo.Realtime, r.Log)
		}
		t.Logf("cyclictest under TCG (behaviour only, not performance): min %d µs, max %d µs", th.Min, th.Max)
	})
	t.Run("no-isolation", func(t *testing.T) {
		r := MustBoot(t, Scenario{
			Name:    "smoke-no-isolation",
			Cmdline: noIsolationCmdline,
			Init: `
vm_file realtime /sys/kernel/realtime
vm_file isolated /sys/devices/system/cpu/isolated
vm_file cmdline /proc/cmdline
`,
		})
		if got := strings.TrimSpace(string(r.Must(t, "isolated").Data)); got != "" {
			t.Errorf("/sys/devices/system/cpu/isolated = %q, want empty (QEMU log: %s)", got, r.Log)
		}
		if got := strings.TrimSpace(string(r.Must(t, "realtime").Data)); got != "1" {
			t.Errorf("/sys/kernel/realtime = %q, want 1 (QEMU log: %s)", got, r.Log)
		}
		if c := string(r.Must(t, "cmdline").Data); strings.Contains(c, "isolcpus") || !strings.Contains(c, "rcu_nocbs=1") {
			t.Errorf("/proc/cmdline = %q, want rcu_nocbs=1 and no isolcpus (QEMU log: %s)", c, r.Log)
		}
	})
}
