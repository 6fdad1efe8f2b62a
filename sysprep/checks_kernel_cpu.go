package sysprep

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The registry, in the order of the checklist. Scripts rely on the IDs.
func init() {
	register("kernel.preempt_rt", "Kernel is PREEMPT_RT", checkPreemptRT)
	register("kernel.preempt_mode", "A non-RT kernel preempts fully (preempt=full)", checkPreemptMode)
	register("kernel.config", "Kernel config for real time", checkKernelConfig)
	register("cpu.isolated", "RT CPUs are isolated (isolcpus)", checkIsolated)
	register("cpu.nohz_full", "RT CPUs run tickless (nohz_full)", checkNohzFull)
	register("cpu.rcu_nocbs", "RT CPUs offload RCU callbacks (rcu_nocbs)", checkRCUNocbs)
	register("cpu.smt", "No SMT sibling of an RT CPU does housekeeping", checkSMT)
	register("cpu.governor", "RT CPUs use the performance governor", checkGovernor)
	register("cpu.idle", "RT CPUs avoid deep C-states", checkIdle)
	register("irq.affinity", "No device IRQ can run on an RT CPU", checkIRQAffinity)
	register("irq.default_affinity", "New IRQs default to housekeeping CPUs", checkIRQDefaultAffinity)
	register("irq.balance", "irqbalance leaves the RT CPUs alone", checkIRQBalance)
	register("sched.rt_runtime", "RT throttling is out of the way", checkRTRuntime)
	register("sched.timer_migration", "Timers are not migrated", checkTimerMigration)
	register("threads.rt_cpus", "No movable thread may run on an RT CPU", checkThreads)
	register("kthread.priorities", "Planned priority fits the kernel threads", checkKthreadPriorities)
	register("workqueue.cpumask", "Unbound workqueues stay on housekeeping CPUs", checkWorkqueue)
	register("priv.sys_nice", "May use SCHED_FIFO (CAP_SYS_NICE or RLIMIT_RTPRIO)", checkSysNice)
	register("priv.memlock", "May lock memory (CAP_IPC_LOCK or RLIMIT_MEMLOCK)", checkMemlock)
	register("clock.source", "Clocksource is an invariant TSC", checkClockSource)
	register("mem.thp", "Transparent huge pages cannot stall faults", checkTHP)
	register("mem.swap", "No swap", checkSwap)
	register("env.container", "Bare metal, not a container or VM", checkContainer)
}

func skip(env Env, err error) Result { return Result{Status: Skip, Observed: env.msg(err)} }

// cpuWord is "CPU 1" or "CPUs 1-3".
func cpuWord(s cpuSet) string {
	if s.count() == 1 {
		return "CPU " + s.String()
	}
	return "CPUs " + s.String()
}

// verb picks the singular or plural form for a set of CPUs.
func verb(s cpuSet, one, many string) string {
	if s.count() == 1 {
		return one
	}
	return many
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func checkPreemptRT(env Env, o resolved) Result {
	var seen []string
	rtPath := env.sysPath("kernel", "realtime")
	if s, err := readFile(rtPath); err == nil {
		on, err := parseBool01(s)
		switch {
		case err != nil:
			seen = append(seen, env.msg(parseErr(rtPath, err)))
		case on:
			return Result{Status: Pass, Observed: env.show(rtPath) + " is 1", Expected: "PREEMPT_RT kernel"}
		default:
			seen = append(seen, env.show(rtPath)+" is 0")
		}
	} else {
		seen = append(seen, "no "+env.show(rtPath))
	}
	h := env.host()
	if strings.Contains(h.KernelVersion, "PREEMPT_RT") {
		return Result{Status: Pass, Observed: fmt.Sprintf("uname -v: %s", h.KernelVersion), Expected: "PREEMPT_RT kernel"}
	}
	seen = append(seen, fmt.Sprintf("uname -v %q", h.KernelVersion))
	if cfg, src, err := env.kernelConfig(); err == nil {
		if cfg["CONFIG_PREEMPT_RT"] == "y" {
			return Result{Status: Pass, Observed: "CONFIG_PREEMPT_RT=y in " + env.show(src), Expected: "PREEMPT_RT kernel"}
		}
		seen = append(seen, "CONFIG_PREEMPT_RT not set in "+env.show(src))
	}
	pkg := debianRTPackage(h.Machine)
	return Result{
		Status:   Fail,
		Observed: "not a PREEMPT_RT kernel: " + strings.Join(seen, "; "),
		Expected: env.show(rtPath) + " is 1, or PREEMPT_RT in uname -v",
		Remedy: fmt.Sprintf("apt-get install %s   # Debian's PREEMPT_RT kernel\n"+
			"# then reboot into it (the -rt entry in the boot menu, or GRUB_DEFAULT) and rerun sysprep", pkg),
	}
}

func checkKernelConfig(env Env, o resolved) Result {
	cfg, src, err := env.kernelConfig()
	if err != nil {
		return skip(env, fmt.Errorf("kernel config unavailable: %w", err))
	}
	v := func(k string) string {
		switch cfg[k] {
		case "", "n":
			return k + " is not set"
		}
		return k + "=" + cfg[k]
	}
	obs := fmt.Sprintf("%s, %s, %s (%s)", v("CONFIG_HIGH_RES_TIMERS"), v("CONFIG_NO_HZ_FULL"), v("CONFIG_RT_GROUP_SCHED"), env.show(src))
	r := Result{
		Status:   Pass,
		Observed: obs,
		Expected: "CONFIG_HIGH_RES_TIMERS=y, CONFIG_NO_HZ_FULL=y, CONFIG_RT_GROUP_SCHED not set",
	}
	var fixes []string
	if cfg["CONFIG_HIGH_RES_TIMERS"] != "y" {
		r.Status = Fail // periodic loops would wake on jiffies, not on time
		fixes = append(fixes, "# CONFIG_HIGH_RES_TIMERS is off: loops wake only on jiffy ticks; use a kernel built with it (Debian's are), or rebuild with scripts/config --enable HIGH_RES_TIMERS")
	}
	if cfg["CONFIG_NO_HZ_FULL"] != "y" {
		r.Status = worst(r.Status, Warn)
		fixes = append(fixes, "# CONFIG_NO_HZ_FULL is off: nohz_full= is ignored; use a kernel built with it (Debian's -rt kernels are), or rebuild with scripts/config --enable NO_HZ_FULL")
	}
	if cfg["CONFIG_RT_GROUP_SCHED"] == "y" {
		r.Status = worst(r.Status, Warn)
		fixes = append(fixes, rtGroupAdvice(env))
	}
	r.Remedy = strings.Join(fixes, "\n")
	return r
}

// rtGroupAdvice is the remedy for a kernel with CONFIG_RT_GROUP_SCHED:
// RT tasks then need an RT budget in their cpu cgroup, set where the
// mounted hierarchy has it.
func rtGroupAdvice(env Env) string {
	if env.cgroupV2() {
		return "# CONFIG_RT_GROUP_SCHED=y under cgroup v2: an RT task may only run in a cgroup without the cpu controller (v2 has no cpu.rt_runtime_us); keep the cpu controller off the service's slice, or use a kernel without RT_GROUP_SCHED (Debian's)"
	}
	return "# CONFIG_RT_GROUP_SCHED=y under cgroup v1: give the service's cpu cgroup an RT budget, e.g. for system.slice:\n" +
		"echo 950000 > " + DefaultSysRoot + "/fs/cgroup/cpu/system.slice/cpu.rt_runtime_us"
}

// worst returns the more severe of two statuses.
func worst(a, b Status) Status {
	rank := map[Status]int{Skip: 0, Pass: 1, Warn: 2, Fail: 3}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func checkIsolated(env Env, o resolved) Result {
	iso, err := env.isolatedCPUs()
	if err != nil {
		return skip(env, err)
	}
	obs := "isolated: " + orNone(iso.String())
	if cl, err := env.cmdline(); err == nil {
		if v, ok := cl.get("isolcpus"); ok {
			obs += " (isolcpus=" + v + ")"
		}
	}
	obs += "; RT " + cpuWord(o.rt)
	if o.defaulted != "" {
		obs += "; " + o.defaulted
	}
	r := Result{Observed: obs, Expected: "RT " + cpuWord(o.rt) + " in /sys/devices/system/cpu/isolated"}
	if o.rt.subsetOf(iso) {
		r.Status = Pass
		return r
	}
	r.Status = Fail
	r.Observed = fmt.Sprintf("%s %s not isolated; %s", cpuWord(o.rt.andNot(iso)), verb(o.rt.andNot(iso), "is", "are"), obs)
	r.Remedy = bootParams(env, &r, isolationArgs(o)...)
	return r
}

func checkNohzFull(env Env, o resolved) Result {
	set, present, err := env.nohzFull()
	if err != nil {
		return skip(env, err)
	}
	r := Result{Expected: "RT " + cpuWord(o.rt) + " in /sys/devices/system/cpu/nohz_full"}
	if !present {
		r.Status = Warn
		r.Observed = "no /sys/devices/system/cpu/nohz_full: the kernel lacks CONFIG_NO_HZ_FULL, so the RT CPUs keep the scheduler tick"
		r.Remedy = "# the kernel lacks CONFIG_NO_HZ_FULL: use a kernel built with it (Debian's -rt kernels are), then nohz_full=" + o.rt.String() + " on its command line"
		return r
	}
	r.Observed = "nohz_full: " + orNone(set.String())
	if o.rt.subsetOf(set) {
		r.Status = Pass
		return r
	}
	// The kernel can stop the tick on the RT CPUs and only the command
	// line is missing: a commissioning failure with a one-line fix. (A
	// kernel without NO_HZ_FULL, above, needs a rebuild and only warns.)
	r.Status = Fail
	r.Observed = fmt.Sprintf("%s %s the scheduler tick; %s", cpuWord(o.rt.andNot(set)), verb(o.rt.andNot(set), "keeps", "keep"), r.Observed)
	r.Remedy = bootParams(env, &r, "nohz_full="+o.rt.String())
	return r
}

func checkRCUNocbs(env Env, o resolved) Result {
	var nocbs cpuSet
	var src []string
	cl, err := env.cmdline()
	if err != nil {
		return skip(env, err)
	}
	if v, ok := cl.get("rcu_nocbs"); ok {
		s, err := parseRCUNocbs(v, env.possibleCPUs())
		if err != nil {
			return skip(env, parseErr(env.procPath("cmdline"), err))
		}
		nocbs = nocbs.or(s)
		src = append(src, "rcu_nocbs="+v)
	}
	if nz, present, err := env.nohzFull(); err == nil && present && !nz.empty() {
		nocbs = nocbs.or(nz) // nohz_full CPUs are offloaded too
		src = append(src, "nohz_full="+nz.String())
	}
	// Without rcu_nocbs= or nohz_full=, rcuo kthreads show offloading
	// built into the kernel (CONFIG_RCU_NOCB_CPU_DEFAULT_ALL). With them,
	// kernels since 5.17 start rcuo kthreads for every CPU so that CPUs
	// can be offloaded at run time, so the kthreads prove nothing.
	if len(src) == 0 {
		if ths, err := env.threads(); err == nil {
			var k cpuSet
			for _, t := range ths {
				if !t.kthread() {
					continue
				}
				for _, p := range []string{"rcuop/", "rcuos/"} {
					if n, ok := strings.CutPrefix(t.Comm, p); ok {
						if c, err := strconv.Atoi(n); err == nil && c >= 0 && c < maxCPUs {
							k.add(c)
						}
					}
				}
			}
			if !k.empty() {
				nocbs = nocbs.or(k)
				src = append(src, "rcuo kthreads for "+k.String())
			}
		}
	}
	obs := "offloaded: " + orNone(nocbs.String())
	if len(src) > 0 {
		obs += " (" + strings.Join(src, "; ") + ")"
	}
	r := Result{Observed: obs, Expected: "RT " + cpuWord(o.rt) + " offloaded (rcu_nocbs)"}
	if o.rt.subsetOf(nocbs) {
		r.Status = Pass
		return r
	}
	r.Status = Warn
	r.Observed = fmt.Sprintf("%s %s RCU callbacks; %s", cpuWord(o.rt.andNot(nocbs)), verb(o.rt.andNot(nocbs), "runs its own", "run their own"), obs)
	r.Remedy = bootParams(env, &r, "rcu_nocbs="+o.rt.String())
	return r
}

func checkSMT(env Env, o resolved) Result {
	var shared []string
	var bad cpuSet
	for _, n := range o.rt.list() {
		s, p, err := env.cpuFile(n, "topology", "thread_siblings_list")
		if err != nil {
			return skip(env, fmt.Errorf("reading the topology of CPU %d: %w", n, err))
		}
		sib, err := parseCPUList(s)
		if err != nil {
			return skip(env, parseErr(p, err))
		}
		if hk := sib.and(o.hk); !hk.empty() {
			shared = append(shared, fmt.Sprintf("RT CPU %d shares a core with housekeeping %s", n, cpuWord(hk)))
			bad = bad.or(hk)
		}
	}
	r := Result{Expected: "every SMT sibling of an RT CPU is an RT CPU too (or SMT off)"}
	if len(shared) == 0 {
		r.Status, r.Observed = Pass, "no RT CPU shares a core with a housekeeping CPU"
		return r
	}
	r.Status = Warn
	r.Observed = strings.Join(shared, "; ")
	r.Remedy = fmt.Sprintf("echo off > %s/devices/system/cpu/smt/control\n%s\n# or instead add the siblings (%s) to the RT CPUs and isolate them",
		DefaultSysRoot, bootParams(env, &r, "nosmt"), bad)
	return r
}

func checkGovernor(env Env, o resolved) Result {
	var obs []string
	var bad []int
	for _, n := range o.rt.list() {
		g, _, err := env.cpuFile(n, "cpufreq", "scaling_governor")
		if notExist(err) {
			return Result{Status: Skip, Observed: fmt.Sprintf("no cpufreq for CPU %d: the frequency is not under the kernel's control (VM, firmware, or no cpufreq driver)", n)}
		}
		if err != nil {
			return skip(env, err)
		}
		obs = append(obs, fmt.Sprintf("CPU %d: %s", n, orNone(g)))
		if g != "performance" {
			bad = append(bad, n)
		}
	}
	r := Result{Observed: strings.Join(obs, ", "), Expected: "performance on RT " + cpuWord(o.rt)}
	if len(bad) == 0 {
		r.Status = Pass
		return r
	}
	r.Status = Warn
	r.Remedy = forLoop(bad, "echo performance > "+DefaultSysRoot+"/devices/system/cpu/cpu$n/cpufreq/scaling_governor") +
		"\n" + bootParams(env, &r, "cpufreq.default_governor=performance")
	return r
}

// maxIdleExitLatencyUs is the deepest C-state exit latency sysprep accepts
// on an RT CPU: a wake-up from a deeper state adds its latency to every
// period's release.
const maxIdleExitLatencyUs = 10

type idleState struct {
	dir, name string
	latencyUs uint64
	disabled  bool
}

func (e Env) idleStates(cpu int) ([]idleState, error) {
	dir := e.sysPath("devices", "system", "cpu", "cpu"+strconv.Itoa(cpu), "cpuidle")
	ents, err := readDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	var out []idleState
	for _, ent := range ents {
		if !strings.HasPrefix(ent.Name(), "state") {
			continue
		}
		d := filepath.Join(dir, ent.Name())
		st := idleState{dir: ent.Name()}
		name, err := readFile(filepath.Join(d, "name"))
		if err != nil {
			return nil, err
		}
		st.name = trimmed(name)
		lat, err := readFile(filepath.Join(d, "latency"))
		if err != nil {
			return nil, err
		}
		if st.latencyUs, err = parseUint(lat); err != nil {
			return nil, parseErr(filepath.Join(d, "latency"), err)
		}
		dis, err := readFile(filepath.Join(d, "disable"))
		if err != nil {
			return nil, err
		}
		if st.disabled, err = parseBool01(dis); err != nil {
			return nil, parseErr(filepath.Join(d, "disable"), err)
		}
		out = append(out, st)
	}
	slices.SortStableFunc(out, func(a, b idleState) int {
		ai, _ := strconv.Atoi(strings.TrimPrefix(a.dir, "state"))
		bi, _ := strconv.Atoi(strings.TrimPrefix(b.dir, "state"))
		return ai - bi
	})
	return out, nil
}

func checkIdle(env Env, o resolved) Result {
	var obs, fixes []string
	status := Pass
	any := false
	for _, c := range o.rt.list() {
		states, err := env.idleStates(c)
		if err != nil {
			if notExist(err) {
				obs = append(obs, fmt.Sprintf("CPU %d: no cpuidle states (default idle loop)", c))
				continue
			}
			return skip(env, err)
		}
		any = true
		qosPath := env.sysPath("devices", "system", "cpu", "cpu"+strconv.Itoa(c), "power", "pm_qos_resume_latency_us")
		limit, limited := uint64(0), false
		qos := "no PM QoS limit"
		if s, err := readFile(qosPath); err == nil {
			l, set, err := parsePMQoSResumeLatency(s)
			if err != nil {
				return skip(env, parseErr(qosPath, err))
			}
			limit, limited = l, set
			if set {
				qos = fmt.Sprintf("PM QoS resume latency %d µs", l)
			}
		}
		var parts []string
		var deep []string
		for _, st := range states {
			switch {
			case st.disabled:
				parts = append(parts, fmt.Sprintf("%s %d µs (disabled)", st.name, st.latencyUs))
			case limited && st.latencyUs > limit:
				parts = append(parts, fmt.Sprintf("%s %d µs (barred by PM QoS)", st.name, st.latencyUs))
			default:
				parts = append(parts, fmt.Sprintf("%s %d µs", st.name, st.latencyUs))
				if st.latencyUs > maxIdleExitLatencyUs {
					deep = append(deep, st.dir)
				}
			}
		}
		obs = append(obs, fmt.Sprintf("CPU %d: %s; %s", c, strings.Join(parts, ", "), qos))
		if len(deep) > 0 {
			status = Warn
			fixes = append(fixes, sysfsRemedy(fmt.Sprintf("%s/devices/system/cpu/cpu%d/power/pm_qos_resume_latency_us", DefaultSysRoot, c), strconv.Itoa(maxIdleExitLatencyUs)))
		}
	}
	if !any {
		return Result{Status: Skip, Observed: strings.Join(obs, "; ")}
	}
	return Result{
		Status:   status,
		Observed: strings.Join(obs, "; "),
		Expected: fmt.Sprintf("no enabled C-state with exit latency above %d µs on RT %s", maxIdleExitLatencyUs, cpuWord(o.rt)),
		Remedy:   strings.Join(fixes, "\n"),
	}
}
