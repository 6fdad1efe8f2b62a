package runner

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/rtcell/rtcell/rt/probe"
	"github.com/rtcell/rtcell/runner/config"
	"github.com/rtcell/rtcell/runner/report"
	"github.com/rtcell/rtcell/sysprep"
)

// preflight runs the sysprep checklist. It returns the summary for the
// report, the full checklist (every check with its remedy, and the
// proposed kernel command line) for Report.Sysprep, the host's identity,
// and whether the kernel is PREEMPT_RT.
func preflight(procRoot, sysRoot string, cpus []int, prio int) (*report.Preflight, *sysprep.Report, report.Host, bool, error) {
	env, err := sysprep.NewEnv(procRoot, sysRoot)
	if err != nil {
		h, rt := hostInfo(procRoot, sysRoot)
		return nil, nil, h, rt, err
	}
	r, err := sysprep.Run(env, sysprep.Options{RTCPUs: cpus, Priority: prio})
	if err != nil {
		h, rt := hostInfo(procRoot, sysRoot)
		return nil, nil, h, rt, err
	}
	pf := &report.Preflight{Pass: r.Summary.Pass, Warn: r.Summary.Warn, Fail: r.Summary.Fail, Skip: r.Summary.Skip, Failed: []string{}}
	switch r.ExitCode() {
	case 0:
		pf.Verdict = "pass"
	case 1:
		pf.Verdict = "warn"
	default:
		pf.Verdict = "fail"
	}
	kernelRT := false
	for _, c := range r.Checks {
		if c.Status == sysprep.Fail {
			pf.Failed = append(pf.Failed, c.ID)
		}
		if c.ID == "kernel.preempt_rt" && c.Status == sysprep.Pass {
			kernelRT = true
		}
	}
	h := report.Host{
		Hostname:      r.Host.Hostname,
		KernelRelease: r.Host.KernelRelease,
		KernelVersion: r.Host.KernelVersion,
		Machine:       r.Host.Machine,
		CPUs:          onlineCPUs(procRoot, sysRoot),
		Realtime:      kernelRT,
	}
	setIdentity(&h, r.Host)
	return pf, &r, h, kernelRT, nil
}

// hostInfo identifies the host without the sysprep checklist: uname,
// whether the kernel is PREEMPT_RT (/sys/kernel/realtime or uname -v),
// and the CPU model, kernel command line and board identity, read by
// sysprep's one reader of them.
func hostInfo(procRoot, sysRoot string) (report.Host, bool) {
	h := report.Host{CPUs: onlineCPUs(procRoot, sysRoot)}
	if u, err := probe.Uname(); err == nil {
		h.Hostname, h.KernelRelease, h.KernelVersion, h.Machine = u.Nodename, u.Release, u.Version, u.Machine
	}
	b, _ := os.ReadFile(filepath.Join(sysRoot, "kernel", "realtime"))
	h.Realtime = bytes.Equal(bytes.TrimSpace(b), []byte("1")) || strings.Contains(h.KernelVersion, "PREEMPT_RT")
	if env, err := sysprep.NewEnv(procRoot, sysRoot); err == nil {
		setIdentity(&h, env.Host())
	}
	return h, h.Realtime
}

// setIdentity copies the board and boot identity from sysprep's host,
// which has escaped and capped every field.
func setIdentity(h *report.Host, s sysprep.Host) {
	h.CPUModel, h.Cmdline = s.CPUModel, s.Cmdline
	h.Vendor, h.Product, h.BIOSVersion, h.BIOSDate = s.Vendor, s.Product, s.BIOSVersion, s.BIOSDate
}

// onlineCPUs counts the online CPUs. runtime.NumCPU counts only those this
// process may run on, which isolcpus narrows.
func onlineCPUs(procRoot, sysRoot string) int {
	if si, err := config.ReadSysInfo(procRoot, sysRoot); err == nil && len(si.Online) > 0 {
		return len(si.Online)
	}
	return runtime.NumCPU()
}
