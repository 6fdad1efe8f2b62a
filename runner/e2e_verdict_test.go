package runner_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/rtcell/rtcell/rt/rttest"
	"github.com/rtcell/rtcell/runner/report"
	"github.com/rtcell/rtcell/sysprep"
)

// kernelRealtime reports whether this box runs a PREEMPT_RT kernel, as
// the kernel itself says.
func kernelRealtime() bool {
	b, _ := os.ReadFile("/sys/kernel/realtime")
	if bytes.Equal(bytes.TrimSpace(b), []byte("1")) {
		return true
	}
	v, _ := os.ReadFile("/proc/sys/kernel/version")
	return bytes.Contains(v, []byte("PREEMPT_RT"))
}

// TestVerdictAndBox runs the runner with preflight at SCHED_FIFO, once
// with a workload that misses every deadline and once without one. On a
// kernel that is not PREEMPT_RT both verdicts are not-realtime (the
// misses still counted, and exit 1 for them); on a PREEMPT_RT kernel the
// first is violations. The JSON carries the box's CPU model and command
// line, the full sysprep checklist and the config text.
func TestVerdictAndBox(t *testing.T) {
	rttest.RequireRoot(t)
	rttest.LeaseCPU(t, lastCPU())
	rtKernel := kernelRealtime()
	cfg := strings.Replace(taskConfig(`workload = "busy:1500us"`+"\ncycles = 50"), "preflight = false", "preflight = true", 1)
	r := runRunner(t, cfg)
	if r.code != 1 || r.rep == nil {
		t.Fatalf("exit %d, want 1 (violations)\n%s%s", r.code, r.stdout, r.stderr)
	}
	rep := r.rep
	want := report.VerdictViolations
	if !rtKernel {
		want = report.VerdictNotRealtime
	}
	if rep.Verdict != want || rep.Tasks[0].DeadlineMisses != 50 {
		t.Errorf("verdict %q with %d deadline misses, want %q with 50 (PREEMPT_RT kernel: %v)", rep.Verdict, rep.Tasks[0].DeadlineMisses, want, rtKernel)
	}
	if !rtKernel {
		if !strings.HasPrefix(r.stdout, "NOT REAL-TIME") && !strings.Contains(r.stdout, "\nNOT REAL-TIME: the kernel is not PREEMPT_RT") {
			t.Errorf("the text summary does not say NOT REAL-TIME:\n%s", r.stdout)
		}
		if !strings.Contains(r.stdout, "verdict: NOT REAL-TIME: the kernel is not PREEMPT_RT") || !strings.Contains(r.stdout, "deadline misses 50") {
			t.Errorf("the verdict line does not say NOT REAL-TIME and the misses:\n%s", r.stdout)
		}
	}

	// The box.
	cmdline, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rep.Host.Cmdline, sysprep.Escape(strings.TrimSpace(string(cmdline))); got != want || got == "" {
		t.Errorf("host cmdline %q, want %q", got, want)
	}
	cpuinfo, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(cpuinfo, []byte("\nmodel name")) || bytes.HasPrefix(cpuinfo, []byte("model name")) {
		if rep.Host.CPUModel == "" || !bytes.Contains(cpuinfo, []byte(rep.Host.CPUModel)) {
			t.Errorf("host cpu model %q, not from /proc/cpuinfo", rep.Host.CPUModel)
		}
	}
	if vendor, err := os.ReadFile("/sys/class/dmi/id/sys_vendor"); err == nil && rep.Host.Vendor != sysprep.Escape(strings.TrimSpace(string(vendor))) {
		t.Errorf("host vendor %q, want %q", rep.Host.Vendor, vendor)
	} else if err != nil && rep.Host.Vendor != "" {
		t.Errorf("host vendor %q without /sys/class/dmi", rep.Host.Vendor)
	}

	// The full sysprep checklist, and the config.
	sp := rep.Sysprep
	if sp == nil || rep.Preflight == nil {
		t.Fatalf("no sysprep report (%v) or preflight (%v) in the JSON", sp, rep.Preflight)
	}
	ids := map[string]bool{}
	for _, c := range sp.Checks {
		ids[c.ID] = true
		if (c.Status == sysprep.Warn || c.Status == sysprep.Fail) && c.Remedy == "" {
			t.Errorf("check %s is %s without a remedy", c.ID, c.Status)
		}
	}
	for _, c := range sysprep.Checks() {
		if !ids[c.ID()] {
			t.Errorf("check %s missing from the JSON's sysprep report", c.ID())
		}
	}
	if len(sp.Checks) != len(sysprep.Checks()) {
		t.Errorf("%d checks in the JSON, sysprep has %d", len(sp.Checks), len(sysprep.Checks()))
	}
	pf := rep.Preflight
	if s := sp.Summary; s.Pass != pf.Pass || s.Warn != pf.Warn || s.Fail != pf.Fail || s.Skip != pf.Skip {
		t.Errorf("sysprep summary %+v differs from the preflight %+v", s, *pf)
	}
	if sp.KernelCmdline == nil || sp.KernelCmdline.Current == "" {
		t.Errorf("no proposed kernel command line: %+v", sp.KernelCmdline)
	}
	if sp.Host.CPUModel != rep.Host.CPUModel || sp.Host.Cmdline != rep.Host.Cmdline {
		t.Errorf("sysprep host %+v and run host %+v disagree", sp.Host, rep.Host)
	}
	if rep.ConfigText != cfg {
		t.Errorf("config text %q, want the file's %q", rep.ConfigText, cfg)
	}

	// Without violations, a run on a kernel that is not PREEMPT_RT is
	// still not real-time. The host may delay a wake-up past the
	// deadline (exit 1): the verdict is the same either way.
	if rtKernel {
		return
	}
	r = runRunner(t, taskConfig("cycles = 200"))
	if r.code > 1 || r.rep == nil {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r.rep.Verdict != report.VerdictNotRealtime || r.rep.NotRealtime {
		t.Errorf("verdict %q (not_realtime %v), want not-realtime from the kernel, not from the policy", r.rep.Verdict, r.rep.NotRealtime)
	}
	if r.rep.Host.CPUModel != rep.Host.CPUModel || r.rep.Host.Cmdline != rep.Host.Cmdline {
		t.Errorf("without preflight the box is %+v, with it %+v", r.rep.Host, rep.Host)
	}
}
