package sysprep

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// KernelCmdline is the one kernel command line the report proposes: every
// parameter that a failing or warning check wants, merged into the
// running command line.
type KernelCmdline struct {
	// Current is /proc/cmdline.
	Current string `json:"current"`
	// Proposed is Current with Remove taken out and Add appended: each
	// parameter once, nothing the box already has repeated.
	Proposed string   `json:"proposed"`
	Add      []string `json:"add"`
	Remove   []string `json:"remove"`
	// Bootloader is "grub" (/etc/default/grub exists), "systemd-boot"
	// (/etc/kernel/cmdline or loader entries exist) or "none".
	Bootloader string `json:"bootloader"`
	// Install is the shell step that makes Proposed the boot loader's
	// line; empty when nothing is to be added or removed.
	Install string `json:"install"`
	// DropIn is the file Install writes and its content (for apply
	// --persist); empty for "none".
	DropIn, DropInContent string `json:"-"`
}

// Changed reports whether the proposal differs from the running line.
func (k KernelCmdline) Changed() bool { return len(k.Add)+len(k.Remove) > 0 }

// cpuListParams have cpulist values that compare as sets.
var cpuListParams = map[string]bool{"nohz_full": true, "rcu_nocbs": true, "irqaffinity": true, "workqueue.unbound_cpus": true}

// sameParamValue compares two values of parameter k.
func sameParamValue(k, a, b string) bool {
	if a == b {
		return true
	}
	if cpuListParams[k] {
		x, err1 := parseCPUList(a)
		y, err2 := parseCPUList(b)
		return err1 == nil && err2 == nil && x.subsetOf(y) && y.subsetOf(x)
	}
	if k == "isolcpus" {
		fa, ca, err1 := parseIsolcpus(a)
		fb, cb, err2 := parseIsolcpus(b)
		slices.Sort(fa)
		slices.Sort(fb)
		return err1 == nil && err2 == nil && ca.subsetOf(cb) && cb.subsetOf(ca) && slices.Equal(fa, fb)
	}
	return false
}

// mergeCmdline merges the wanted parameters into the current command
// line fields. A wanted parameter the line already has with an equal
// value is left alone; one it has with another value (or more than once)
// has every occurrence removed and the wanted one added. Parameters
// after "--" belong to init and are kept as they are.
func mergeCmdline(current, want []string) (proposed, add, remove []string) {
	kernel, initArgs := current, []string(nil)
	if i := slices.Index(current, "--"); i >= 0 {
		kernel, initArgs = current[:i], current[i:]
	}
	seen := map[string]bool{}
	drop := map[int]bool{}
	for _, w := range want {
		k, v, _ := strings.Cut(w, "=")
		k = normParam(k)
		if seen[k] {
			continue // the first check's value wins; checks agree by construction
		}
		seen[k] = true
		var at []int
		for i, f := range kernel {
			fk, _, _ := strings.Cut(f, "=")
			if normParam(fk) == k {
				at = append(at, i)
			}
		}
		if len(at) == 1 {
			_, fv, _ := strings.Cut(kernel[at[0]], "=")
			if sameParamValue(k, fv, v) {
				continue
			}
		}
		for _, i := range at {
			drop[i] = true
			remove = append(remove, kernel[i])
		}
		add = append(add, w)
	}
	for i, f := range kernel {
		if !drop[i] {
			proposed = append(proposed, f)
		}
	}
	proposed = append(proposed, add...)
	proposed = append(proposed, initArgs...)
	return proposed, add, remove
}

// loaderOwned are the parameters a boot loader adds itself: they stay out
// of the line written to its configuration.
func loaderOwned(f, loader string) bool {
	k, _, _ := strings.Cut(f, "=")
	switch k {
	case "BOOT_IMAGE", "initrd":
		return true
	case "root", "ro", "rw":
		return loader == "grub" // grub.cfg's linux line has root= and ro
	}
	return false
}

// bootloader finds the boot loader whose configuration sets the command line.
func (e Env) bootloader() string {
	if st, err := os.Stat(filepath.Join(e.EtcRoot, "default", "grub")); err == nil && st.Mode().IsRegular() {
		return "grub"
	}
	for _, p := range []string{filepath.Join(e.EtcRoot, "kernel", "cmdline"), filepath.Join(e.BootRoot, "loader", "entries"), filepath.Join(e.BootRoot, "efi", "loader", "entries")} {
		if _, err := os.Stat(p); err == nil {
			return "systemd-boot"
		}
	}
	return "none"
}

// grubDropIn is where sysprep's GRUB drop-in lives: grub-mkconfig sources
// /etc/default/grub.d/*.cfg after /etc/default/grub, so its settings win.
const grubDropIn = "/etc/default/grub.d/rtcell.cfg"

// kernelCmdline builds the report's proposed command line from the
// parameters the checks want.
func (e Env) kernelCmdline(want []string) (KernelCmdline, error) {
	s, err := e.readProc("cmdline")
	if err != nil {
		return KernelCmdline{}, err
	}
	if len(s) > maxCmdlineBytes {
		return KernelCmdline{}, fmt.Errorf("%s has %d bytes, more than a kernel takes (%d): %w", e.procPath("cmdline"), len(s), maxCmdlineBytes, ErrMalformed)
	}
	cur := strings.Fields(s)
	prop, add, rem := mergeCmdline(cur, want)
	k := KernelCmdline{Current: strings.Join(cur, " "), Proposed: strings.Join(prop, " "), Add: add, Remove: rem, Bootloader: e.bootloader()}
	if k.Add == nil {
		k.Add = []string{}
	}
	if k.Remove == nil {
		k.Remove = []string{}
	}
	var line []string
	for _, f := range prop {
		if !loaderOwned(f, k.Bootloader) {
			line = append(line, f)
		}
	}
	l := strings.Join(line, " ")
	switch k.Bootloader {
	case "grub":
		k.DropIn = grubDropIn
		k.DropInContent = "# written by rtcell sysprep: the whole kernel command line of this box\n" +
			"GRUB_CMDLINE_LINUX=" + strconv.Quote(l) + "\nGRUB_CMDLINE_LINUX_DEFAULT=\"\"\n"
	case "systemd-boot":
		k.DropIn = "/etc/kernel/cmdline"
		k.DropInContent = l + "\n"
	}
	if !k.Changed() {
		return k, nil
	}
	var b []string
	switch k.Bootloader {
	case "grub":
		b = append(b,
			"install -d /etc/default/grub.d",
			"printf '%s\\n' "+shqLines(k.DropInContent)+" > "+grubDropIn,
			"update-grub",
			"# then reboot, and rerun sysprep")
	case "systemd-boot":
		b = append(b,
			"printf '%s\\n' "+shq(l)+" > /etc/kernel/cmdline",
			`kernel-install add "$(uname -r)" "/boot/vmlinuz-$(uname -r)"`,
			"# then reboot, and rerun sysprep")
	default:
		b = append(b,
			"# no GRUB (/etc/default/grub) or systemd-boot (/etc/kernel/cmdline) here: set this line in the boot loader by hand, reboot and rerun sysprep:",
			"# "+l)
	}
	k.Install = strings.Join(b, "\n")
	return k, nil
}

func shqLines(content string) string {
	var q []string
	for _, l := range strings.Split(strings.TrimSuffix(content, "\n"), "\n") {
		q = append(q, shq(l))
	}
	return strings.Join(q, " ")
}

// kernelVersion is the major.minor of the running kernel's release.
func (e Env) kernelVersion() (major, minor int, ok bool) {
	rel := e.host().KernelRelease
	a, rest, ok1 := strings.Cut(rel, ".")
	b := rest
	if i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		b = rest[:i]
	}
	x, err1 := strconv.Atoi(a)
	y, err2 := strconv.Atoi(b)
	if !ok1 || err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return x, y, true
}

// kernelAtLeast reports whether the kernel is at least major.minor; an
// unknown version counts as new enough.
func (e Env) kernelAtLeast(major, minor int) bool {
	x, y, ok := e.kernelVersion()
	return !ok || x > major || x == major && y >= minor
}

// kernelLacksParam says why the running kernel would not understand
// the parameter a (name=value), or "" when it would (or cannot tell).
func (e Env) kernelLacksParam(a string) string {
	k, v, _ := strings.Cut(a, "=")
	cfg, _, cfgErr := e.kernelConfig()
	lacks := func(opt string) bool { return cfgErr == nil && (cfg[opt] == "" || cfg[opt] == "n") }
	switch k {
	case "workqueue.unbound_cpus":
		if !e.kernelAtLeast(6, 6) {
			return "workqueue.unbound_cpus=, which came with Linux 6.6"
		}
	case "cpufreq.default_governor":
		if !e.kernelAtLeast(5, 9) {
			return "cpufreq.default_governor=, which came with Linux 5.9"
		}
	case "isolcpus":
		if strings.Contains(v, "managed_irq") && !e.kernelAtLeast(5, 6) {
			return "isolcpus=managed_irq, which came with Linux 5.6"
		}
	case "nohz_full":
		if _, present, _ := e.nohzFull(); !present || lacks("CONFIG_NO_HZ_FULL") {
			return "CONFIG_NO_HZ_FULL"
		}
	case "rcu_nocbs":
		if lacks("CONFIG_RCU_NOCB_CPU") {
			return "CONFIG_RCU_NOCB_CPU"
		}
	case "transparent_hugepage":
		if _, err := os.Stat(e.sysPath("kernel", "mm", "transparent_hugepage")); err != nil {
			return "CONFIG_TRANSPARENT_HUGEPAGE"
		}
	case "tsc", "clocksource":
		if m := e.host().Machine; m != "" && m != "x86_64" && !(strings.HasPrefix(m, "i") && strings.HasSuffix(m, "86")) {
			return "a TSC (x86 only)"
		}
	case "nmi_watchdog":
		if _, err := os.Stat(e.sysctlPath("kernel.nmi_watchdog")); err != nil {
			return "the hard-lockup detector"
		}
	}
	return ""
}

// cgroupV2 reports whether the unified cgroup hierarchy is mounted at
// /sys/fs/cgroup.
func (e Env) cgroupV2() bool {
	_, err := os.Stat(e.sysPath("fs", "cgroup", "cgroup.controllers"))
	return err == nil
}

// cmdlineSummary is the table and markdown text of a KernelCmdline.
func (k KernelCmdline) lines() []string {
	if !k.Changed() {
		return []string{"no change: every kernel parameter the checks want is on the running command line"}
	}
	out := []string{"current:  " + k.Current, "proposed: " + k.Proposed}
	if len(k.Add) > 0 {
		out = append(out, "add:      "+strings.Join(k.Add, " "))
	}
	if len(k.Remove) > 0 {
		out = append(out, "remove:   "+strings.Join(k.Remove, " "))
	}
	out = append(out, fmt.Sprintf("boot loader: %s", k.Bootloader))
	return out
}
