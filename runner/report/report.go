package report

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/rtcell/rtcell/rt/trace"
	"github.com/rtcell/rtcell/sysprep"
)

// Schema names the JSON layout; ReadJSON refuses any other.
const Schema = "rtcell.run/v1"

// Verdicts, in the "verdict" key. They are judged in this order: failed,
// then not-realtime, then violations, then pass.
const (
	// VerdictPass: every task met every deadline, on a PREEMPT_RT kernel
	// with every task at an RT policy.
	VerdictPass = "pass"
	// VerdictViolations: deadline misses, overruns or missed releases,
	// on a real-time setup (PREEMPT_RT kernel, RT policy).
	VerdictViolations = "violations"
	// VerdictNotRealtime: the kernel is not PREEMPT_RT, or a task did not
	// run at an RT policy with its runtime settings in effect (a run
	// allowed at SCHED_OTHER with allow_non_rt sets Report.NotRealtime
	// too). Its numbers prove nothing about real time, so this verdict
	// comes before violations: a run with deadline misses on such a box
	// is not-realtime, not violations. The misses are still counted in
	// the tasks, and the runner's exit code still says violations (1),
	// so that scripts see them on any box.
	VerdictNotRealtime = "not-realtime"
	// VerdictFailed: a task could not run to the end (error, watchdog).
	// It comes before every other verdict.
	VerdictFailed = "failed"
)

// NotRealtimeNotice is the plain-words warning every output carries when
// the run was not real-time.
const NotRealtimeNotice = "NOT REAL-TIME: this run was allowed on a system that is not set up for real-time (allow_non_rt); " +
	"its timings show what this box did, not what a real-time box guarantees. Do not sign off on it."

// Report is one run of the runner, as written to run.json. Times are in
// ns unless a name says otherwise. The caller computes every number; the
// package only formats them.
type Report struct {
	// Schema is always Schema.
	Schema string `json:"schema"`
	// NotRealtime is true when the run was allowed with allow_non_rt on a
	// box that failed the real-time checks. Notice then holds
	// NotRealtimeNotice.
	NotRealtime bool   `json:"not_realtime"`
	Notice      string `json:"notice,omitempty"`
	// Version is the rtcell build that made the report (module version,
	// VCS revision, Go version).
	Version string `json:"version,omitempty"`
	// Config is the path of the run's configuration file.
	Config string `json:"config,omitempty"`
	// StartTime and EndTime are wall-clock times, RFC 3339 in JSON.
	StartTime  time.Time `json:"start_time,omitzero"`
	EndTime    time.Time `json:"end_time,omitzero"`
	DurationNs int64     `json:"duration_ns"`
	Host       Host      `json:"host"`
	// Preflight is the sysprep summary taken before the run; nil when
	// sysprep was not run.
	Preflight *Preflight `json:"preflight"`
	// Sysprep is the full checklist behind Preflight (every check with
	// observed, expected and remedy, and the proposed kernel command
	// line), so that one run JSON renders the whole commissioning report.
	Sysprep *sysprep.Report `json:"sysprep,omitempty"`
	// ConfigText is the text of the configuration file the run used.
	ConfigText string `json:"config_text,omitempty"`
	// Phases are the run's phases in order (e.g. "idle", then "load"),
	// with their boundaries and the load that ran. A run without a [load]
	// table has none; one with [load] and no phases list has one, "load".
	Phases []Phase `json:"phases,omitempty"`
	// Tasks are the tasks' results; with phases, one per task and phase,
	// in phase order (Task.Phase says which).
	Tasks []Task `json:"tasks"`
	// Cyclictest is the reference run on the same box, if one was made.
	Cyclictest *CrossCheck `json:"cyclictest,omitempty"`
	// Verdict is one of the Verdict constants; VerdictText says it in
	// plain words.
	Verdict string `json:"verdict"`
}

// Host identifies the box.
type Host struct {
	Hostname      string `json:"hostname"`
	KernelRelease string `json:"kernel_release"`
	KernelVersion string `json:"kernel_version"`
	Machine       string `json:"machine"`
	CPUs          int    `json:"cpus"`
	// Realtime is true on a PREEMPT_RT kernel (/sys/kernel/realtime).
	Realtime  bool   `json:"realtime"`
	GoVersion string `json:"go_version,omitempty"`
	// CPUModel is /proc/cpuinfo's "model name" of the first CPU.
	CPUModel string `json:"cpu_model,omitempty"`
	// Cmdline is the kernel command line (/proc/cmdline).
	Cmdline string `json:"cmdline,omitempty"`
	// The board's identity from /sys/class/dmi/id, where present:
	// sys_vendor, product_name, bios_version and bios_date.
	Vendor      string `json:"vendor,omitempty"`
	Product     string `json:"product,omitempty"`
	BIOSVersion string `json:"bios_version,omitempty"`
	BIOSDate    string `json:"bios_date,omitempty"`
}

// Phase is one phase of a run: the tasks ran from StartTime to EndTime
// under Load (nil: idle).
type Phase struct {
	Name      string    `json:"name"`
	StartTime time.Time `json:"start_time,omitzero"`
	EndTime   time.Time `json:"end_time,omitzero"`
	Load      *Load     `json:"load"`
}

// Load is the background load that ran during a phase, as rteval runs it.
type Load struct {
	// CPUs the load was confined to.
	CPUs []int `json:"cpus"`
	// Commands are the load generators that ran, with their arguments.
	Commands []LoadCommand `json:"commands"`
}

// LoadCommand is one load generator.
type LoadCommand struct {
	// Name is "stress-ng" or "hackbench".
	Name string `json:"name"`
	// Cmdline is the command that ran, as a shell would show it.
	Cmdline string `json:"cmdline"`
	// Starts counts how often it was started (hackbench runs in a loop).
	Starts int `json:"starts,omitempty"`
	// Error is why it failed or stopped early, if it did.
	Error string `json:"error,omitempty"`
}

// Trace is a task's trace-on-threshold record. A run with no breach has
// a nil BreachCycle (null in JSON) and nothing else but the threshold.
type Trace struct {
	ThresholdNs int64   `json:"threshold_ns"`
	BreachCycle *uint64 `json:"breach_cycle"`
	// LatencyNs is the breach cycle's wake latency.
	LatencyNs int64 `json:"latency_ns,omitempty"`
	// File is the saved trace around the breach.
	File string `json:"file,omitempty"`
	// Cause splits the latency into contributors; nil when the trace
	// could not be analysed (Error says why).
	Cause *trace.Cause `json:"cause,omitempty"`
	Error string       `json:"error,omitempty"`
}

// Preflight is the sysprep summary.
type Preflight struct {
	// Verdict is sysprep's overall verdict (pass, warn, fail).
	Verdict string `json:"verdict"`
	Pass    int    `json:"pass"`
	Warn    int    `json:"warn"`
	Fail    int    `json:"fail"`
	Skip    int    `json:"skip"`
	// Failed lists the IDs of the checks that failed.
	Failed []string `json:"failed"`
}

// Task is one periodic task's result.
type Task struct {
	Name string `json:"name"`
	// Phase is the name of the phase the result belongs to, when the run
	// had phases.
	Phase string `json:"phase,omitempty"`
	CPU   int    `json:"cpu"`
	// Policy and Priority are read back from the worker thread
	// (sched_getattr), e.g. "SCHED_FIFO" and 90: what was in effect, not
	// what was asked for.
	Policy     string `json:"policy"`
	Priority   int    `json:"priority"`
	PeriodNs   int64  `json:"period_ns"`
	DeadlineNs int64  `json:"deadline_ns"`
	// Wake is the wake-up method, e.g. "sleep" or "hybrid".
	Wake   string `json:"wake"`
	Cycles uint64 `json:"cycles"`
	// LatencyNs is the wake-up latency: wake time minus release time.
	LatencyNs Stats `json:"latency_ns"`
	// JitterNs is the period jitter on CLOCK_MONOTONIC_RAW: the absolute
	// deviation of each wake-to-wake interval from the period.
	JitterNs Stats `json:"jitter_ns"`
	// JitterSignedNs is the signed range of that deviation: Min < 0 is
	// an interval shorter than the period.
	JitterSignedNs *MinMax `json:"jitter_signed_ns,omitempty"`
	// ExecNs is the time the cycle function ran.
	ExecNs         Stats  `json:"exec_ns"`
	DeadlineMisses uint64 `json:"deadline_misses"`
	Overruns       uint64 `json:"overruns"`
	MissedReleases uint64 `json:"missed_releases"`
	// MaxConsecutiveMisses is the longest run of deadline misses in a row.
	MaxConsecutiveMisses uint64 `json:"max_consecutive_misses"`
	// GCCycles is the number of GC cycles during the run; it must be 0.
	GCCycles uint64 `json:"gc_cycles"`
	// MinorFaults and MajorFaults are the loop thread's page faults, and
	// InvoluntarySwitches and VoluntarySwitches its context switches,
	// since the loop started, as the kernel counts them.
	MinorFaults         uint64 `json:"minor_faults"`
	MajorFaults         uint64 `json:"major_faults"`
	InvoluntarySwitches uint64 `json:"involuntary_switches"`
	VoluntarySwitches   uint64 `json:"voluntary_switches"`
	// Runtime is the Go runtime settings read back from the worker.
	Runtime Runtime `json:"runtime"`
	// Worst lists the cycles with the highest latency, worst first.
	Worst []Worst `json:"worst"`
	// WindowMaxNs is the maximum latency per window of WindowNs, in time
	// order from the start of the run.
	WindowMaxNs []int64 `json:"window_max_ns"`
	WindowNs    int64   `json:"window_ns"`
	// Histogram is the wake-up latency histogram.
	Histogram Histogram `json:"histogram"`
	// Stopped says how the task ended: "completed", "signal" or
	// "watchdog: …".
	Stopped string `json:"stopped"`
	// Error is the task's error, if it failed.
	Error string `json:"error,omitempty"`
	// Warnings are what the worker could not set up but did not need
	// (for example /dev/cpu_dma_latency not held).
	Warnings []string `json:"warnings,omitempty"`
	// PID is the process ID of the task's worker.
	PID int `json:"pid,omitempty"`
	// MarginNs is the hybrid wake's spin margin at the end of the run:
	// the one set, or the last one calibrated. 0 (absent) for the other
	// wakes.
	MarginNs int64 `json:"margin_ns,omitempty"`
	// Trace is the trace-on-threshold record; nil when no threshold was
	// set.
	Trace *Trace `json:"trace,omitempty"`
}

// Stats summarises one measured quantity in ns. Percentiles are
// nearest-rank.
type Stats struct {
	Min   int64 `json:"min"`
	Avg   int64 `json:"avg"`
	P50   int64 `json:"p50"`
	P90   int64 `json:"p90"`
	P99   int64 `json:"p99"`
	P999  int64 `json:"p999"`
	P9999 int64 `json:"p9999"`
	Max   int64 `json:"max"`
}

// MinMax is a signed range in ns.
type MinMax struct {
	Min int64 `json:"min"`
	Max int64 `json:"max"`
}

// Runtime is the Go runtime settings in effect in the worker.
type Runtime struct {
	GOMAXPROCS      int    `json:"gomaxprocs"`
	AsyncPreemptOff bool   `json:"asyncpreemptoff"`
	GOGC            string `json:"gogc"`
}

// Worst is one bad cycle. AtNs is its release time from the start of
// the run.
type Worst struct {
	Cycle     uint64 `json:"cycle"`
	AtNs      int64  `json:"at_ns"`
	LatencyNs int64  `json:"latency_ns"`
	ExecNs    int64  `json:"exec_ns"`
}

// Histogram counts latencies in bins of BinNs: Counts[i] holds
// latencies in [i·BinNs, (i+1)·BinNs), Overflow those beyond.
type Histogram struct {
	BinNs    int64    `json:"bin_ns"`
	Counts   []uint64 `json:"counts"`
	Overflow uint64   `json:"overflow"`
}

// CrossCheck is a cyclictest run made on the same box for comparison.
type CrossCheck struct {
	// Version is rt-tests' version; Cmdline the command that ran.
	Version    string    `json:"version"`
	Cmdline    string    `json:"cmdline"`
	CPU        int       `json:"cpu"`
	Priority   int       `json:"priority"`
	IntervalNs int64     `json:"interval_ns"`
	Cycles     uint64    `json:"cycles"`
	LatencyNs  Stats     `json:"latency_ns"`
	Histogram  Histogram `json:"histogram"`
	// Error is why the cross-check could not run (e.g. rt-tests missing).
	Error string `json:"error,omitempty"`
}

// normalized returns a copy of r with the schema set, the notice filled
// in and nil lists as empty ones, so that the JSON always has the same
// keys and types.
func (r *Report) normalized() *Report {
	c := *r
	c.Schema = Schema
	if c.NotRealtime {
		c.Notice = NotRealtimeNotice
	}
	if c.Preflight != nil {
		p := *c.Preflight
		if p.Failed == nil {
			p.Failed = []string{}
		}
		c.Preflight = &p
	}
	c.Tasks = make([]Task, len(r.Tasks))
	for i, t := range r.Tasks {
		if t.Worst == nil {
			t.Worst = []Worst{}
		}
		if t.WindowMaxNs == nil {
			t.WindowMaxNs = []int64{}
		}
		if t.Histogram.Counts == nil {
			t.Histogram.Counts = []uint64{}
		}
		c.Tasks[i] = t
	}
	if c.Cyclictest != nil {
		x := *c.Cyclictest
		if x.Histogram.Counts == nil {
			x.Histogram.Counts = []uint64{}
		}
		c.Cyclictest = &x
	}
	return &c
}

// WriteJSON writes r as indented JSON with a trailing newline. The
// output is stable: same report, same bytes. The schema key is always
// Schema, and the notice is set when NotRealtime is.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r.normalized(), "", "  ")
	if err != nil {
		return fmt.Errorf("encoding report: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing report json: %w", err)
	}
	return nil
}

// ReadJSON reads a report written by WriteJSON. Unknown keys are
// ignored, so a newer writer's report still reads; a different schema is
// an error.
func ReadJSON(r io.Reader) (*Report, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading report json: %w", err)
	}
	var probe struct {
		Schema string `json:"schema"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("reading report json: %w: %w", ErrMalformed, err)
	}
	if probe.Schema != Schema {
		return nil, fmt.Errorf("reading report json: schema %q, want %q: %w", probe.Schema, Schema, ErrSchema)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("reading report json: %w: %w", ErrMalformed, err)
	}
	return &rep, nil
}
