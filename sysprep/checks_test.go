package sysprep

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/rttest"
	"github.com/rtcell/rtcell/sysprep/internal/synth"
)

func result(t *testing.T, rep Report, id string) Result {
	t.Helper()
	for _, r := range rep.Checks {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no result for %s", id)
	return Result{}
}

// runFixture runs the checks on the committed tree testdata/<name>.
func runFixture(t *testing.T, name string, o Options) Report {
	t.Helper()
	env, err := NewEnv(filepath.Join("testdata", name, "proc"), filepath.Join("testdata", name, "sys"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(env, o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func runTree(t *testing.T, p synth.Params, o Options) Report {
	t.Helper()
	env, _ := writeTree(t, p)
	rep, err := Run(env, o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestRegistryStable(t *testing.T) {
	want := []string{"kernel.preempt_rt", "kernel.preempt_mode", "kernel.config", "cpu.isolated", "cpu.nohz_full", "cpu.rcu_nocbs", "cpu.smt",
		"cpu.governor", "cpu.idle", "irq.affinity", "irq.default_affinity", "irq.balance", "sched.rt_runtime",
		"sched.timer_migration", "threads.rt_cpus", "kthread.priorities", "workqueue.cpumask", "priv.sys_nice",
		"priv.memlock", "clock.source", "mem.thp", "mem.swap", "env.container",
		"kernel.nmi_watchdog", "kernel.softlockup", "kernel.skew_tick", "clock.tsc_watchdog", "sched.stalld",
		"sched.numa_balancing", "mem.ksm", "vm.stat_interval", "irq.shared", "cpu.boost", "kernel.rcu_normal"}
	var got []string
	for _, c := range Checks() {
		got = append(got, c.ID())
		if c.Title() == "" {
			t.Errorf("%s has no title", c.ID())
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("check IDs = %v, want %v", got, want)
	}
}

func TestGoodTreeAllPass(t *testing.T) {
	rep := runFixture(t, "synth-good", Options{})
	for _, r := range rep.Checks {
		if r.ID == "sched.stalld" && r.Status == Skip && strings.Contains(r.Observed, "does not package it") {
			continue // Debian has no stalld: the skip says what guards instead
		}
		if r.ID == "kernel.preempt_mode" && r.Status == Skip && strings.Contains(r.Observed, "not applicable: a PREEMPT_RT kernel") {
			continue // a question for non-RT kernels only
		}
		if r.Status != Pass {
			t.Errorf("%s = %s: %s", r.ID, r.Status, r.Observed)
		}
		if r.Remedy != "" {
			t.Errorf("%s passed with a remedy %q", r.ID, r.Remedy)
		}
	}
	if rep.Host.RTCPUs != "2-3" || rep.Host.CPUs != "0-3" || rep.Host.Hostname != "plc-synth" {
		t.Errorf("host = %+v: RT CPUs must default to the isolated ones", rep.Host)
	}
	if rep.ExitCode() != 0 {
		t.Errorf("exit code %d, want 0", rep.ExitCode())
	}
}

func TestIRQOnRTCPU(t *testing.T) {
	rep := runFixture(t, "synth-irq-on-rt", Options{})
	r := result(t, rep, "irq.affinity")
	if r.Status != Fail {
		t.Fatalf("irq.affinity = %s, want fail: %s", r.Status, r.Observed)
	}
	for _, want := range []string{"IRQ 30 eth1-fieldbus", "IRQ 31 ahci[0000:00:17.0]", "effective 2"} {
		if !strings.Contains(r.Observed, want) {
			t.Errorf("observed %q lacks %q", r.Observed, want)
		}
	}
	if !strings.Contains(r.Remedy, "for n in 30 31; do echo 0-1 > /proc/irq/$n/smp_affinity_list; done") {
		t.Errorf("remedy %q lacks the exact affinity command", r.Remedy)
	}
	if rep.ExitCode() != 2 {
		t.Errorf("exit code %d, want 2", rep.ExitCode())
	}

	// Allowing one by number and the other by glob clears the check, and
	// the fieldbus IRQ's thread (FIFO 50) below the planned 80 is flagged.
	rep = runFixture(t, "synth-irq-on-rt", Options{AllowIRQs: []string{"30", "ahci*"}})
	r = result(t, rep, "irq.affinity")
	if r.Status != Pass || !strings.Contains(r.Observed, "allowed: IRQ 30 eth1-fieldbus") {
		t.Errorf("with --allow-irq: irq.affinity = %s: %s", r.Status, r.Observed)
	}
	k := result(t, rep, "kthread.priorities")
	if k.Status != Warn || !strings.Contains(k.Observed, "irq/30-eth1-fie") || !strings.Contains(k.Remedy, "chrt -f -p 81") {
		t.Errorf("kthread.priorities = %s: %s / %s", k.Status, k.Observed, k.Remedy)
	}

	// Only one allowed: still a failure naming the other.
	rep = runFixture(t, "synth-irq-on-rt", Options{AllowIRQs: []string{"eth1-*"}})
	r = result(t, rep, "irq.affinity")
	if r.Status != Fail || strings.Contains(r.Remedy, " 30") || !strings.Contains(r.Remedy, "/proc/irq/31/") {
		t.Errorf("one allowed: %s: %s / %s", r.Status, r.Observed, r.Remedy)
	}
}

func TestManagedIRQ(t *testing.T) {
	p := synth.Good()
	p.IRQsOnRT = []int{25}
	p.IRQNames = map[int]string{25: "nvme0q1"}
	rep := runTree(t, p, Options{})
	r := result(t, rep, "irq.affinity")
	if r.Status != Warn || !strings.Contains(r.Observed, "likely managed") || !strings.Contains(r.Remedy, "isolcpus=managed_irq") {
		t.Errorf("managed IRQ: %s: %s / %s", r.Status, r.Observed, r.Remedy)
	}
}

func TestThrottle(t *testing.T) {
	rep := runFixture(t, "synth-throttle", Options{})
	r := result(t, rep, "sched.rt_runtime")
	if r.Status != Warn || !strings.Contains(r.Remedy, "sysctl -w kernel.sched_rt_runtime_us=-1") ||
		!strings.Contains(r.Remedy, "/etc/sysctl.d/") {
		t.Errorf("sched.rt_runtime = %s: %s / %s", r.Status, r.Observed, r.Remedy)
	}
	if rep.ExitCode() != 1 {
		t.Errorf("exit code %d, want 1", rep.ExitCode())
	}
}

func TestNoIsolation(t *testing.T) {
	rep := runFixture(t, "synth-noiso", Options{})
	if rep.Host.RTCPUs != "3" || len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "last CPU (3)") {
		t.Fatalf("RT CPUs %q, notes %v: want the last CPU with a warning", rep.Host.RTCPUs, rep.Notes)
	}
	for id, want := range map[string]Status{
		"cpu.isolated": Fail, "cpu.nohz_full": Fail, "cpu.rcu_nocbs": Warn, "irq.default_affinity": Fail,
		"threads.rt_cpus": Warn, "workqueue.cpumask": Warn, "cpu.idle": Warn, "kernel.preempt_rt": Pass,
	} {
		if r := result(t, rep, id); r.Status != want {
			t.Errorf("%s = %s, want %s: %s", id, r.Status, want, r.Observed)
		}
	}
	r := result(t, rep, "cpu.isolated")
	if !slices.Equal(r.KernelParams, []string{"isolcpus=managed_irq,domain,3", "nohz_full=3", "rcu_nocbs=3", "irqaffinity=0-2"}) ||
		strings.Contains(r.Remedy, "grub") {
		t.Errorf("cpu.isolated params %q, remedy %q", r.KernelParams, r.Remedy)
	}
	k := rep.KernelCmdline
	if k == nil || k.Bootloader != "grub" || !strings.Contains(k.Install, "/etc/default/grub.d/rtcell.cfg") || !strings.Contains(k.Install, "update-grub") ||
		!strings.HasSuffix(k.Proposed, "isolcpus=managed_irq,domain,3 nohz_full=3 rcu_nocbs=3 irqaffinity=0-2 workqueue.unbound_cpus=0-2") {
		t.Errorf("kernel command line %+v", k)
	}
	if r := result(t, rep, "irq.default_affinity"); !strings.Contains(r.Remedy, "echo 7 > /proc/irq/default_smp_affinity") {
		t.Errorf("irq.default_affinity remedy %q", r.Remedy)
	}
	if r := result(t, rep, "threads.rt_cpus"); !strings.Contains(r.Observed, "plc-hmi-0 (pid 1000, 4 threads)") ||
		strings.Contains(r.Observed, "sysprep") || strings.Contains(r.Observed, "ksoftirqd") {
		t.Errorf("threads.rt_cpus must list movable threads, not itself or per-CPU kthreads: %s", r.Observed)
	}
	// An explicit choice drops the note.
	rep = runFixture(t, "synth-noiso", Options{RTCPUs: []int{1}})
	if rep.Host.RTCPUs != "1" || len(rep.Notes) != 0 {
		t.Errorf("explicit RT CPUs: %q %v", rep.Host.RTCPUs, rep.Notes)
	}
}

func TestNotRealtime(t *testing.T) {
	p := synth.Good()
	p.RT = false
	rep := runTree(t, p, Options{})
	r := result(t, rep, "kernel.preempt_rt")
	if r.Status != Fail || !strings.Contains(r.Remedy, "apt-get install linux-image-rt-amd64") ||
		!strings.Contains(r.Observed, "CONFIG_PREEMPT_RT not set in /boot/config-") {
		t.Errorf("kernel.preempt_rt = %s: %s / %s", r.Status, r.Observed, r.Remedy)
	}
}

func TestPriorityRules(t *testing.T) {
	if r := result(t, runFixture(t, "synth-good", Options{Priority: 99}), "kthread.priorities"); r.Status != Warn || !strings.Contains(r.Observed, "99") {
		t.Errorf("priority 99: %s: %s", r.Status, r.Observed)
	}
	// Below ktimers' FIFO 1 is impossible; at 1 the RT task ties with ktimers.
	if r := result(t, runFixture(t, "synth-good", Options{Priority: 1}), "kthread.priorities"); r.Status != Warn || !strings.Contains(r.Observed, "ktimers/2 FIFO 1") {
		t.Errorf("priority 1: %s: %s", r.Status, r.Observed)
	}
}

// TestMalformed corrupts one file of a good tree: the check that reads it
// skips and names the file; nothing panics.
func TestMalformed(t *testing.T) {
	tests := []struct {
		file, content, check, want string
	}{
		{"proc/irq/30/smp_affinity", "zz\n", "irq.affinity", "/proc/irq/30/smp_affinity"},
		{"proc/irq/default_smp_affinity", "\n", "irq.default_affinity", "/proc/irq/default_smp_affinity"},
		{"proc/4242/status", "CapEff:\tnothex\n", "priv.sys_nice", "/proc/self/status"},
		{"proc/10/stat", "10 (x)", "threads.rt_cpus", "/proc/10/stat"},
		{"proc/1000/task/1002/stat", "1002 (x) S", "threads.rt_cpus", "/proc/1000/task/1002/stat"},
		{"proc/1000/task/1001/status", "Cpus_allowed_list:\t9-1\n", "threads.rt_cpus", "/proc/1000/task/1001/status"},
		{"proc/cmdline", "rcu_nocbs=x-y\n", "cpu.rcu_nocbs", "/proc/cmdline"},
		{"sys/devices/system/cpu/nohz_full", "q\n", "cpu.nohz_full", "/sys/devices/system/cpu/nohz_full"},
		{"sys/devices/system/cpu/isolated", "1-\n", "cpu.isolated", "/sys/devices/system/cpu/isolated"},
		{"sys/devices/system/cpu/cpu2/cpuidle/state1/latency", "fast\n", "cpu.idle", "/sys/devices/system/cpu/cpu2/cpuidle/state1/latency"},
		{"sys/kernel/mm/transparent_hugepage/enabled", "always\n", "mem.thp", "/sys/kernel/mm/transparent_hugepage/enabled"},
		{"sys/devices/virtual/workqueue/cpumask", "g\n", "workqueue.cpumask", "/sys/devices/virtual/workqueue/cpumask"},
		{"proc/sys/kernel/sched_rt_runtime_us", "lots\n", "sched.rt_runtime", "/proc/sys/kernel/sched_rt_runtime_us"},
		{"boot/config-6.12.43+deb13-rt-amd64", "junk\n", "kernel.config", "/boot/config-6.12.43+deb13-rt-amd64"},
	}
	env, dir := writeTree(t, synth.Good())
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(dir, tt.file)
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.WriteFile(path, orig, 0o644) })
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			rep, err := Run(env, Options{})
			if err != nil {
				t.Fatal(err)
			}
			r := result(t, rep, tt.check)
			if r.Status != Skip || !strings.Contains(r.Observed, tt.want) {
				t.Fatalf("%s = %s: %q, want skip naming %s", tt.check, r.Status, r.Observed, tt.want)
			}
			if strings.Contains(r.Observed, dir) {
				t.Errorf("observed %q shows the fixture path, not the box's path", r.Observed)
			}
		})
	}
}

func TestOptionErrors(t *testing.T) {
	env, err := NewEnv(filepath.Join("testdata", "synth-good", "proc"), filepath.Join("testdata", "synth-good", "sys"))
	if err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]Options{
		"offline cpu":   {RTCPUs: []int{9}},
		"all cpus":      {RTCPUs: []int{0, 1, 2, 3}},
		"priority 100":  {Priority: 100},
		"priority -5":   {Priority: -5},
		"unknown check": {Checks: []string{"cpu.nope"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Run(env, o)
			if !errors.Is(err, ErrBadOption) && !errors.Is(err, ErrUnknownCheck) {
				t.Fatalf("Run = %v, want ErrBadOption or ErrUnknownCheck", err)
			}
		})
	}
	if _, err := NewEnv(filepath.Join(t.TempDir(), "missing"), ""); !errors.Is(err, ErrRoot) {
		t.Errorf("NewEnv(missing) = %v, want ErrRoot", err)
	}
	rep, err := Run(env, Options{Checks: []string{"mem.swap", "cpu.smt"}})
	if err != nil || len(rep.Checks) != 2 || rep.Checks[0].ID != "cpu.smt" {
		t.Errorf("--check selection: %v %+v (want registry order)", err, rep.Checks)
	}
}

func TestExitCode(t *testing.T) {
	for _, tt := range []struct {
		s    Summary
		want int
	}{{Summary{Pass: 3, Skip: 2}, 0}, {Summary{Pass: 1, Warn: 1}, 1}, {Summary{Warn: 3, Fail: 1}, 2}, {Summary{}, 0}} {
		if got := (Report{Summary: tt.s}).ExitCode(); got != tt.want {
			t.Errorf("%+v: exit %d, want %d", tt.s, got, tt.want)
		}
	}
}

func TestLoadRunnerConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "runner.toml")
	cfg := "[log]\nlevel = \"info\"\n\n[[task]]\nname = \"a\"\ncpu = 3\npriority = 70\nperiod = \"1ms\"\n\n[[task]]\nname = \"b\"\ncpu = 2\npriority = 85\n\n[[task]]\nname = \"c\"\npriority = 10\n"
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cpus, prio, err := LoadRunnerConfig(p)
	if err != nil || !slices.Equal(cpus, []int{2, 3}) || prio != 85 {
		t.Fatalf("LoadRunnerConfig = %v %d %v, want [2 3] 85", cpus, prio, err)
	}
	if err := os.WriteFile(p, []byte("[[task]]\ncpu = \"x\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadRunnerConfig(p); !errors.Is(err, ErrBadOption) || !strings.Contains(err.Error(), p) {
		t.Errorf("bad config: %v", err)
	}
}

func TestFormats(t *testing.T) {
	rep := runFixture(t, "synth-throttle", Options{Now: time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)})
	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"- [x] **PASS** `kernel.preempt_rt`", "- [ ] **WARN** `sched.rt_runtime`",
		"sysctl -w kernel.sched_rt_runtime_us=-1", "| Host | plc-synth |", "2025-03-01 09:30 UTC", "## Sign-off", "| Technician |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	var plain, colour bytes.Buffer
	if err := rep.WriteTable(&plain, false); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteTable(&colour, true); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b[") || !strings.Contains(colour.String(), "\x1b[33mWARN") {
		t.Errorf("colour only when asked:\n%s", plain.String())
	}
	if !strings.Contains(plain.String(), "WARN    sched.rt_runtime") || !strings.Contains(plain.String(), "    sysctl -w kernel.sched_rt_runtime_us=-1") {
		t.Errorf("table lacks the row or its remedy:\n%s", plain.String())
	}
}

// TestLive runs every check on this machine: none may fail to produce a
// result, and kernel.preempt_rt must agree with the kernel.
func TestLive(t *testing.T) {
	env, err := NewEnv("", "")
	if err != nil {
		t.Fatal(err)
	}
	if !env.Live() {
		t.Fatal("NewEnv(\"\", \"\") is not live")
	}
	rep, err := Run(env, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Checks) != len(Checks()) {
		t.Fatalf("%d results for %d checks", len(rep.Checks), len(Checks()))
	}
	rt := false
	if b, err := os.ReadFile(filepath.Join(DefaultSysRoot, "kernel", "realtime")); err == nil && strings.TrimSpace(string(b)) == "1" {
		rt = true
	}
	if v, err := os.ReadFile(filepath.Join(DefaultProcRoot, "sys", "kernel", "version")); err == nil && strings.Contains(string(v), "PREEMPT_RT") {
		rt = true
	}
	r := result(t, rep, "kernel.preempt_rt")
	if (r.Status == Pass) != rt {
		t.Errorf("kernel.preempt_rt = %s on a kernel with PREEMPT_RT=%v", r.Status, rt)
	}
	if !rt && rep.ExitCode() != 2 {
		t.Errorf("exit code %d on a non-RT kernel, want 2", rep.ExitCode())
	}
}

func TestPrivileges(t *testing.T) {
	env, dir := writeTree(t, synth.Good())
	set := func(file, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "proc", "4242", file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	limits := func(rtprio, memlock string) string {
		return "Limit                     Soft Limit           Hard Limit           Units     \n" +
			"Max locked memory         " + memlock + "              " + memlock + "              bytes     \n" +
			"Max realtime priority     " + rtprio + "                    " + rtprio + "                    \n"
	}
	run := func() (Result, Result) {
		rep, err := Run(env, Options{Checks: []string{"priv.sys_nice", "priv.memlock"}})
		if err != nil {
			t.Fatal(err)
		}
		return rep.Checks[0], rep.Checks[1]
	}
	// No capabilities and small limits: both fail with the setcap remedy.
	set("status", "Name:\tsysprep\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCpus_allowed_list:\t0-3\n")
	set("limits", limits("0", "65536"))
	nice, lock := run()
	if nice.Status != Fail || lock.Status != Fail || !strings.Contains(nice.Remedy, "setcap cap_sys_nice,cap_ipc_lock+ep bin/runner") ||
		!strings.Contains(lock.Remedy, "LimitMEMLOCK=infinity") {
		t.Errorf("no privileges: %s %q / %s %q", nice.Status, nice.Observed, lock.Status, lock.Remedy)
	}
	// Limits alone suffice: RLIMIT_RTPRIO >= 80 and RLIMIT_MEMLOCK unlimited.
	set("limits", limits("80", "unlimited"))
	nice, lock = run()
	if nice.Status != Pass || lock.Status != Pass || !strings.Contains(nice.Observed, "RLIMIT_RTPRIO 80") {
		t.Errorf("limits: %s %q / %s %q", nice.Status, nice.Observed, lock.Status, lock.Observed)
	}
	// RLIMIT_RTPRIO below the planned priority is not enough.
	set("limits", limits("50", "unlimited"))
	if nice, _ = run(); nice.Status != Fail {
		t.Errorf("RLIMIT_RTPRIO 50 for priority 80: %s", nice.Status)
	}
}

func TestBinaryCaps(t *testing.T) {
	rttest.RequireRoot(t)
	setcap := rttest.RequireCommand(t, "setcap", "apt-get install -y libcap2-bin")
	bin := filepath.Join(t.TempDir(), "runner")
	if err := os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func() Result {
		rep := runFixture(t, "synth-good", Options{Binary: bin, Checks: []string{"priv.sys_nice"}})
		return rep.Checks[0]
	}
	// The fixture's process has every capability, but the binary has none:
	// it gets SCHED_FIFO only as root, which is a warning.
	if r := run(); r.Status != Warn || !strings.Contains(r.Observed, "has no file capabilities") || !strings.Contains(r.Remedy, "setcap cap_sys_nice,cap_ipc_lock+ep "+bin) {
		t.Errorf("no file caps: %s %q %q", r.Status, r.Observed, r.Remedy)
	}
	if out, err := exec.Command(setcap, "cap_sys_nice,cap_ipc_lock+ep", bin).CombinedOutput(); err != nil {
		t.Skipf("setcap on %s: %v %s", bin, err, out)
	}
	if r := run(); r.Status != Pass || !strings.Contains(r.Observed, "cap_ipc_lock,cap_sys_nice=ep") {
		t.Errorf("with file caps: %s %q", r.Status, r.Observed)
	}
}
