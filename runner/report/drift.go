package report

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	"github.com/rtcell/rtcell/sysprep"
)

// DefaultDriftTolerancePct is how far p99 and max latency may grow over
// the baseline, in percent, before Compare calls it drift.
const DefaultDriftTolerancePct = 20

// DriftSchema names the JSON layout of a drift check.
const DriftSchema = "rtcell.drift/v1"

// Drift is what changed between a commissioned baseline run and a
// current one (runner report --baseline).
type Drift struct {
	Schema string `json:"schema"`
	// Baseline and Current are the files compared.
	Baseline string `json:"baseline"`
	Current  string `json:"current"`
	// TolerancePct is how far p99 and max latency may grow, in percent
	// of the baseline, before they count as drift (default 20).
	TolerancePct float64 `json:"tolerance_pct"`
	// Items lists every difference found, the drifted ones first.
	Items []DriftItem `json:"items"`
	// Drifted is true when at least one item is Worse.
	Drifted bool `json:"drifted"`
}

// DriftItem is one difference between the baseline and the current run.
type DriftItem struct {
	// Kind is "verdict", "check" (a sysprep check), "host" (kernel,
	// command line, board, BIOS, CPU model), "task" (a task missing from
	// one run) or "latency" (a task's p99, max or deadline misses).
	Kind string `json:"kind"`
	// Name is the check ID, the host field or "TASK p99"/"TASK max".
	Name     string `json:"name"`
	Baseline string `json:"baseline"`
	Current  string `json:"current"`
	// Worse is true for a change that counts as drift: a check whose
	// status got worse, a changed host identity, latency beyond the
	// tolerance. Improvements are listed with Worse false.
	Worse bool `json:"worse"`
}

// Compare lists what changed from baseline to current: the verdict, each
// sysprep check whose status differs (worse when it moved from pass
// towards fail), the host's identity (any change there is drift: a BIOS
// update, a new kernel or command line, another CPU), and per task (by
// name and phase) the p99 and max wake latency beyond tolerancePct of the
// baseline, and deadline misses where the baseline had none. A
// tolerancePct <= 0 takes DefaultDriftTolerancePct.
func Compare(baseline, current *Report, tolerancePct float64) *Drift {
	if tolerancePct <= 0 {
		tolerancePct = DefaultDriftTolerancePct
	}
	d := &Drift{Schema: DriftSchema, TolerancePct: tolerancePct, Items: []DriftItem{}}
	add := func(kind, name, b, c string, worse bool) {
		d.Items = append(d.Items, DriftItem{Kind: kind, Name: name, Baseline: b, Current: c, Worse: worse})
	}
	if baseline.Verdict != current.Verdict {
		add("verdict", "verdict", baseline.Verdict, current.Verdict, verdictRank(current.Verdict) > verdictRank(baseline.Verdict))
	}

	bc, cc := checkStatuses(baseline), checkStatuses(current)
	for _, id := range slices.Sorted(mapKeys(bc, cc)) {
		b, inB := bc[id]
		c, inC := cc[id]
		switch {
		case !inB:
			add("check", id, "absent", string(c), statusRank(c) > statusRank(sysprep.Pass))
		case !inC:
			add("check", id, string(b), "absent", false)
		case b != c:
			add("check", id, string(b), string(c), statusRank(c) > statusRank(b))
		}
	}

	bh, ch := baseline.Host, current.Host
	for _, f := range []struct{ name, b, c string }{
		{"hostname", bh.Hostname, ch.Hostname},
		{"kernel_release", bh.KernelRelease, ch.KernelRelease},
		{"kernel_version", bh.KernelVersion, ch.KernelVersion},
		{"cmdline", bh.Cmdline, ch.Cmdline},
		{"realtime", strconv.FormatBool(bh.Realtime), strconv.FormatBool(ch.Realtime)},
		{"cpus", strconv.Itoa(bh.CPUs), strconv.Itoa(ch.CPUs)},
		{"cpu_model", bh.CPUModel, ch.CPUModel},
		{"vendor", bh.Vendor, ch.Vendor},
		{"product", bh.Product, ch.Product},
		{"bios_version", bh.BIOSVersion, ch.BIOSVersion},
		{"bios_date", bh.BIOSDate, ch.BIOSDate},
	} {
		if f.b != f.c {
			add("host", f.name, f.b, f.c, true)
		}
	}

	limit := func(v int64) int64 { return v + int64(float64(v)*tolerancePct/100) }
	cur := make(map[string]*Task, len(current.Tasks))
	for i := range current.Tasks {
		cur[taskKey(&current.Tasks[i])] = &current.Tasks[i]
	}
	seen := make(map[string]bool, len(baseline.Tasks))
	for i := range baseline.Tasks {
		b := &baseline.Tasks[i]
		k := taskKey(b)
		seen[k] = true
		c, ok := cur[k]
		if !ok {
			add("task", k, "ran", "absent", true)
			continue
		}
		for _, m := range []struct {
			what string
			b, c int64
		}{{"p99", b.LatencyNs.P99, c.LatencyNs.P99}, {"max", b.LatencyNs.Max, c.LatencyNs.Max}} {
			if m.c > limit(m.b) {
				add("latency", k+" "+m.what, ns(m.b), ns(m.c), true)
			}
		}
		if b.DeadlineMisses == 0 && c.DeadlineMisses > 0 {
			add("latency", k+" deadline_misses", "0", strconv.FormatUint(c.DeadlineMisses, 10), true)
		}
	}
	for i := range current.Tasks {
		if k := taskKey(&current.Tasks[i]); !seen[k] {
			add("task", k, "absent", "ran", false)
		}
	}

	kinds := map[string]int{"verdict": 0, "host": 1, "check": 2, "task": 3, "latency": 4}
	slices.SortStableFunc(d.Items, func(a, b DriftItem) int {
		if a.Worse != b.Worse {
			if a.Worse {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(kinds[a.Kind], kinds[b.Kind]), cmp.Compare(a.Name, b.Name))
	})
	for _, it := range d.Items {
		d.Drifted = d.Drifted || it.Worse
	}
	return d
}

// checkStatuses maps check IDs to statuses: from the full checklist, or
// from the preflight summary's failed list when the report has only that.
func checkStatuses(r *Report) map[string]sysprep.Status {
	m := map[string]sysprep.Status{}
	switch {
	case r.Sysprep != nil:
		for _, c := range r.Sysprep.Checks {
			m[c.ID] = c.Status
		}
	case r.Preflight != nil:
		for _, id := range r.Preflight.Failed {
			m[id] = sysprep.Fail
		}
	}
	return m
}

func mapKeys(ms ...map[string]sysprep.Status) func(func(string) bool) {
	return func(yield func(string) bool) {
		seen := map[string]bool{}
		for _, m := range ms {
			for k := range m {
				if !seen[k] {
					seen[k] = true
					if !yield(k) {
						return
					}
				}
			}
		}
	}
}

// statusRank orders statuses from good to bad. Skip (not applicable, or
// not readable) ranks just below pass: a check that passed at
// commissioning and can no longer be confirmed has drifted.
func statusRank(s sysprep.Status) int {
	switch s {
	case sysprep.Pass:
		return 0
	case sysprep.Skip:
		return 1
	case sysprep.Warn:
		return 2
	default:
		return 3
	}
}

func verdictRank(v string) int {
	switch v {
	case VerdictPass:
		return 0
	case VerdictViolations:
		return 1
	case VerdictNotRealtime:
		return 2
	default:
		return 3
	}
}

func taskKey(t *Task) string {
	if t.Phase != "" {
		return t.Name + "/" + t.Phase
	}
	return t.Name
}

func ns(v int64) string { return fmt.Sprintf("%d ns", v) }
