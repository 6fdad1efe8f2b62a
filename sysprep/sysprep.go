package sysprep

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rtcell/rtcell/rt/buildinfo"
)

// Schema is the version of the JSON report.
const Schema = "rtcell.sysprep/v1"

// DefaultPriority is the planned SCHED_FIFO priority when none is given.
const DefaultPriority = 80

// Options say what the box is meant to run.
type Options struct {
	// RTCPUs are the CPUs meant for real-time tasks. Empty means the
	// isolated CPUs, or the last online CPU when none is isolated.
	RTCPUs []int
	// Priority is the planned SCHED_FIFO priority, 1..99; 0 means DefaultPriority.
	Priority int
	// AllowIRQs name device IRQs meant to sit on an RT CPU (a fieldbus
	// NIC), by number ("42") or action name ("eth1", globs allowed: "eth1-*").
	AllowIRQs []string
	// Binary, if set, also has its file capabilities checked (bin/runner).
	Binary string
	// Checks limits the run to these check IDs; empty runs all.
	Checks []string
	// Now stamps the report (the markdown checklist's date).
	Now time.Time
	// Command is the command line that made the report, recorded in it
	// so that the signed sheet says how to reproduce it.
	Command string
}

// Status is the verdict of one check.
type Status string

// Statuses, from best to worst; skip means not applicable or not
// readable, and the observed text says why.
const (
	Pass Status = "pass"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Result is the outcome of one check.
type Result struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Status   Status `json:"status"`
	Observed string `json:"observed"`
	Expected string `json:"expected"`
	// Remedy is the exact command, kernel command line fragment, sysctl or
	// systemd line that fixes a warn or fail; empty on pass and skip.
	Remedy string `json:"remedy"`
	// KernelParams are the kernel parameters this check wants (name=value);
	// the report merges those of failing and warning checks into one
	// proposed command line (Report.KernelCmdline).
	KernelParams []string `json:"kernel_params,omitempty"`
}

// Host identifies the box.
type Host struct {
	Hostname      string `json:"hostname"`
	KernelRelease string `json:"kernel_release"`
	KernelVersion string `json:"kernel_version"`
	Machine       string `json:"machine"`
	// CPUs and RTCPUs are kernel cpulists: the online CPUs and the RT CPUs.
	CPUs   string `json:"cpus"`
	RTCPUs string `json:"rt_cpus"`
	// CPUModel is the "model name" of the first CPU in /proc/cpuinfo
	// (x86; arm64 has none, and it stays empty).
	CPUModel string `json:"cpu_model,omitempty"`
	// Cmdline is the kernel command line the box booted with (/proc/cmdline).
	Cmdline string `json:"cmdline,omitempty"`
	// Vendor, Product, BIOSVersion and BIOSDate identify the board, from
	// /sys/class/dmi/id (sys_vendor, product_name, bios_version,
	// bios_date). Boards without DMI (most arm64) and containers that
	// hide /sys/class/dmi leave them empty; a BIOS update shows up here.
	Vendor      string `json:"vendor,omitempty"`
	Product     string `json:"product,omitempty"`
	BIOSVersion string `json:"bios_version,omitempty"`
	BIOSDate    string `json:"bios_date,omitempty"`
}

// Summary counts results by status.
type Summary struct {
	Pass int `json:"pass"`
	Warn int `json:"warn"`
	Fail int `json:"fail"`
	Skip int `json:"skip"`
}

// Report is the outcome of a Run.
type Report struct {
	Schema string `json:"schema"`
	// Version is the build of sysprep that made the report
	// (rt/buildinfo: module version, VCS revision).
	Version string `json:"version"`
	// Command is the command line that reproduces the report, when the
	// sysprep command made it (Options.Command).
	Command string `json:"command,omitempty"`
	// Priority is the planned SCHED_FIFO priority the checks assumed.
	Priority int      `json:"priority"`
	Host     Host     `json:"host"`
	Checks   []Result `json:"checks"`
	Summary  Summary  `json:"summary"`
	// KernelCmdline is the one proposed kernel command line; nil when
	// /proc/cmdline cannot be read.
	KernelCmdline *KernelCmdline `json:"kernel_cmdline,omitempty"`
	// Notes are warnings about the run itself, such as RT CPUs chosen by
	// default. They are printed by the text formats, not in JSON.
	Notes []string `json:"-"`
	// Time is Options.Now.
	Time time.Time `json:"-"`
}

// ExitCode is the command's exit status for the report: 0 when every
// check passed or was skipped, 1 with warnings and no failure, 2 with any
// failure.
func (r Report) ExitCode() int {
	switch {
	case r.Summary.Fail > 0:
		return 2
	case r.Summary.Warn > 0:
		return 1
	}
	return 0
}

// Check is one item of the checklist.
type Check interface {
	// ID is stable, e.g. "irq.affinity"; scripts rely on it.
	ID() string
	// Title is a short human description.
	Title() string
	// Run evaluates the check. It never fails: unreadable input gives a
	// skip result that says why.
	Run(env Env, o Options) Result
}

type checkFunc struct {
	id, title string
	run       func(env Env, o resolved) Result
}

func (c checkFunc) ID() string    { return c.id }
func (c checkFunc) Title() string { return c.title }

func (c checkFunc) Run(env Env, o Options) Result {
	r, err := resolve(env, o)
	var res Result
	if err != nil {
		res = Result{Status: Skip, Observed: err.Error()}
	} else {
		res = c.run(env, r)
	}
	res.ID, res.Title = c.id, c.title
	if res.Status == Pass || res.Status == Skip {
		res.Remedy = ""
		res.KernelParams = nil
	}
	// Names from the box (comm, IRQ actions, file content) reach the
	// terminal, markdown and HTML only escaped.
	res.Observed = clip(escape(res.Observed, false), maxObservedBytes)
	res.Expected = clip(escape(res.Expected, false), maxObservedBytes)
	res.Remedy = escape(res.Remedy, true)
	return res
}

var registry []Check

// register adds a check to the registry; checks are listed in the order
// they are registered (see checks.go).
func register(id, title string, run func(env Env, o resolved) Result) {
	registry = append(registry, checkFunc{id: id, title: title, run: run})
}

// Checks returns every check in a stable order.
func Checks() []Check { return slices.Clone(registry) }

// resolved are Options with defaults applied and derived sets computed.
type resolved struct {
	Options
	rt, hk, online cpuSet // RT CPUs, housekeeping CPUs, online CPUs
	defaulted      string // why the RT CPUs were chosen by default, if they were
}

// resolve applies defaults and validates o against env.
func resolve(env Env, o Options) (resolved, error) {
	return cached(env, "resolve:"+optionsKey(o), func() (resolved, error) {
		r := resolved{Options: o}
		if r.Priority == 0 {
			r.Priority = DefaultPriority
		}
		if r.Priority < 1 || r.Priority > 99 {
			return resolved{}, fmt.Errorf("priority %d: SCHED_FIFO priorities are 1..99: %w", r.Priority, ErrBadOption)
		}
		on, err := env.onlineCPUs()
		if err != nil {
			return resolved{}, fmt.Errorf("finding the online CPUs: %w", err)
		}
		r.online = on
		if len(o.RTCPUs) > 0 {
			for _, c := range o.RTCPUs {
				if !on.has(c) {
					return resolved{}, fmt.Errorf("rt cpu %d is not online (online: %s): %w", c, on, ErrBadOption)
				}
			}
			r.rt = newCPUSet(o.RTCPUs...)
		} else {
			iso, _ := env.isolatedCPUs()
			iso = iso.and(on)
			if !iso.empty() {
				r.rt = iso
			} else {
				r.rt = newCPUSet(on.last())
				r.defaulted = fmt.Sprintf("no CPU is isolated, so the RT CPU defaults to the last CPU (%d); pass --rt-cpus to choose", on.last())
			}
		}
		r.hk = on.andNot(r.rt)
		if r.hk.empty() {
			return resolved{}, fmt.Errorf("rt cpus %s cover every online CPU: leave at least one housekeeping CPU: %w", r.rt, ErrBadOption)
		}
		r.RTCPUs = r.rt.list()
		return r, nil
	})
}

func optionsKey(o Options) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(o.Priority))
	b.WriteString("|")
	b.WriteString(FormatCPUList(o.RTCPUs))
	return b.String()
}

// Run runs the checks o selects against env and returns the report. It
// fails only when it cannot run at all: a bad option (ErrBadOption), an
// unknown check ID (ErrUnknownCheck) or unusable roots (ErrRoot).
func Run(env Env, o Options) (Report, error) {
	if env.facts == nil {
		return Report{}, fmt.Errorf("running checks: Env not made by NewEnv: %w", ErrRoot)
	}
	env = env.fresh()
	r, err := resolve(env, o)
	if err != nil {
		return Report{}, fmt.Errorf("running checks: %w", err)
	}
	sel, err := selectChecks(o.Checks)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Schema: Schema, Version: buildinfo.String(), Command: o.Command, Priority: r.Priority, Host: env.host(), Time: o.Now}
	rep.Host.RTCPUs = r.rt.String()
	if r.defaulted != "" {
		rep.Notes = append(rep.Notes, r.defaulted)
	}
	for _, c := range sel {
		res := c.Run(env, o)
		switch res.Status {
		case Pass:
			rep.Summary.Pass++
		case Warn:
			rep.Summary.Warn++
		case Fail:
			rep.Summary.Fail++
		default:
			rep.Summary.Skip++
		}
		rep.Checks = append(rep.Checks, res)
	}
	var want []string
	for _, c := range rep.Checks {
		want = append(want, c.KernelParams...)
	}
	if k, err := env.kernelCmdline(want); err == nil {
		rep.KernelCmdline = &k
	} else {
		rep.Notes = append(rep.Notes, "no kernel command line proposed: "+env.msg(err))
	}
	return rep, nil
}

func selectChecks(ids []string) ([]Check, error) {
	if len(ids) == 0 {
		return Checks(), nil
	}
	var out []Check
	for _, c := range registry {
		if slices.Contains(ids, c.ID()) {
			out = append(out, c)
		}
	}
	for _, id := range ids {
		if !slices.ContainsFunc(registry, func(c Check) bool { return c.ID() == id }) {
			return nil, fmt.Errorf("check %q: %w: `sysprep --list` shows the IDs", id, ErrUnknownCheck)
		}
	}
	return out, nil
}
