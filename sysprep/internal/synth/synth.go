// Package synth writes hand-made fixture trees (<root>/proc, <root>/sys,
// <root>/boot) of a PREEMPT_RT box for sysprep's tests: a well-configured
// one and broken variants, and large ones for benchmarks. The trees hold
// only the files sysprep reads, in the kernel's formats.
package synth

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Params describe a synthetic box.
type Params struct {
	CPUs     int   // online CPUs 0..CPUs-1
	RTCPUs   []int // CPUs set up for real time (isolated when Isolate)
	Isolate  bool  // isolcpus/nohz_full/rcu_nocbs/irqaffinity on the command line
	RT       bool  // PREEMPT_RT kernel
	Throttle bool  // kernel.sched_rt_runtime_us = 950000 instead of -1
	IRQs     int   // device IRQs, numbered from 24
	// IRQsOnRT lists IRQ numbers whose affinity includes the first RT
	// CPU, named by IRQNames or "ahci[0000:00:17.0]".
	IRQsOnRT []int
	IRQNames map[int]string
	// Processes adds this many ordinary user processes with 4 threads each.
	Processes int
	// Untuned leaves the settings tuned's realtime profile changes at
	// their kernel defaults: NMI and soft-lockup watchdogs on, no
	// skew_tick or tsc=reliable, NUMA balancing and KSM on,
	// vm.stat_interval 1, turbo on, timer migration on.
	Untuned bool
	// Bootloader is "grub" (an /etc/default/grub), "systemd-boot" (an
	// /etc/kernel/cmdline) or "" (neither).
	Bootloader string
}

// Good is a well-configured 4-CPU PREEMPT_RT box with CPUs 2-3 for real time.
func Good() Params {
	return Params{CPUs: 4, RTCPUs: []int{2, 3}, Isolate: true, RT: true, IRQs: 16, Processes: 3, Bootloader: "grub"}
}

// Large is a 64-CPU box with 2,000 IRQs, for benchmarks.
func Large() Params {
	p := Params{CPUs: 64, Isolate: true, RT: true, IRQs: 2000, Processes: 40}
	for c := 32; c < 64; c++ {
		p.RTCPUs = append(p.RTCPUs, c)
	}
	return p
}

const release = "6.12.43+deb13-rt-amd64"

func cpuList(cpus []int) string {
	sort.Ints(cpus)
	var parts []string
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", cpus[i], cpus[j]))
		} else {
			parts = append(parts, fmt.Sprint(cpus[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

func mask(cpus []int) string {
	n := 0
	for _, c := range cpus {
		n = max(n, c+1)
	}
	groups := max((n+31)/32, 1)
	words := make([]uint32, groups)
	for _, c := range cpus {
		words[c/32] |= 1 << uint(c%32)
	}
	var parts []string
	for g := groups - 1; g >= 0; g-- {
		if g == groups-1 {
			parts = append(parts, fmt.Sprintf("%x", words[g]))
		} else {
			parts = append(parts, fmt.Sprintf("%08x", words[g]))
		}
	}
	return strings.Join(parts, ",")
}

// Files returns the tree as path → content; a content of "\x00dir"
// makes an empty directory, "\x00link:T" a symlink to T.
func Files(p Params) map[string]string {
	f := map[string]string{}
	all := make([]int, p.CPUs)
	for i := range all {
		all[i] = i
	}
	isRT := map[int]bool{}
	for _, c := range p.RTCPUs {
		isRT[c] = true
	}
	var hk []int
	for _, c := range all {
		if !isRT[c] {
			hk = append(hk, c)
		}
	}
	rt := cpuList(append([]int(nil), p.RTCPUs...))
	hkList, hkMask, allMask := cpuList(hk), mask(hk), mask(all)
	defMask := allMask
	if p.Isolate {
		defMask = hkMask
	}

	// Kernel identity and command line.
	version := "#1 SMP PREEMPT_DYNAMIC Debian 6.12.43-1 (2025-08-27)"
	if p.RT {
		version = "#1 SMP PREEMPT_RT Debian 6.12.43-1 (2025-08-27)"
	}
	f["proc/sys/kernel/hostname"] = "plc-synth\n"
	f["proc/sys/kernel/osrelease"] = release + "\n"
	f["proc/sys/kernel/version"] = version + "\n"
	f["proc/sys/kernel/arch"] = "x86_64\n"
	f["proc/sys/kernel/sched_rt_period_us"] = "1000000\n"
	if p.Throttle {
		f["proc/sys/kernel/sched_rt_runtime_us"] = "950000\n"
	} else {
		f["proc/sys/kernel/sched_rt_runtime_us"] = "-1\n"
	}
	tuned := map[bool]string{true: "1\n", false: "0\n"}
	f["proc/sys/kernel/timer_migration"] = tuned[p.Untuned]
	f["proc/sys/kernel/nmi_watchdog"] = tuned[p.Untuned]
	f["proc/sys/kernel/soft_watchdog"] = tuned[p.Untuned]
	f["proc/sys/kernel/numa_balancing"] = tuned[p.Untuned]
	f["sys/kernel/mm/ksm/run"] = tuned[p.Untuned]
	f["sys/kernel/rcu_normal"] = tuned[!p.Untuned]
	f["sys/devices/system/cpu/intel_pstate/no_turbo"] = tuned[!p.Untuned]
	f["proc/sys/vm/stat_interval"] = map[bool]string{true: "1\n", false: "10\n"}[p.Untuned]
	cmd := "BOOT_IMAGE=/boot/vmlinuz-" + release + " root=/dev/sda1 ro quiet"
	if p.Isolate {
		cmd += fmt.Sprintf(" isolcpus=managed_irq,domain,%s nohz_full=%s rcu_nocbs=%s irqaffinity=%s", rt, rt, rt, hkList)
	}
	if !p.Untuned {
		cmd += " skew_tick=1 tsc=reliable nosoftlockup nmi_watchdog=0"
	}
	f["etc/os-release"] = "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"13\"\nID=debian\n"
	switch p.Bootloader {
	case "grub":
		f["etc/default/grub"] = "GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\nGRUB_DISTRIBUTOR=`( . /etc/os-release; echo ${NAME:-Debian} ) 2>/dev/null || echo Debian`\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"\"\n"
	case "systemd-boot":
		f["etc/kernel/cmdline"] = strings.TrimPrefix(cmd, "BOOT_IMAGE=/boot/vmlinuz-"+release+" ") + "\n"
	}
	f["proc/cmdline"] = cmd + "\n"
	preempt := "# CONFIG_PREEMPT_RT is not set\n"
	if p.RT {
		preempt = "CONFIG_PREEMPT_RT=y\n"
	}
	f["boot/config-"+release] = "#\n# Linux/x86 6.12.43 Kernel Configuration\n#\nCONFIG_HIGH_RES_TIMERS=y\nCONFIG_NO_HZ_FULL=y\nCONFIG_RCU_NOCB_CPU=y\n" +
		preempt + "# CONFIG_RT_GROUP_SCHED is not set\nCONFIG_CMDLINE=\"\"\n"
	var ci strings.Builder
	for _, c := range all {
		fmt.Fprintf(&ci, "processor\t: %d\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel name\t: Intel(R) Atom(TM) x6425E @ 2.00GHz\n"+
			"flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep constant_tsc nonstop_tsc tsc_deadline_timer\n\n", c)
	}
	f["proc/cpuinfo"] = ci.String()
	f["proc/swaps"] = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"

	// IRQs.
	f["proc/irq/default_smp_affinity"] = defMask + "\n"
	var in strings.Builder
	in.WriteString("    ")
	for _, c := range all {
		fmt.Fprintf(&in, "       CPU%d", c)
	}
	in.WriteString("\n")
	onRT := map[int]bool{}
	for _, n := range p.IRQsOnRT {
		onRT[n] = true
	}
	var irqThreads []struct {
		n        int
		name     string
		affinity []int
	}
	for i := 0; i < p.IRQs; i++ {
		n := 24 + i
		name := fmt.Sprintf("eth0-TxRx-%d", i)
		if v, ok := p.IRQNames[n]; ok {
			name = v
		} else if onRT[n] {
			name = "ahci[0000:00:17.0]"
		}
		aff := hk
		if !p.Isolate {
			aff = all
		}
		eff := aff[i%len(aff)]
		if onRT[n] {
			aff = append(append([]int(nil), hk...), p.RTCPUs[0])
			eff = p.RTCPUs[0]
		}
		d := fmt.Sprintf("proc/irq/%d/", n)
		f[d+"smp_affinity"] = mask(aff) + "\n"
		f[d+"effective_affinity"] = mask([]int{eff}) + "\n"
		f[d+name] = "\x00dir"
		fmt.Fprintf(&in, "%4d:", n)
		for _, c := range all {
			cnt := 0
			if c == eff {
				cnt = 1000 + i
			}
			fmt.Fprintf(&in, " %10d", cnt)
		}
		fmt.Fprintf(&in, "  IR-PCI-MSIX-0000:00:1f.6 %d-edge      %s\n", 409600+i, name)
		// The IRQ thread follows the effective affinity.
		irqThreads = append(irqThreads, struct {
			n        int
			name     string
			affinity []int
		}{n, name, []int{eff}})
	}
	for _, l := range []string{"NMI", "LOC", "RES", "CAL", "TLB"} {
		fmt.Fprintf(&in, "%s:", l)
		for range all {
			fmt.Fprintf(&in, " %10d", 7)
		}
		fmt.Fprintf(&in, "   %s interrupts\n", l)
	}
	in.WriteString("ERR:          0\nMIS:          0\n")
	f["proc/interrupts"] = in.String()

	// Tasks.
	pid := 0
	addTask := func(comm string, flags uint, policy, prio int, allowed []int, tid int, threads int) {
		d := fmt.Sprintf("proc/%d/task/%d/", pid, tid)
		stat := fmt.Sprintf("%d (%s) S 2 0 0 0 -1 %d 0 0 0 0 0 0 0 0 %d 0 %d 0 10 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 %d %d %d 0 0 0 0 0 0 0 0 0 0 0\n",
			tid, comm, flags, -1-prio, threads, allowed[0], prio, policy)
		status := fmt.Sprintf("Name:\t%s\nUmask:\t0000\nState:\tS (sleeping)\nTgid:\t%d\nPid:\t%d\nPPid:\t2\n"+
			"Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n"+
			"CapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\nCpus_allowed:\t%s\nCpus_allowed_list:\t%s\n",
			comm, pid, tid, mask(allowed), cpuList(append([]int(nil), allowed...)))
		f[d+"stat"] = stat
		f[d+"status"] = status
		if tid == pid {
			pd := fmt.Sprintf("proc/%d/", pid)
			f[pd+"stat"], f[pd+"status"] = stat, status
			if pid == 1 || pid == 4242 {
				f[pd+"cgroup"] = "0::/init.scope\n"
			}
		}
	}
	const kthread, noSetAff = 0x00200000, 0x04000000
	userAllowed := all
	if p.Isolate {
		userAllowed = hk
	}
	pid = 1
	addTask("systemd", 0x400100, 0, 0, userAllowed, 1, 1)
	pid = 2
	addTask("kthreadd", kthread, 0, 0, userAllowed, 2, 1)
	pid = 10
	for _, c := range all {
		for _, k := range []struct {
			comm         string
			policy, prio int
		}{{"migration/%d", 1, 99}, {"ksoftirqd/%d", 0, 0}, {"ktimers/%d", 1, 1}, {"cpuhp/%d", 0, 0}} {
			if k.comm == "ktimers/%d" && !p.RT {
				continue
			}
			addTask(fmt.Sprintf(k.comm, c), kthread|noSetAff, k.policy, k.prio, []int{c}, pid, 1)
			pid++
		}
		if p.Isolate && isRT[c] {
			addTask(fmt.Sprintf("rcuop/%d", c), kthread, 0, 0, userAllowed, pid, 1)
			pid++
		}
	}
	for _, q := range irqThreads {
		comm := fmt.Sprintf("irq/%d-%s", q.n, q.name)
		if len(comm) > 15 {
			comm = comm[:15]
		}
		addTask(comm, kthread, 1, 50, q.affinity, pid, 1)
		pid++
	}
	pid = 1000
	for i := 0; i < p.Processes; i++ {
		base := pid
		for t := 0; t < 4; t++ {
			addTask(fmt.Sprintf("plc-hmi-%d", i), 0x400000, 0, 0, userAllowed, base+t, 4)
		}
		pid += 10
	}
	pid = 4242
	addTask("sysprep", 0x400000, 0, 0, all, 4242, 1)
	f["proc/4242/limits"] = "Limit                     Soft Limit           Hard Limit           Units     \n" +
		"Max cpu time              unlimited            unlimited            seconds   \n" +
		"Max open files            1024                 524288               files     \n" +
		"Max locked memory         8388608              8388608              bytes     \n" +
		"Max realtime priority     0                    0                    \n" +
		"Max realtime timeout      unlimited            unlimited            us        \n"
	f["proc/self"] = "\x00link:4242"

	// sysfs.
	if p.RT {
		f["sys/kernel/realtime"] = "1\n"
	}
	cpu := "sys/devices/system/cpu/"
	f[cpu+"online"] = fmt.Sprintf("0-%d\n", p.CPUs-1)
	f[cpu+"possible"] = fmt.Sprintf("0-%d\n", p.CPUs-1)
	f[cpu+"present"] = fmt.Sprintf("0-%d\n", p.CPUs-1)
	f[cpu+"offline"] = "\n"
	if p.Isolate {
		f[cpu+"isolated"] = rt + "\n"
		f[cpu+"nohz_full"] = rt + "\n"
	} else {
		f[cpu+"isolated"] = "\n"
		f[cpu+"nohz_full"] = "(null)\n"
	}
	for _, c := range all {
		d := fmt.Sprintf("%scpu%d/", cpu, c)
		f[d+"topology/thread_siblings_list"] = fmt.Sprintf("%d\n", c)
		f[d+"topology/core_id"] = fmt.Sprintf("%d\n", c)
		f[d+"topology/physical_package_id"] = "0\n"
		f[d+"topology/core_siblings_list"] = fmt.Sprintf("0-%d\n", p.CPUs-1)
		f[d+"cpufreq/scaling_governor"] = "performance\n"
		f[d+"cpufreq/scaling_driver"] = "intel_pstate\n"
		f[d+"power/pm_qos_resume_latency_us"] = "0\n"
		for i, s := range []struct {
			name string
			lat  int
		}{{"POLL", 0}, {"C1", 2}, {"C6", 133}} {
			sd := fmt.Sprintf("%scpuidle/state%d/", d, i)
			f[sd+"name"] = s.name + "\n"
			f[sd+"latency"] = fmt.Sprintf("%d\n", s.lat)
			dis := "0"
			if s.lat > 10 && isRT[c] && p.Isolate {
				dis = "1"
			}
			f[sd+"disable"] = dis + "\n"
		}
	}
	cs := "sys/devices/system/clocksource/clocksource0/"
	f[cs+"current_clocksource"] = "tsc\n"
	f[cs+"available_clocksource"] = "tsc hpet acpi_pm \n"
	f["sys/kernel/mm/transparent_hugepage/enabled"] = "always [madvise] never\n"
	f["sys/kernel/mm/transparent_hugepage/defrag"] = "always defer defer+madvise [madvise] never\n"
	f["sys/devices/virtual/workqueue/cpumask"] = defMask + "\n"
	f["sys/class/dmi/id/sys_vendor"] = "Siemens AG\n"
	f["sys/class/dmi/id/product_name"] = "SIMATIC IPC227G\n"
	f["sys/class/dmi/id/bios_version"] = "V26.01.07\n"
	f["sys/class/dmi/id/bios_date"] = "03/14/2025\n"
	// cgroup v2, as Debian 12 and 13 mount it.
	f["sys/fs/cgroup/cgroup.controllers"] = "cpuset cpu io memory hugetlb pids rdma misc\n"
	return f
}

// Write writes the tree for p under dir, replacing what was there.
func Write(dir string, p Params) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clearing %s: %w", dir, err)
	}
	for name, content := range Files(p) {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("writing synthetic tree: %w", err)
		}
		switch {
		case content == "\x00dir":
			// An empty .gitkeep keeps the directory in git: an IRQ's
			// action directories are empty, and a clone would lose them.
			if err := os.MkdirAll(path, 0o755); err != nil {
				return fmt.Errorf("writing synthetic tree: %w", err)
			}
			if err := os.WriteFile(filepath.Join(path, ".gitkeep"), nil, 0o644); err != nil {
				return fmt.Errorf("writing synthetic tree: %w", err)
			}
		case strings.HasPrefix(content, "\x00link:"):
			if err := os.Symlink(strings.TrimPrefix(content, "\x00link:"), path); err != nil {
				return fmt.Errorf("writing synthetic tree: %w", err)
			}
		default:
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				return fmt.Errorf("writing synthetic tree: %w", err)
			}
		}
	}
	return nil
}
