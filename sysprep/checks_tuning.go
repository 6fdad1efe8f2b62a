package sysprep

import (
	"fmt"
	"slices"
	"strings"
)

// Checks that tuned's realtime profile (and the network-latency profile
// it includes), Red Hat's and SUSE's real-time tuning guides and rtcqs
// agree on. README lists which source each follows.
func init() {
	register("kernel.nmi_watchdog", "NMI watchdog is off", checkNMIWatchdog)
	register("kernel.softlockup", "Soft-lockup detector is off", checkSoftLockup)
	register("kernel.skew_tick", "Scheduler ticks are skewed (skew_tick=1)", checkSkewTick)
	register("clock.tsc_watchdog", "TSC is not watched by the clocksource watchdog", checkTSCWatchdog)
	register("sched.stalld", "A starvation guard protects kernel threads", checkStalld)
	register("sched.numa_balancing", "Automatic NUMA balancing is off", checkNUMABalancing)
	register("mem.ksm", "Kernel same-page merging is off", checkKSM)
	register("vm.stat_interval", "vmstat updates are rare (vm.stat_interval ≥ 10)", checkStatInterval)
	register("irq.shared", "No device IRQ line is shared", checkSharedIRQ)
	register("cpu.boost", "CPU boost (turbo) is off", checkBoost)
	register("kernel.rcu_normal", "No expedited RCU grace periods (rcu_normal)", checkRCUNormal)
}

// checkRCUNormal: an expedited RCU grace period sends an IPI to every
// CPU, the RT CPUs too; rcu_normal makes the kernel use normal grace
// periods only. PREEMPT_RT kernels turn it on after boot by default
// (rcupdate.rcu_normal_after_boot).
func checkRCUNormal(env Env, o resolved) Result {
	p := env.sysPath("kernel", "rcu_normal")
	s, err := readFile(p)
	if err != nil {
		if notExist(err) {
			return Result{Status: Skip, Observed: "no " + env.show(p) + " (a kernel with TINY_RCU has no expedited grace periods to turn off)"}
		}
		return skip(env, err)
	}
	on, err := parseBool01(s)
	if err != nil {
		return skip(env, parseErr(p, err))
	}
	r := Result{Observed: fmt.Sprintf("%s = %s", env.show(p), trimmed(s)), Expected: "rcu_normal = 1: normal RCU grace periods only, no expedited-grace-period IPIs"}
	if on {
		r.Status = Pass
		return r
	}
	r.Status = Warn
	r.Observed += ": an expedited RCU grace period interrupts every CPU, the RT CPUs too, with an IPI"
	r.Remedy = sysfsRemedy(DefaultSysRoot+"/kernel/rcu_normal", "1") + "\n" + bootParams(env, &r, "rcupdate.rcu_normal_after_boot=1")
	return r
}

// sysctlSetting is a check of one integer sysctl: it passes when ok(v),
// skips when the file is missing (absent says what the kernel lacks), and
// warns otherwise with a remedy that sets want now and at boot.
func sysctlSetting(env Env, name string, ok func(int) bool, want, expected, why, absent string, bootArgs ...string) Result {
	v, err := env.sysctlInt(name)
	if err != nil {
		if notExist(err) {
			return Result{Status: Skip, Observed: fmt.Sprintf("no %s: %s", env.show(env.sysctlPath(name)), absent)}
		}
		return skip(env, err)
	}
	r := Result{Observed: fmt.Sprintf("%s = %d", name, v), Expected: expected}
	if ok(v) {
		r.Status = Pass
		return r
	}
	r.Status = Warn
	r.Observed += ": " + why
	r.Remedy = sysctlRemedy(name, want)
	if len(bootArgs) > 0 {
		if b := bootParams(env, &r, bootArgs...); b != "" {
			r.Remedy += "\n" + b
		}
	}
	return r
}

func checkNMIWatchdog(env Env, o resolved) Result {
	if cl, err := env.cmdline(); err == nil {
		if v, ok := cl.get("nmi_watchdog"); ok && v == "0" {
			if n, err := env.sysctlInt("kernel.nmi_watchdog"); err == nil && n == 0 {
				return Result{Status: Pass, Observed: "kernel.nmi_watchdog = 0 (nmi_watchdog=0 on the command line)", Expected: "kernel.nmi_watchdog = 0"}
			}
		}
	}
	return sysctlSetting(env, "kernel.nmi_watchdog", func(v int) bool { return v == 0 }, "0",
		"kernel.nmi_watchdog = 0: no periodic perf NMI on the RT CPUs",
		"the hard-lockup detector raises a perf NMI on every CPU every watchdog_thresh seconds; an NMI cannot be masked or deferred",
		"the kernel has no hard-lockup detector (CONFIG_HARDLOCKUP_DETECTOR), nothing to turn off", "nmi_watchdog=0")
}

func checkSoftLockup(env Env, o resolved) Result {
	if cl, err := env.cmdline(); err == nil {
		if _, ok := cl.get("nosoftlockup"); ok {
			return Result{Status: Pass, Observed: "nosoftlockup on the command line", Expected: "soft-lockup detector off (nosoftlockup or kernel.soft_watchdog = 0)"}
		}
	}
	return sysctlSetting(env, "kernel.soft_watchdog", func(v int) bool { return v == 0 }, "0",
		"soft-lockup detector off (nosoftlockup or kernel.soft_watchdog = 0)",
		"the soft-lockup detector runs an hrtimer on every CPU and reports an RT loop that keeps its CPU for watchdog_thresh seconds as a lockup",
		"the kernel has no soft-lockup detector (CONFIG_SOFTLOCKUP_DETECTOR)", "nosoftlockup")
}

// cmdlineFlag is a check that a kernel parameter is on the command line.
func cmdlineFlag(env Env, param, value, expected, why string) Result {
	cl, err := env.cmdline()
	if err != nil {
		return skip(env, err)
	}
	r := Result{Expected: expected}
	if v, ok := cl.get(param); ok {
		r.Observed = param + "=" + v + " on the command line"
		if v == value || (param == "tsc" && v == "nowatchdog") {
			r.Status = Pass
			return r
		}
	} else {
		r.Observed = "no " + param + "= on the command line"
	}
	r.Status = Warn
	r.Observed += ": " + why
	r.Remedy = bootParams(env, &r, param+"="+value)
	if r.Remedy == "" {
		return Result{Status: Skip, Observed: r.Observed}
	}
	return r
}

func checkSkewTick(env Env, o resolved) Result {
	return cmdlineFlag(env, "skew_tick", "1", "skew_tick=1: the CPUs' ticks fire at different times",
		"every CPU's tick fires at the same instant, and the CPUs contend for the timekeeping and RCU locks together")
}

func checkTSCWatchdog(env Env, o resolved) Result {
	m := env.host().Machine
	if m != "" && m != "x86_64" && !(strings.HasPrefix(m, "i") && strings.HasSuffix(m, "86")) {
		return Result{Status: Skip, Observed: "machine " + m + ": the TSC and its watchdog exist on x86 only"}
	}
	cs, err := env.clockSource()
	if err != nil {
		return skip(env, err)
	}
	if cs.Current != "tsc" {
		return Result{Status: Skip, Observed: "clocksource " + cs.Current + ", not tsc: clock.source covers it"}
	}
	return cmdlineFlag(env, "tsc", "reliable", "tsc=reliable: no clocksource watchdog on the TSC",
		"the clocksource watchdog reads the HPET or ACPI PM timer against the TSC every 0.5 s, a slow I/O read with interrupts off, and may switch a loaded box off the TSC")
}

// osRelease reads <etc>/os-release as key → value.
func (e Env) osRelease() map[string]string {
	m, _ := cached(e, "osrelease", func() (map[string]string, error) {
		m := map[string]string{}
		s, err := readFile(e.EtcRoot + "/os-release")
		if err != nil {
			return m, nil
		}
		for line := range strings.SplitSeq(s, "\n") {
			k, v, ok := strings.Cut(line, "=")
			if ok {
				m[k] = strings.Trim(v, `"'`)
			}
		}
		return m, nil
	})
	return m
}

// stalldPackaged returns the install command for stalld where the
// distribution ships it (Fedora and the RHEL family), "" elsewhere:
// Debian 12 ships tuned and tuna but not stalld.
func stalldPackaged(osr map[string]string) string {
	ids := strings.Fields(osr["ID"] + " " + osr["ID_LIKE"])
	for _, id := range ids {
		switch id {
		case "fedora", "rhel", "centos", "rocky", "almalinux":
			return "dnf install -y stalld && systemctl enable --now stalld"
		}
	}
	return ""
}

func checkStalld(env Env, o resolved) Result {
	ths, err := env.threads()
	if err != nil {
		return skip(env, err)
	}
	for _, t := range ths {
		if t.PID == t.TID && t.Comm == "stalld" && !t.kthread() {
			return Result{Status: Pass, Observed: fmt.Sprintf("stalld running (pid %d)", t.PID), Expected: "stalld running, or another guard against a starving RT task"}
		}
	}
	r := Result{Expected: "stalld running, or another guard against a starving RT task"}
	osr := env.osRelease()
	name := osr["PRETTY_NAME"]
	if name == "" {
		name = "this distribution (no /etc/os-release)"
	}
	if cmd := stalldPackaged(osr); cmd != "" {
		r.Status = Warn
		r.Observed = "stalld is not running: a busy RT task can starve the per-CPU kernel threads (ksoftirqd, kworker) of its CPU for good"
		r.Remedy = cmd
		return r
	}
	guard := "RT throttling is off (kernel.sched_rt_runtime_us = -1)"
	if v, err := env.sysctlInt("kernel.sched_rt_runtime_us"); err == nil && v >= 0 {
		guard = fmt.Sprintf("RT throttling (kernel.sched_rt_runtime_us = %d) leaves the kernel threads part of each second", v)
	}
	r.Status = Skip
	r.Observed = fmt.Sprintf("stalld is not running and %s does not package it; the guards here: %s, and rtcell's watchdog, whose supervisor on a housekeeping CPU kills an RT task that stalls or misses its deadlines and calls its safe-state hook", name, guard)
	return r
}

func checkNUMABalancing(env Env, o resolved) Result {
	return sysctlSetting(env, "kernel.numa_balancing", func(v int) bool { return v == 0 }, "0",
		"kernel.numa_balancing = 0",
		"automatic NUMA balancing unmaps pages now and then to sample accesses, so the RT task takes page faults",
		"the kernel has no automatic NUMA balancing (CONFIG_NUMA_BALANCING)", "numa_balancing=disable")
}

func checkStatInterval(env Env, o resolved) Result {
	return sysctlSetting(env, "vm.stat_interval", func(v int) bool { return v >= 10 }, "10",
		"vm.stat_interval ≥ 10: the vmstat worker wakes at most every 10 s on each CPU",
		"the vmstat worker wakes on every CPU this often to fold its counters",
		"no vmstat sysctl")
}

func checkKSM(env Env, o resolved) Result {
	p := env.sysPath("kernel", "mm", "ksm", "run")
	s, err := readFile(p)
	if err != nil {
		if notExist(err) {
			return Result{Status: Skip, Observed: "no " + env.show(p) + ": the kernel lacks CONFIG_KSM"}
		}
		return skip(env, err)
	}
	v, err := parseUint(s)
	if err != nil {
		return skip(env, parseErr(p, err))
	}
	r := Result{Observed: fmt.Sprintf("%s = %d", env.show(p), v), Expected: "ksm run = 0: no page merging"}
	if v == 0 {
		r.Status = Pass
		return r
	}
	r.Status = Warn
	r.Observed += ": ksmd scans memory and merges equal pages, and a write to a merged page takes a copy-on-write fault"
	r.Remedy = sysfsRemedy(DefaultSysRoot+"/kernel/mm/ksm/run", "0") + "\n# and: systemctl disable --now ksmtuned, where it is installed"
	return r
}

func checkSharedIRQ(env Env, o resolved) Result {
	sum, err := env.interruptSummary()
	if err != nil {
		return skip(env, err)
	}
	irqs, _ := env.irqs()
	byNum := map[int]*IRQ{}
	for i := range irqs {
		byNum[irqs[i].Number] = &irqs[i]
	}
	var labels []int
	for n := range sum.shared {
		labels = append(labels, n)
	}
	slices.Sort(labels)
	r := Result{Expected: fmt.Sprintf("no device IRQ line shared by two devices where one is real-time (on RT %s or --allow-irq)", cpuWord(o.rt))}
	var bad, other []string
	for _, n := range labels {
		desc := fmt.Sprintf("IRQ %d (%s)", n, sharedActions(sum.shared[n]))
		q := byNum[n]
		if q != nil && (q.Affinity.intersects(o.rt) || (q.HasEffective && q.Effective.intersects(o.rt)) || irqAllowed(env, q, o.AllowIRQs)) {
			bad = append(bad, desc)
		} else {
			other = append(other, desc)
		}
	}
	switch {
	case len(bad) > 0:
		r.Status = Warn
		r.Observed = "shared and real-time: " + strings.Join(bad, "; ") + ": each interrupt runs every handler on the line, the other device's too"
		if len(other) > 0 {
			r.Observed += "; shared elsewhere: " + strings.Join(other, "; ")
		}
		r.Remedy = "# give the real-time device an interrupt of its own: MSI or MSI-X in its driver (lspci -vv shows MSI: Enable+), another slot, or the other device disabled"
	case len(other) > 0:
		r.Status = Pass
		r.Observed = "shared, none on an RT CPU: " + strings.Join(other, "; ")
	default:
		r.Status = Pass
		r.Observed = "no shared device IRQ line"
	}
	return r
}

// sharedActions returns the action names of a /proc/interrupts
// description: the comma-separated list at its end.
func sharedActions(desc string) string {
	f := strings.Fields(desc)
	i := len(f) - 1
	for i > 0 && strings.HasSuffix(f[i-1], ",") {
		i--
	}
	if i < 0 {
		return desc
	}
	return strings.Join(f[i:], " ")
}

func checkBoost(env Env, o resolved) Result {
	r := Result{Expected: "CPU boost off: the RT CPUs run at one fixed frequency"}
	boost := env.sysPath("devices", "system", "cpu", "cpufreq", "boost")
	noTurbo := env.sysPath("devices", "system", "cpu", "intel_pstate", "no_turbo")
	if s, err := readFile(noTurbo); err == nil {
		on, err := parseBool01(s)
		if err != nil {
			return skip(env, parseErr(noTurbo, err))
		}
		r.Observed = fmt.Sprintf("%s = %s", env.show(noTurbo), trimmed(s))
		if on {
			r.Status = Pass
			return r
		}
		r.Status = Warn
		r.Observed += ": turbo changes the clock with temperature and with the load of the other cores, so the same cycle takes a different time"
		r.Remedy = sysfsRemedy(DefaultSysRoot+"/devices/system/cpu/intel_pstate/no_turbo", "1")
		return r
	} else if !notExist(err) {
		return skip(env, err)
	}
	s, err := readFile(boost)
	if err != nil {
		if notExist(err) {
			return Result{Status: Skip, Observed: "no cpufreq boost control (" + env.show(boost) + " or intel_pstate/no_turbo): boost is not under the kernel's control (VM, firmware, or no cpufreq driver)"}
		}
		return skip(env, err)
	}
	on, err := parseBool01(s)
	if err != nil {
		return skip(env, parseErr(boost, err))
	}
	r.Observed = fmt.Sprintf("%s = %s", env.show(boost), trimmed(s))
	if !on {
		r.Status = Pass
		return r
	}
	r.Status = Warn
	r.Observed += ": boost changes the clock with temperature and with the load of the other cores, so the same cycle takes a different time"
	r.Remedy = sysfsRemedy(DefaultSysRoot+"/devices/system/cpu/cpufreq/boost", "0")
	return r
}
