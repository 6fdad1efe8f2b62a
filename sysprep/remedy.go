package sysprep

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Remedy builders. Every line of a remedy is a shell command or a `#`
// comment, so a remedy pasted whole into bash runs or does nothing; no
// remedy reboots or regenerates the boot loader. Kernel parameters a
// check wants go into Result.KernelParams and from there into the one
// proposed kernel command line of the report (KernelCmdline), which is
// installed in one step.

// bootParams records the kernel parameters a check wants in r and
// returns the remedy line that points to the report's kernel command
// line step. Parameters the running kernel does not have are dropped
// (kernelHasParam); the line says so.
func bootParams(env Env, r *Result, args ...string) string {
	var ok, missing []string
	for _, a := range args {
		if why := env.kernelLacksParam(a); why != "" {
			missing = append(missing, a+" ("+why+")")
			continue
		}
		ok = append(ok, a)
	}
	var lines []string
	if len(ok) > 0 {
		r.KernelParams = append(r.KernelParams, ok...)
		lines = append(lines, "# at boot: "+strings.Join(ok, " ")+" on the kernel command line (installed by the kernel command line step at the end)")
	}
	if len(missing) > 0 {
		lines = append(lines, "# not proposed, this kernel lacks "+strings.Join(missing, ", "))
	}
	return strings.Join(lines, "\n")
}

// isolationArgs is the full isolation fragment for the RT CPUs.
func isolationArgs(o resolved) []string {
	rt, hk := o.rt.String(), o.hk.String()
	return []string{
		"isolcpus=managed_irq,domain," + rt,
		"nohz_full=" + rt,
		"rcu_nocbs=" + rt,
		"irqaffinity=" + hk,
	}
}

// sysctlRemedy sets a sysctl now and at every boot.
func sysctlRemedy(name, value string) string {
	return fmt.Sprintf("sysctl -w %s=%s\necho '%s = %s' > /etc/sysctl.d/90-rtcell-%s.conf",
		name, value, name, value, strings.ReplaceAll(strings.TrimPrefix(name, "kernel."), ".", "-"))
}

// sysfsRemedy writes a sysfs or procfs file now and, through
// systemd-tmpfiles, at every boot.
func sysfsRemedy(path, value string) string {
	return fmt.Sprintf("echo %s > %s\necho 'w %s - - - - %s' > /etc/tmpfiles.d/rtcell-%s.conf",
		value, path, path, value, tmpfilesName(path))
}

func tmpfilesName(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) > 2 {
		parts = parts[len(parts)-2:]
	}
	return strings.ReplaceAll(strings.Join(parts, "-"), "_", "-")
}

// forLoop runs cmd (with $n) for each number.
func forLoop(nums []int, cmd string) string {
	if len(nums) == 1 {
		return strings.ReplaceAll(cmd, "$n", strconv.Itoa(nums[0]))
	}
	s := make([]string, len(nums))
	for i, n := range nums {
		s[i] = strconv.Itoa(n)
	}
	return fmt.Sprintf("for n in %s; do %s; done", strings.Join(s, " "), cmd)
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./,:=@%+-]+$`)

// shq quotes s for the shell: as is when it has no special character,
// else in single quotes.
func shq(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ShellQuote quotes s for a POSIX shell: as is when it holds only
// characters the shell does not interpret, else in single quotes.
func ShellQuote(s string) string { return shq(s) }

// debianRTPackage is Debian's PREEMPT_RT kernel metapackage for a machine.
func debianRTPackage(machine string) string {
	switch machine {
	case "aarch64", "arm64":
		return "linux-image-rt-arm64"
	case "armv7l", "armv6l", "arm":
		return "linux-image-rt-armmp"
	}
	return "linux-image-rt-amd64"
}
