//go:build vmtest

package vmtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Guest paths of the binaries under test.
const (
	guestSysprep      = "/usr/local/bin/sysprep"
	guestRunner       = "/usr/local/bin/runner"
	guestRunnerConfig = "/etc/rtcell/loop.toml"
)

// runnerConfig is a 1 kHz task on CPU 1 at SCHED_FIFO 90.
//
// The runner's config schema is not settled yet; align this with
// configs/ when the runner lands.
const runnerConfig = `# rtcell vmtest: one 1 kHz loop on the isolated CPU
[[task]]
name = "loop"
cpu = 1
priority = 90
period = "1ms"
`

// sysprepReport is `sysprep --json` (schema rtcell.sysprep/v1).
type sysprepReport struct {
	Schema string `json:"schema"`
	Host   struct {
		Hostname      string          `json:"hostname"`
		KernelRelease string          `json:"kernel_release"`
		KernelVersion string          `json:"kernel_version"`
		CPUs          json.RawMessage `json:"cpus"`
		RTCPUs        json.RawMessage `json:"rt_cpus"`
	} `json:"host"`
	Checks  []sysprepCheck `json:"checks"`
	Summary map[string]int `json:"summary"`
}

// sysprepCheck is one check in a sysprep report.
type sysprepCheck struct {
	ID       string          `json:"id"`
	Title    string          `json:"title"`
	Status   string          `json:"status"`
	Observed json.RawMessage `json:"observed"`
	Expected json.RawMessage `json:"expected"`
	Remedy   string          `json:"remedy"`
}

// runReport is the part of `runner run --json` (rtcell.run/v1) the
// scenarios read.
type runReport struct {
	Schema string `json:"schema"`
	Tasks  []struct {
		Name     string `json:"name"`
		CPU      int    `json:"cpu"`
		Policy   string `json:"policy"`
		Priority int    `json:"priority"`
		PeriodNs int64  `json:"period_ns"`
		Cycles   int64  `json:"cycles"`
		GCCycles int64  `json:"gc_cycles"`
		Runtime  struct {
			GOMAXPROCS      int             `json:"gomaxprocs"`
			AsyncPreemptOff json.RawMessage `json:"asyncpreemptoff"`
			GOGC            json.RawMessage `json:"gogc"`
		} `json:"runtime"`
	} `json:"tasks"`
	Verdict string `json:"verdict"`
}

// binaries are the commands under test, built for the guest; "" when
// their package has no code yet.
type binaries struct{ sysprep, runner string }

func buildBinaries(t *testing.T) binaries {
	t.Helper()
	return binaries{
		sysprep: GoBinary(t, "./sysprep/cmd/sysprep"),
		runner:  GoBinary(t, "./runner/cmd/runner"),
	}
}

func (b binaries) path(name string) string {
	switch name {
	case "sysprep":
		return b.sysprep
	case "runner":
		return b.runner
	}
	return ""
}

// part is one thing a scenario checks: a shell fragment that reports
// with vm_run/vm_file, and the assertions on what it reported.
type part struct {
	name  string
	needs []string // "sysprep", "runner"
	run   string
	check func(t *testing.T, r *Result)
}

// rtScenario is one of issue 5's scenarios.
type rtScenario struct {
	name    string
	cmdline string
	setup   string // run as root before the parts
	parts   []part
}

const setRTRuntimeUnlimited = "sysctl -w kernel.sched_rt_runtime_us=-1 >/dev/null"

// moveIRQToCPU1 moves one movable IRQ (the serial port's if it can,
// since it fires and so shows in effective_affinity) onto CPU 1 and
// reports its number and action name as section moved_irq.
const moveIRQToCPU1 = `
moved=""
for d in /proc/irq/4 /proc/irq/[0-9]*; do
	n=${d##*/}
	[ "$n" = 0 ] && continue
	[ -n "$(ls -d $d/*/ 2>/dev/null)" ] || continue
	if echo 2 > $d/smp_affinity 2>/dev/null; then
		moved="$n $(basename $(ls -d $d/*/ | head -n 1))"
		break
	fi
done
vm_text moved_irq "$moved"
`

func scenarios() []rtScenario {
	return []rtScenario{
		{
			name:    "good",
			cmdline: goodCmdline,
			setup:   setRTRuntimeUnlimited,
			parts: []part{
				{
					name:  "sysprep",
					needs: []string{"sysprep"},
					run:   "vm_run sysprep sysprep --rt-cpus 1 --json",
					check: func(t *testing.T, r *Result) {
						rep := sysprepJSON(t, r, "sysprep")
						for _, id := range []string{"kernel.preempt_rt", "cpu.isolated", "cpu.nohz_full", "irq.affinity", "irq.default_affinity", "sched.rt_runtime"} {
							wantStatus(t, r, rep, id, "pass")
						}
					},
				},
				{
					name:  "runner-run",
					needs: []string{"runner"},
					run: `vm_run run runner run ` + guestRunnerConfig + ` --duration 3s --json /tmp/run.json --quiet
vm_file run.json /tmp/run.json`,
					check: func(t *testing.T, r *Result) {
						// Timing under TCG is meaningless: the verdict may
						// be violations, never a failure to run.
						rep := runJSON(t, r, "run", 0, 1)
						if len(rep.Tasks) != 1 {
							t.Fatalf("run report has %d tasks, want 1 (QEMU log: %s)", len(rep.Tasks), r.Log)
						}
						task := rep.Tasks[0]
						if task.Policy != "fifo" {
							t.Errorf("task policy in effect = %q, want fifo (QEMU log: %s)", task.Policy, r.Log)
						}
						if task.CPU != 1 {
							t.Errorf("task CPU = %d, want 1", task.CPU)
						}
						if task.Runtime.GOMAXPROCS != 1 {
							t.Errorf("GOMAXPROCS = %d, want 1", task.Runtime.GOMAXPROCS)
						}
						if !truthy(task.Runtime.AsyncPreemptOff) {
							t.Errorf("asyncpreemptoff = %s, want on", task.Runtime.AsyncPreemptOff)
						}
						if task.GCCycles != 0 {
							t.Errorf("GC cycles during the run = %d, want 0", task.GCCycles)
						}
						if task.Cycles <= 0 {
							t.Errorf("cycles = %d, want > 0", task.Cycles)
						}
						if !slices.Contains([]string{"pass", "violations"}, rep.Verdict) {
							t.Errorf("verdict = %q, want pass or violations (TCG timing) (QEMU log: %s)", rep.Verdict, r.Log)
						}
					},
				},
				{
					name:  "runner-compare",
					needs: []string{"runner"},
					run: `vm_run compare runner compare --cpu 1 --priority 90 --interval 1ms --loops 1000 --rounds 1 --json /tmp/compare.json
vm_file compare.json /tmp/compare.json`,
					check: func(t *testing.T, r *Result) {
						s := r.Must(t, "compare")
						if s.RC != 0 && s.RC != 1 {
							t.Fatalf("runner compare exited %d: %s (QEMU log: %s)", s.RC, r.Must(t, "compare.stderr").Data, r.Log)
						}
						var v any
						if err := json.Unmarshal(r.Must(t, "compare.json").Data, &v); err != nil {
							t.Fatalf("runner compare --json does not parse: %v (QEMU log: %s)", err, r.Log)
						}
						ct, ok := findKey(v, "cyclictest")
						if !ok || ct == nil {
							t.Fatalf("runner compare JSON has no cyclictest results: %s", r.Must(t, "compare.json").Data)
						}
					},
				},
			},
		},
		{
			name:    "no-isolation",
			cmdline: noIsolationCmdline,
			setup:   setRTRuntimeUnlimited,
			parts: []part{{
				name:  "sysprep",
				needs: []string{"sysprep"},
				run:   "vm_run sysprep sysprep --rt-cpus 1 --json",
				check: func(t *testing.T, r *Result) {
					rep := sysprepJSON(t, r, "sysprep")
					wantStatus(t, r, rep, "cpu.isolated", "fail")
					wantStatus(t, r, rep, "cpu.nohz_full", "fail")
					wantStatus(t, r, rep, "kernel.preempt_rt", "pass")
					if rc := r.Must(t, "sysprep").RC; rc != 2 {
						t.Errorf("sysprep exit code = %d, want 2 (a check failed)", rc)
					}
				},
			}},
		},
		{
			name:    "irq-on-rt",
			cmdline: goodCmdline,
			setup:   setRTRuntimeUnlimited + "\n" + moveIRQToCPU1,
			parts: []part{{
				name:  "sysprep",
				needs: []string{"sysprep"},
				run: `vm_run sysprep sysprep --rt-cpus 1 --json
irq=$(echo $moved | cut -d' ' -f1)
vm_run sysprep-allow sysprep --rt-cpus 1 --allow-irq "$irq" --json`,
				check: func(t *testing.T, r *Result) {
					moved := strings.Fields(string(r.Must(t, "moved_irq").Data))
					if len(moved) != 2 {
						t.Fatalf("guest could not move any IRQ onto CPU 1 (moved_irq = %q); QEMU log: %s", r.Must(t, "moved_irq").Data, r.Log)
					}
					num, name := moved[0], moved[1]
					rep := sysprepJSON(t, r, "sysprep")
					c := wantStatus(t, r, rep, "irq.affinity", "fail")
					if c != nil && !containsWord(string(c.Observed), num) && !strings.Contains(string(c.Observed), name) {
						t.Errorf("irq.affinity observed %s does not name IRQ %s (%s)", c.Observed, num, name)
					}
					allowed := sysprepJSON(t, r, "sysprep-allow")
					wantStatus(t, r, allowed, "irq.affinity", "pass")
				},
			}},
		},
		{
			name:    "throttled",
			cmdline: goodCmdline,
			// sched_rt_runtime_us stays at the kernel default, 950000.
			setup: `vm_file rt_runtime /proc/sys/kernel/sched_rt_runtime_us`,
			parts: []part{{
				name:  "sysprep",
				needs: []string{"sysprep"},
				run:   "vm_run sysprep sysprep --rt-cpus 1 --json",
				check: func(t *testing.T, r *Result) {
					if got := strings.TrimSpace(string(r.Must(t, "rt_runtime").Data)); got != "950000" {
						t.Fatalf("guest sched_rt_runtime_us = %q, want the default 950000", got)
					}
					rep := sysprepJSON(t, r, "sysprep")
					wantStatus(t, r, rep, "sched.rt_runtime", "warn", "fail")
				},
			}},
		},
		{
			// sysprep apply and rollback on a live PREEMPT_RT kernel: RT
			// throttling on (the default 950000), a default IRQ affinity
			// that includes the RT CPU, and timer migration on.
			name:    "apply-rollback",
			cmdline: goodCmdline,
			setup: `echo 3 > /proc/irq/default_smp_affinity
sysctl -w kernel.timer_migration=1 >/dev/null
vm_file orig_rt_runtime /proc/sys/kernel/sched_rt_runtime_us
vm_file orig_default_affinity /proc/irq/default_smp_affinity
vm_file orig_timer_migration /proc/sys/kernel/timer_migration`,
			parts: []part{{
				name:  "sysprep",
				needs: []string{"sysprep"},
				run: `vm_run before sysprep --rt-cpus 1 --json
vm_run dryrun sysprep apply --rt-cpus 1 --dry-run
vm_run apply sysprep apply --rt-cpus 1 --undo /tmp/undo.json
vm_run after sysprep --rt-cpus 1 --json
vm_file undo.json /tmp/undo.json
vm_run rollback sysprep rollback /tmp/undo.json
vm_file back_rt_runtime /proc/sys/kernel/sched_rt_runtime_us
vm_file back_default_affinity /proc/irq/default_smp_affinity
vm_file back_timer_migration /proc/sys/kernel/timer_migration
vm_run restored sysprep --rt-cpus 1 --json`,
				check: func(t *testing.T, r *Result) {
					if got := strings.TrimSpace(string(r.Must(t, "orig_rt_runtime").Data)); got != "950000" {
						t.Fatalf("guest sched_rt_runtime_us = %q, want the default 950000", got)
					}
					fixed := map[string][]string{"sched.rt_runtime": {"warn"}, "irq.default_affinity": {"fail"}, "sched.timer_migration": {"warn"}}
					before := sysprepJSON(t, r, "before")
					for id, st := range fixed {
						wantStatus(t, r, before, id, st...)
					}
					if !strings.Contains(string(r.Must(t, "dryrun").Data), "/proc/sys/kernel/sched_rt_runtime_us: 950000 → -1") {
						t.Errorf("apply --dry-run does not show the change: %s", r.Must(t, "dryrun").Data)
					}
					if s := r.Must(t, "apply"); s.RC == 3 {
						t.Fatalf("sysprep apply could not run: %s%s (QEMU log: %s)", s.Data, stderrOf(t, r, "apply"), r.Log)
					}
					out := string(r.Must(t, "apply").Data)
					for id, st := range fixed {
						if !strings.Contains(out, id+": "+st[0]+" → pass") {
							t.Errorf("apply does not report %s: %s → pass:\n%s", id, st[0], out)
						}
					}
					after := sysprepJSON(t, r, "after")
					for id := range fixed {
						wantStatus(t, r, after, id, "pass")
					}
					if s := r.Must(t, "rollback"); s.RC != 0 {
						t.Errorf("sysprep rollback exit %d: %s%s", s.RC, s.Data, stderrOf(t, r, "rollback"))
					}
					for _, f := range []string{"rt_runtime", "default_affinity", "timer_migration"} {
						orig, back := r.Must(t, "orig_"+f).Data, r.Must(t, "back_"+f).Data
						if !bytes.Equal(orig, back) {
							t.Errorf("%s after rollback = %q, want the original %q", f, back, orig)
						}
					}
					restored := sysprepJSON(t, r, "restored")
					for id, st := range fixed {
						wantStatus(t, r, restored, id, st...)
					}
				},
			}},
		},
		{
			name:    "unprivileged",
			cmdline: goodCmdline,
			setup:   setRTRuntimeUnlimited,
			parts: []part{
				{
					name:  "sysprep",
					needs: []string{"sysprep"},
					run:   `vm_run sysprep su -s /bin/sh ` + GuestUser + ` -c "sysprep --rt-cpus 1 --json"`,
					check: func(t *testing.T, r *Result) {
						rep := sysprepJSON(t, r, "sysprep")
						wantStatus(t, r, rep, "priv.sys_nice", "fail")
					},
				},
				{
					name:  "runner-refuses",
					needs: []string{"runner"},
					run:   `vm_run run su -s /bin/sh ` + GuestUser + ` -c "runner run ` + guestRunnerConfig + ` --duration 1s --json /tmp/run-unpriv.json"`,
					check: func(t *testing.T, r *Result) {
						s := r.Must(t, "run")
						if s.RC != 2 {
							t.Errorf("unprivileged runner run exit code = %d, want 2 (QEMU log: %s)", s.RC, r.Log)
						}
						msg := string(r.Must(t, "run.stderr").Data) + string(s.Data)
						if !strings.Contains(msg, "CAP_SYS_NICE") || !strings.Contains(msg, "setcap") {
							t.Errorf("unprivileged runner run does not say the fix (CAP_SYS_NICE, setcap): %q", msg)
						}
					},
				},
				{
					name:  "runner-allow-non-rt",
					needs: []string{"runner"},
					run: `vm_run run-nonrt su -s /bin/sh ` + GuestUser + ` -c "runner run ` + guestRunnerConfig + ` --duration 1s --allow-non-rt --json /tmp/run-nonrt.json"
vm_file run-nonrt.json /tmp/run-nonrt.json`,
					check: func(t *testing.T, r *Result) {
						s := r.Must(t, "run-nonrt")
						msg := string(r.Must(t, "run-nonrt.stderr").Data) + string(s.Data)
						if !strings.Contains(msg, "NOT REAL-TIME") {
							t.Errorf("runner run --allow-non-rt does not say NOT REAL-TIME: %q", msg)
						}
						rep := runJSON(t, r, "run-nonrt", 0, 1)
						if rep.Verdict != "not-realtime" {
							t.Errorf("verdict = %q, want not-realtime", rep.Verdict)
						}
					},
				},
			},
		},
	}
}

// TestScenarios boots each of issue 5's scenarios once and checks
// sysprep's verdicts and the runner's behaviour in it. Parts whose
// binary has no code yet are skipped; a scenario with nothing to run
// does not boot.
func TestScenarios(t *testing.T) {
	bins := buildBinaries(t)
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			var run []part
			var script strings.Builder
			script.WriteString(sc.setup + "\n")
			for _, p := range sc.parts {
				missing := ""
				for _, n := range p.needs {
					if bins.path(n) == "" {
						missing = n
					}
				}
				if missing != "" {
					t.Run(p.name, func(t *testing.T) { t.Skipf("bin/%s not built yet (no Go files in its package)", missing) })
					continue
				}
				run = append(run, p)
				script.WriteString(p.run + "\n")
			}
			if len(run) == 0 {
				t.Skip("nothing to run in the guest: bin/sysprep and bin/runner not built yet")
			}
			r := MustBoot(t, Scenario{
				Name:    "scenario-" + sc.name,
				Cmdline: sc.cmdline,
				Init:    script.String(),
				Files:   guestFiles(t, bins),
			})
			for _, p := range run {
				t.Run(p.name, func(t *testing.T) { p.check(t, r) })
			}
		})
	}
	t.Run("host", func(t *testing.T) {
		if bins.sysprep == "" {
			t.Skip("bin/sysprep not built yet (no Go files in its package)")
		}
		if b, err := os.ReadFile("/sys/kernel/realtime"); err == nil && strings.TrimSpace(string(b)) == "1" {
			t.Skip("this host runs a PREEMPT_RT kernel; the host scenario expects one that is not")
		}
		out, err := exec.Command(bins.sysprep, "--json").Output()
		var ee *exec.ExitError
		if err != nil && !(errors.As(err, &ee) && ee.ExitCode() <= 2) {
			t.Fatalf("sysprep on the host: %v", err)
		}
		r := &Result{Scenario: "host", Log: "(no QEMU: ran on the host)", Sections: []Section{{Name: "sysprep", Data: out}}}
		rep := sysprepJSON(t, r, "sysprep")
		wantStatus(t, r, rep, "kernel.preempt_rt", "fail")
	})
}

// guestFiles puts the built binaries and the runner config in the guest.
func guestFiles(t *testing.T, b binaries) map[string]string {
	t.Helper()
	files := map[string]string{}
	if b.sysprep != "" {
		files[b.sysprep] = guestSysprep
	}
	if b.runner != "" {
		files[b.runner] = guestRunner
		cfg := t.TempDir() + "/loop.toml"
		if err := os.WriteFile(cfg, []byte(runnerConfig), 0o644); err != nil {
			t.Fatal(err)
		}
		files[cfg] = guestRunnerConfig
	}
	return files
}

func sysprepJSON(t *testing.T, r *Result, section string) *sysprepReport {
	t.Helper()
	s := r.Must(t, section)
	if s.RC == 3 {
		t.Fatalf("sysprep could not run (exit 3): %s (QEMU log: %s)", stderrOf(t, r, section), r.Log)
	}
	var rep sysprepReport
	if err := json.Unmarshal(s.Data, &rep); err != nil {
		t.Fatalf("sysprep --json output does not parse: %v\n%s\nstderr: %s (QEMU log: %s)", err, s.Data, stderrOf(t, r, section), r.Log)
	}
	if rep.Schema != "rtcell.sysprep/v1" {
		t.Fatalf("sysprep schema = %q, want rtcell.sysprep/v1", rep.Schema)
	}
	return &rep
}

func stderrOf(t *testing.T, r *Result, section string) []byte {
	if s, ok := r.Section(section + ".stderr"); ok {
		return s.Data
	}
	return nil
}

// wantStatus asserts that check id has one of the statuses and returns
// it (nil if absent).
func wantStatus(t *testing.T, r *Result, rep *sysprepReport, id string, statuses ...string) *sysprepCheck {
	t.Helper()
	for i := range rep.Checks {
		c := &rep.Checks[i]
		if c.ID != id {
			continue
		}
		if !slices.Contains(statuses, c.Status) {
			t.Errorf("check %s = %s, want %s (observed %s, expected %s, remedy %q; QEMU log: %s)",
				id, c.Status, strings.Join(statuses, " or "), c.Observed, c.Expected, c.Remedy, r.Log)
		}
		return c
	}
	t.Errorf("sysprep report has no check %s (QEMU log: %s)", id, r.Log)
	return nil
}

func runJSON(t *testing.T, r *Result, section string, okRCs ...int) *runReport {
	t.Helper()
	s := r.Must(t, section)
	if !slices.Contains(okRCs, s.RC) {
		t.Fatalf("runner run exited %d, want one of %v: %s (QEMU log: %s)", s.RC, okRCs, stderrOf(t, r, section), r.Log)
	}
	var rep runReport
	if err := json.Unmarshal(r.Must(t, section+".json").Data, &rep); err != nil {
		t.Fatalf("runner run --json does not parse: %v (QEMU log: %s)", err, r.Log)
	}
	if rep.Schema != "rtcell.run/v1" {
		t.Fatalf("run schema = %q, want rtcell.run/v1", rep.Schema)
	}
	return &rep
}

// truthy accepts the encodings a boolean setting may have in JSON.
func truthy(raw json.RawMessage) bool {
	switch strings.ToLower(string(bytes.TrimSpace(raw))) {
	case "true", "1", `"1"`, `"on"`, `"true"`:
		return true
	}
	return false
}

// findKey returns the value of the first object key containing sub, at
// any depth.
func findKey(v any, sub string) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if strings.Contains(strings.ToLower(k), sub) {
				return val, true
			}
		}
		for _, val := range x {
			if f, ok := findKey(val, sub); ok {
				return f, true
			}
		}
	case []any:
		for _, val := range x {
			if f, ok := findKey(val, sub); ok {
				return f, true
			}
		}
	}
	return nil, false
}

// containsWord reports whether s contains w not inside a longer number.
func containsWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || s[j-1] < '0' || s[j-1] > '9'
		after := j+len(w) == len(s) || s[j+len(w)] < '0' || s[j+len(w)] > '9'
		if before && after {
			return true
		}
		i = j + 1
	}
}
