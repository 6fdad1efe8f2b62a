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

// preflight runs the sysprep checklist and condenses it for the report.
func preflight(procRoot, sysRoot string, cpus []int, prio int) (*report.Preflight, report.Host, bool, error) {
	env, err := sysprep.NewEnv(procRoot, sysRoot)
	if err != nil {
		h, rt := hostInfo(procRoot, sysRoot)
		return nil, h, rt, err
	}
	r, err := sysprep.Run(env, sysprep.Options{RTCPUs: cpus, Priority: prio})
	if err != nil {
		h, rt := hostInfo(procRoot, sysRoot)
		return nil, h, rt, err
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
	return pf, h, kernelRT, nil
}

// hostInfo identifies the host without sysprep: uname, and whether the
// kernel is PREEMPT_RT (/sys/kernel/realtime or uname -v).
func hostInfo(procRoot, sysRoot string) (report.Host, bool) {
	h := report.Host{CPUs: onlineCPUs(procRoot, sysRoot)}
	if u, err := probe.Uname(); err == nil {
		h.Hostname, h.KernelRelease, h.KernelVersion, h.Machine = u.Nodename, u.Release, u.Version, u.Machine
	}
	b, _ := os.ReadFile(filepath.Join(sysRoot, "kernel", "realtime"))
	h.Realtime = bytes.Equal(bytes.TrimSpace(b), []byte("1")) || strings.Contains(h.KernelVersion, "PREEMPT_RT")
	return h, h.Realtime
}

// onlineCPUs counts the online CPUs. runtime.NumCPU counts only those this
// process may run on, which isolcpus narrows.
func onlineCPUs(procRoot, sysRoot string) int {
	if si, err := config.ReadSysInfo(procRoot, sysRoot); err == nil && len(si.Online) > 0 {
		return len(si.Online)
	}
	return runtime.NumCPU()
}
