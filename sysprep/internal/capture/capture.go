// Package capture copies the files sysprep reads from a live system into a
// fixture tree (<dst>/proc, <dst>/sys), small and self-contained: only
// the listed files, no symlink but proc/self (relative), and process
// environments reduced to the variables sysprep looks at.
package capture

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procFiles and sysFiles are globs relative to the roots.
var procFiles = []string{
	"cmdline", "cpuinfo", "interrupts", "config.gz", "swaps",
	"sys/kernel/hostname", "sys/kernel/osrelease", "sys/kernel/version", "sys/kernel/ostype", "sys/kernel/arch",
	"sys/kernel/sched_rt_runtime_us", "sys/kernel/sched_rt_period_us", "sys/kernel/timer_migration",
	"sys/kernel/nmi_watchdog", "sys/kernel/soft_watchdog", "sys/kernel/numa_balancing", "sys/vm/stat_interval",
	"irq/default_smp_affinity",
	"irq/[0-9]*/smp_affinity", "irq/[0-9]*/smp_affinity_list",
	"irq/[0-9]*/effective_affinity", "irq/[0-9]*/effective_affinity_list",
	"[0-9]*/stat", "[0-9]*/status", "[0-9]*/comm", "[0-9]*/cgroup",
	"[0-9]*/task/[0-9]*/stat", "[0-9]*/task/[0-9]*/status", "[0-9]*/task/[0-9]*/comm",
}

var sysFiles = []string{
	"kernel/realtime",
	"devices/system/cpu/online", "devices/system/cpu/offline", "devices/system/cpu/possible",
	"devices/system/cpu/present", "devices/system/cpu/isolated", "devices/system/cpu/nohz_full",
	"devices/system/cpu/smt/control", "devices/system/cpu/smt/active",
	"devices/system/cpu/cpu[0-9]*/topology/thread_siblings_list",
	"devices/system/cpu/cpu[0-9]*/topology/core_id",
	"devices/system/cpu/cpu[0-9]*/topology/physical_package_id",
	"devices/system/cpu/cpu[0-9]*/topology/core_siblings_list",
	"devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor",
	"devices/system/cpu/cpu[0-9]*/cpufreq/scaling_driver",
	"devices/system/cpu/cpu[0-9]*/cpuidle/state[0-9]*/name",
	"devices/system/cpu/cpu[0-9]*/cpuidle/state[0-9]*/latency",
	"devices/system/cpu/cpu[0-9]*/cpuidle/state[0-9]*/disable",
	"devices/system/cpu/cpu[0-9]*/power/pm_qos_resume_latency_us",
	"devices/system/clocksource/clocksource[0-9]*/current_clocksource",
	"devices/system/clocksource/clocksource[0-9]*/available_clocksource",
	"kernel/mm/transparent_hugepage/enabled", "kernel/mm/transparent_hugepage/defrag",
	"devices/virtual/workqueue/cpumask",
	"kernel/mm/ksm/run", "kernel/rcu_normal", "devices/system/cpu/cpufreq/boost", "devices/system/cpu/intel_pstate/no_turbo",
	"fs/cgroup/cgroup.controllers",
	"class/dmi/id/sys_vendor", "class/dmi/id/product_name", "class/dmi/id/bios_version", "class/dmi/id/bios_date", "hypervisor/type",
	"kernel/debug/irq/irqs/[0-9]*",
}

// keptEnv are the environment variables sysprep reads from processes
// (irqbalance's bans, a container manager's marker); others may hold
// secrets and are dropped.
// etcFiles are read from the etc directory next to the proc root (/etc
// for the live system): the distribution and the boot loader.
var etcFiles = []string{"os-release", "default/grub", "kernel/cmdline"}

var keptEnv = []string{"IRQBALANCE_BANNED_CPULIST=", "IRQBALANCE_BANNED_CPUS=", "container="}

// Capture copies the files sysprep reads from procRoot and sysRoot into
// dst/proc, dst/sys and dst/etc, replacing dst. Files that vanish or cannot be read
// (exited tasks, root-only files) are left out.
func Capture(procRoot, sysRoot, dst string) error {
	if err := os.RemoveAll(dst); err != nil {
		return fmt.Errorf("clearing %s: %w", dst, err)
	}
	for _, set := range []struct {
		root, sub string
		globs     []string
	}{{procRoot, "proc", procFiles}, {sysRoot, "sys", sysFiles}, {filepath.Join(filepath.Dir(filepath.Clean(procRoot)), "etc"), "etc", etcFiles}} {
		for _, g := range set.globs {
			matches, err := filepath.Glob(filepath.Join(set.root, g))
			if err != nil {
				return fmt.Errorf("capturing %s: %w", g, err)
			}
			for _, m := range matches {
				rel, _ := filepath.Rel(set.root, m)
				b, err := os.ReadFile(m)
				if err != nil {
					continue
				}
				if err := write(filepath.Join(dst, set.sub, rel), b); err != nil {
					return err
				}
			}
		}
	}
	// Handler directories of IRQs (their names are the action names).
	dirs, _ := filepath.Glob(filepath.Join(procRoot, "irq", "[0-9]*", "*"))
	for _, d := range dirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			rel, _ := filepath.Rel(procRoot, d)
			if err := os.MkdirAll(filepath.Join(dst, "proc", rel), 0o755); err != nil {
				return fmt.Errorf("capturing %s: %w", d, err)
			}
			// Empty directories need a file for git to keep them.
			if err := os.WriteFile(filepath.Join(dst, "proc", rel, ".gitkeep"), nil, 0o644); err != nil {
				return fmt.Errorf("capturing %s: %w", d, err)
			}
		}
	}
	// Filtered environments of irqbalance and pid 1.
	envs, _ := filepath.Glob(filepath.Join(procRoot, "[0-9]*", "environ"))
	for _, e := range envs {
		comm, _ := os.ReadFile(filepath.Join(filepath.Dir(e), "comm"))
		if filepath.Base(filepath.Dir(e)) != "1" && strings.TrimSpace(string(comm)) != "irqbalance" {
			continue
		}
		b, err := os.ReadFile(e)
		if err != nil {
			continue
		}
		var kept []string
		for _, kv := range strings.Split(string(b), "\x00") {
			for _, k := range keptEnv {
				if strings.HasPrefix(kv, k) {
					kept = append(kept, kv)
				}
			}
		}
		rel, _ := filepath.Rel(procRoot, e)
		if err := write(filepath.Join(dst, "proc", rel), []byte(strings.Join(append(kept, ""), "\x00"))); err != nil {
			return err
		}
	}
	// proc/self: a relative link to the capturing process, with its limits.
	self, err := os.Readlink(filepath.Join(procRoot, "self"))
	if err != nil {
		return fmt.Errorf("capturing %s/self: %w", procRoot, err)
	}
	if _, err := strconv.Atoi(self); err != nil {
		return fmt.Errorf("capturing %s/self: link %q is not a pid", procRoot, self)
	}
	b, err := os.ReadFile(filepath.Join(procRoot, self, "limits"))
	if err != nil {
		return fmt.Errorf("capturing limits: %w", err)
	}
	if err := write(filepath.Join(dst, "proc", self, "limits"), b); err != nil {
		return err
	}
	if err := os.Symlink(self, filepath.Join(dst, "proc", "self")); err != nil {
		return fmt.Errorf("capturing proc/self: %w", err)
	}
	return nil
}

func write(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("capturing %s: %w", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("capturing %s: %w", path, err)
	}
	return nil
}
