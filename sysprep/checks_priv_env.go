package sysprep

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/rtcell/rtcell/rt/probe"
)

const unlimited = math.MaxUint64

func limitString(v uint64) string {
	if v == unlimited {
		return "unlimited"
	}
	return fmt.Sprint(v)
}

// binaryCaps describes --binary's file capabilities and whether it
// carries cap (permitted and effective).
func binaryCaps(o resolved, capNum int) (desc string, ok bool) {
	if o.Binary == "" {
		return "", false
	}
	c, err := probe.FileCaps(o.Binary)
	switch {
	case errors.Is(err, probe.ErrNoFileCaps):
		return o.Binary + " has no file capabilities", false
	case err != nil:
		return err.Error(), false
	}
	return fmt.Sprintf("%s: %s", o.Binary, c), c.Has(capNum) && c.Effective
}

func binaryName(o resolved) string {
	if o.Binary != "" {
		return o.Binary
	}
	return "bin/runner"
}

func checkSysNice(env Env, o resolved) Result {
	st, err := env.selfStatus()
	if err != nil {
		return skip(env, err)
	}
	lim, err := env.selfLimits()
	if err != nil {
		return skip(env, err)
	}
	hasCap := st.CapEff&(1<<probe.CapSysNice) != 0
	rlimOK := lim.RealtimePriority >= uint64(o.Priority) // unlimited is the largest value
	var obs []string
	if hasCap {
		obs = append(obs, "CAP_SYS_NICE in CapEff")
	} else {
		obs = append(obs, "no CAP_SYS_NICE in CapEff")
	}
	obs = append(obs, "RLIMIT_RTPRIO "+limitString(lim.RealtimePriority))
	r := Result{Expected: fmt.Sprintf("CAP_SYS_NICE or RLIMIT_RTPRIO ≥ %d, and SCHED_FIFO %d settable", o.Priority, o.Priority)}
	r.Status = Pass
	if !hasCap && !rlimOK {
		r.Status = Fail
	}
	probeFailed := false
	if env.Live() {
		if err := probe.FIFO(o.Priority); err != nil {
			probeFailed = true
			r.Status = Fail
			obs = append(obs, fmt.Sprintf("SCHED_FIFO %d probe failed: %v", o.Priority, err))
		} else {
			obs = append(obs, fmt.Sprintf("SCHED_FIFO %d probe on a test thread succeeded", o.Priority))
		}
	} else {
		obs = append(obs, "probe not run (not the live /proc)")
	}
	bin := binaryName(o)
	if o.Binary != "" {
		d, ok := binaryCaps(o, probe.CapSysNice)
		obs = append(obs, d)
		if !ok && r.Status == Pass {
			r.Status = Warn
			obs = append(obs, "it gets SCHED_FIFO only when run as root or with AmbientCapabilities=CAP_SYS_NICE")
		}
	}
	r.Observed = "this process: " + strings.Join(obs, "; ")
	fixes := []string{
		"setcap cap_sys_nice,cap_ipc_lock+ep " + bin,
		"# or for a systemd service: AmbientCapabilities=CAP_SYS_NICE CAP_IPC_LOCK and LimitRTPRIO=" + fmt.Sprint(o.Priority),
		fmt.Sprintf("# or for a user group: echo '@realtime - rtprio %d' >> /etc/security/limits.conf", o.Priority),
	}
	if probeFailed && (hasCap || rlimOK) {
		// RT group scheduling is the usual reason; advise on it only
		// where the kernel has it (or its config cannot be read).
		if cfg, _, err := env.kernelConfig(); err != nil || cfg["CONFIG_RT_GROUP_SCHED"] == "y" {
			fixes = append([]string{"# privileges are there but the kernel refused: with CONFIG_RT_GROUP_SCHED the cgroup needs an RT budget", rtGroupAdvice(env)}, fixes...)
		} else {
			fixes = append([]string{"# privileges are there but the kernel refused SCHED_FIFO (no RT_GROUP_SCHED here): look for a seccomp filter or RestrictRealtime= on the service"}, fixes...)
		}
	}
	r.Remedy = strings.Join(fixes, "\n")
	return r
}

func checkMemlock(env Env, o resolved) Result {
	st, err := env.selfStatus()
	if err != nil {
		return skip(env, err)
	}
	lim, err := env.selfLimits()
	if err != nil {
		return skip(env, err)
	}
	hasCap := st.CapEff&(1<<probe.CapIPCLock) != 0
	var obs []string
	if hasCap {
		obs = append(obs, "CAP_IPC_LOCK in CapEff")
	} else {
		obs = append(obs, "no CAP_IPC_LOCK in CapEff")
	}
	obs = append(obs, "RLIMIT_MEMLOCK "+limitString(lim.LockedMemory))
	r := Result{Expected: "CAP_IPC_LOCK or RLIMIT_MEMLOCK unlimited, so mlockall(MCL_CURRENT|MCL_FUTURE) succeeds"}
	r.Status = Pass
	if !hasCap && lim.LockedMemory != unlimited {
		r.Status = Fail
	}
	if o.Binary != "" {
		d, ok := binaryCaps(o, probe.CapIPCLock)
		obs = append(obs, d)
		if !ok && r.Status == Pass {
			r.Status = Warn
			obs = append(obs, "it may lock memory only when run as root or with AmbientCapabilities=CAP_IPC_LOCK")
		}
	}
	r.Observed = "this process: " + strings.Join(obs, "; ")
	r.Remedy = strings.Join([]string{
		"setcap cap_sys_nice,cap_ipc_lock+ep " + binaryName(o),
		"# or for a systemd service: AmbientCapabilities=CAP_SYS_NICE CAP_IPC_LOCK and LimitMEMLOCK=infinity",
		"# or for a user group: echo '@realtime - memlock unlimited' >> /etc/security/limits.conf",
	}, "\n")
	return r
}

func checkClockSource(env Env, o resolved) Result {
	cs, err := env.clockSource()
	if err != nil {
		return skip(env, err)
	}
	flags, ferr := env.cpuFlags()
	m := env.host().Machine
	x86 := m == "x86_64" || strings.HasPrefix(m, "i") && strings.HasSuffix(m, "86") || slices.Contains(flags, "tsc")
	if !x86 {
		return Result{Status: Skip, Observed: fmt.Sprintf("clocksource %s; the TSC check applies to x86 only", cs.Current)}
	}
	r := Result{Expected: "clocksource tsc, with constant_tsc and nonstop_tsc in /proc/cpuinfo"}
	obs := fmt.Sprintf("clocksource %s (available: %s)", cs.Current, strings.Join(cs.Available, " "))
	var missing []string
	if ferr != nil {
		obs += "; " + env.msg(ferr)
	} else {
		for _, f := range []string{"constant_tsc", "nonstop_tsc"} {
			if !slices.Contains(flags, f) {
				missing = append(missing, f)
			}
		}
		if len(missing) > 0 {
			obs += "; CPU lacks " + strings.Join(missing, ", ")
		} else {
			obs += "; constant_tsc nonstop_tsc"
		}
	}
	r.Observed = obs
	switch {
	case cs.Current == "tsc" && len(missing) == 0 && ferr == nil:
		r.Status = Pass
	case cs.Current != "tsc":
		r.Status = Warn
		if ferr != nil || len(missing) > 0 {
			// Forcing tsc=reliable on a TSC that drifts would corrupt time.
			r.Remedy = "# the CPU has no invariant TSC (constant_tsc and nonstop_tsc): keep the kernel's clocksource, and use hardware with an invariant TSC for real time"
			break
		}
		fix := fmt.Sprintf("echo tsc > %s/devices/system/clocksource/clocksource0/current_clocksource", DefaultSysRoot)
		if !slices.Contains(cs.Available, "tsc") {
			fix = "# the kernel found the TSC unreliable at boot, though the CPU says it is invariant; at the next boot:"
		}
		r.Remedy = fix + "\n" + bootParams(env, &r, "clocksource=tsc", "tsc=reliable")
	default:
		r.Status = Warn
		r.Remedy = "# the TSC is not invariant: use a CPU with constant_tsc and nonstop_tsc, and keep the RT CPUs at a fixed frequency out of deep C-states (cpu.governor, cpu.idle)"
	}
	return r
}

func checkTHP(env Env, o resolved) Result {
	base := env.sysPath("kernel", "mm", "transparent_hugepage")
	en, err := readFile(base + "/enabled")
	if err != nil {
		if notExist(err) {
			return Result{Status: Skip, Observed: "no transparent_hugepage in sysfs: the kernel lacks CONFIG_TRANSPARENT_HUGEPAGE"}
		}
		return skip(env, err)
	}
	enabled, err := parseBracketChoice(en)
	if err != nil {
		return skip(env, parseErr(base+"/enabled", err))
	}
	obs := "enabled [" + enabled + "]"
	defrag := ""
	if df, err := readFile(base + "/defrag"); err == nil {
		if defrag, err = parseBracketChoice(df); err != nil {
			return skip(env, parseErr(base+"/defrag", err))
		}
		obs += ", defrag [" + defrag + "]"
	}
	r := Result{Observed: obs, Expected: "enabled madvise or never, defrag not always: no compaction stall in a page fault"}
	if enabled != "always" && defrag != "always" {
		r.Status = Pass
		return r
	}
	r.Status = Warn
	live := DefaultSysRoot + "/kernel/mm/transparent_hugepage"
	r.Remedy = sysfsRemedy(live+"/enabled", "never") + "\n" + bootParams(env, &r, "transparent_hugepage=never")
	return r
}

func checkSwap(env Env, o resolved) Result {
	p := env.procPath("swaps")
	b, err := readFile(p)
	if err != nil {
		return skip(env, err)
	}
	sw, err := parseSwaps(b)
	if err != nil {
		return skip(env, parseErr(p, err))
	}
	if len(sw) == 0 {
		return Result{Status: Pass, Observed: "no active swap", Expected: "no active swap"}
	}
	var s []string
	for _, w := range sw {
		s = append(s, fmt.Sprintf("%s (%s, %d KiB)", escape(w.Filename, false), w.Type, w.SizeKiB))
	}
	return Result{
		Status:   Warn,
		Observed: "active swap: " + strings.Join(s, ", "),
		Expected: "no active swap: the RT process locks its memory, but its helpers and the kernel's reclaim still stall on swap I/O",
		Remedy:   "swapoff -a\nsystemctl mask swap.target   # and comment out the swap lines in /etc/fstab",
	}
}

// containerMarkers are cgroup path fragments of container runtimes.
var containerMarkers = []string{"docker", "kubepods", "libpod", "lxc", "containerd", "crio"}

func checkContainer(env Env, o resolved) Result {
	var found []string
	kind := ""
	if ev, err := env.environ(1); err == nil {
		for _, kv := range ev {
			if v, ok := strings.CutPrefix(kv, "container="); ok {
				kind = "container"
				found = append(found, "pid 1 has container="+quote(v))
			}
		}
	}
	for _, f := range []string{"self/cgroup", "1/cgroup"} {
		s, err := env.readProc(strings.Split(f, "/")...)
		if err != nil {
			continue
		}
		for _, m := range containerMarkers {
			if strings.Contains(s, "/"+m) {
				kind = "container"
				found = append(found, fmt.Sprintf("%s mentions %s", env.show(env.procPath(f)), m))
				break
			}
		}
	}
	if flags, err := env.cpuFlags(); err == nil && slices.Contains(flags, "hypervisor") {
		if kind == "" {
			kind = "virtual machine"
		}
		found = append(found, "CPU flag hypervisor")
	}
	for _, f := range []string{"class/dmi/id/sys_vendor", "hypervisor/type"} {
		if s, err := env.readSys(strings.Split(f, "/")...); err == nil {
			v := trimmed(s)
			for _, vm := range []string{"QEMU", "KVM", "VMware", "innotek", "Xen", "xen", "Microsoft", "Amazon EC2", "Google"} {
				if strings.Contains(v, vm) {
					if kind == "" {
						kind = "virtual machine"
					}
					found = append(found, fmt.Sprintf("%s is %s", env.show(env.sysPath(f)), quote(v)))
					break
				}
			}
		}
	}
	r := Result{Expected: "bare metal: latency results hold for the hardware itself"}
	if kind == "" {
		r.Status, r.Observed = Pass, "no container or hypervisor detected"
		return r
	}
	r.Status = Warn
	r.Observed = fmt.Sprintf("running in a %s (%s): the host schedules this box, so its latency and several checks describe the guest, not the hardware", kind, strings.Join(found, "; "))
	r.Remedy = "# commission on the target hardware; in a VM, pin each vCPU to an isolated host CPU on a PREEMPT_RT host and rerun sysprep on both"
	return r
}
