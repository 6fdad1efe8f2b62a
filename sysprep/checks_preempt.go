package sysprep

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// preemptModes are the modes a PREEMPT_DYNAMIC kernel offers, in the
// order /sys/kernel/debug/sched/preempt lists them.
var preemptModes = []string{"none", "voluntary", "full", "lazy"}

// parsePreemptMode returns the chosen mode of
// /sys/kernel/debug/sched/preempt, the one in parentheses: "none
// voluntary (full) lazy" gives "full".
func parsePreemptMode(s string) (string, error) {
	var chosen string
	for _, f := range strings.Fields(s) {
		if len(f) > 2 && f[0] == '(' && f[len(f)-1] == ')' {
			if chosen != "" {
				return "", fmt.Errorf("%s has more than one (choice): %w", quote(s), ErrMalformed)
			}
			chosen = f[1 : len(f)-1]
		}
	}
	if chosen == "" {
		return "", fmt.Errorf("%s has no (choice): %w", quote(strings.TrimSpace(s)), ErrMalformed)
	}
	return chosen, nil
}

// configPreemptMode is the preemption model a kernel config builds in:
// the default mode of a PREEMPT_DYNAMIC kernel, the only one of a
// static kernel. "" when the config names none.
func configPreemptMode(cfg kernelConfig) string {
	for _, m := range []struct{ key, mode string }{
		{"CONFIG_PREEMPT_RT", "rt"}, {"CONFIG_PREEMPT", "full"}, {"CONFIG_PREEMPT_LAZY", "lazy"},
		{"CONFIG_PREEMPT_VOLUNTARY", "voluntary"}, {"CONFIG_PREEMPT_NONE", "none"},
	} {
		if cfg[m.key] == "y" {
			return m.mode
		}
	}
	return ""
}

// checkPreemptMode: on a kernel that is not PREEMPT_RT, used to develop
// and test RT loops, full preemption is the closest to RT behaviour. With
// "none" or "voluntary" a woken SCHED_FIFO task waits until the kernel
// code running on its CPU reaches a preemption point, which a long
// system call of another task may take milliseconds to reach; "lazy"
// preempts RT tasks at once but is newer and less tried. A PREEMPT_DYNAMIC
// kernel chooses the mode at boot (preempt=) and shows it in debugfs; a
// static kernel has the one its config built in.
func checkPreemptMode(env Env, o resolved) Result {
	want := "preemption mode full (the closest a non-RT kernel comes to PREEMPT_RT)"
	if rt := checkPreemptRT(env, o); rt.Status == Pass {
		return Result{Status: Skip, Observed: "not applicable: a PREEMPT_RT kernel always preempts fully (" + rt.Observed + ")"}
	}
	dynamic := strings.Contains(env.host().KernelVersion, "PREEMPT_DYNAMIC")
	var mode, seen string
	path := env.sysPath("kernel", "debug", "sched", "preempt")
	s, err := readFile(path)
	if err == nil {
		if mode, err = parsePreemptMode(s); err != nil {
			return skip(env, parseErr(path, err))
		}
		seen = env.show(path) + " is " + quote(trimmed(s))
		dynamic = true
	} else {
		why := env.msg(err)
		switch {
		case notExist(err):
			why = "no " + env.show(path) + " (debugfs not mounted, or the kernel is not PREEMPT_DYNAMIC)"
		case errors.Is(err, fs.ErrPermission):
			why = env.show(path) + " is not readable (kernel lockdown, or debugfs restricted)"
		}
		if c, cerr := env.cmdline(); cerr == nil && dynamic {
			if v, ok := c.get("preempt"); ok && slices.Contains(preemptModes, v) {
				mode, seen = v, why+"; preempt="+v+" on the kernel command line"
			} else if ok {
				why += "; preempt=" + escape(v, false) + " on the kernel command line is no mode the kernel knows (" + strings.Join(preemptModes, ", ") + "), so it keeps its default"
			}
		}
		if mode == "" {
			cfg, src, kerr := env.kernelConfig()
			if kerr != nil {
				return Result{Status: Skip, Observed: why + "; no preempt= on the kernel command line, and no kernel config to tell the default: " + env.msg(kerr)}
			}
			if mode = configPreemptMode(cfg); mode == "" {
				return Result{Status: Skip, Observed: why + "; " + env.show(src) + " names no preemption model"}
			}
			seen = why + "; " + env.show(src) + " builds in " + mode
			if dynamic {
				seen += " as the default, and no preempt= is on the kernel command line"
			}
		}
	}
	r := Result{Observed: "preemption mode " + mode + ": " + seen, Expected: want}
	switch {
	case mode == "full":
		r.Status = Pass
	case dynamic:
		r.Status = Warn
		r.Remedy = "# add preempt=full to the kernel command line (PREEMPT_DYNAMIC kernels choose their mode at boot), then reboot"
		r.KernelParams = []string{"preempt=full"}
	default:
		r.Status = Warn
		r.Remedy = "# this kernel is built for preemption mode " + mode + " only: use a PREEMPT_RT kernel (kernel.preempt_rt), or one built with CONFIG_PREEMPT_DYNAMIC or CONFIG_PREEMPT"
	}
	return r
}
