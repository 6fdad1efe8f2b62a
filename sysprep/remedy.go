package sysprep

import (
	"fmt"
	"strconv"
	"strings"
)

// Remedy builders. Every remedy is a set of lines, each one an exact
// command, kernel command line fragment or configuration line.

// grubRemedy gives the kernel command line fragment and the command that
// adds it to GRUB_CMDLINE_LINUX in /etc/default/grub.
func grubRemedy(args ...string) string {
	frag := strings.Join(args, " ")
	return fmt.Sprintf("kernel command line: %s\n"+
		"sed -i 's/^GRUB_CMDLINE_LINUX=\"/&%s /' /etc/default/grub && update-grub && reboot", frag, frag)
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
