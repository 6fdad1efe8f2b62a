package config

import (
	"os/exec"
	"slices"
	"strings"

	"github.com/rtcell/rtcell/rt/cpulist"
	"github.com/rtcell/rtcell/rt/load"
)

// Phase names of [load] phases.
const (
	PhaseIdle = "idle" // the tasks run with no load
	PhaseLoad = "load" // the tasks run under the [load] generators
)

// LoadTable holds the [load] table: background load on the housekeeping
// CPUs while the tasks run, as rteval does.
type LoadTable struct {
	// StressNG runs stress-ng with StressNGArgs, or with rt/load's
	// default arguments when they are nil (stress_ng = true).
	StressNG     bool
	StressNGArgs []string
	// Hackbench runs hackbench in a loop, with HackbenchArgs or rt/load's
	// defaults when they are nil (hackbench = true).
	Hackbench     bool
	HackbenchArgs []string
	// CPUs the load is confined to: cpus = "LIST", or, when the file
	// gives none (CPUsAuto), every online CPU no task is pinned to.
	CPUs     []int
	CPUsAuto bool
	// Phases are run one after the other, each for the run's duration:
	// PhaseIdle, PhaseLoad; default just PhaseLoad.
	Phases []string
}

// Spec is the rt/load spec of the table's load.
func (l *LoadTable) Spec() load.Spec {
	return load.Spec{StressNG: l.StressNG, StressNGArgs: l.StressNGArgs, Hackbench: l.Hackbench,
		HackbenchArgs: l.HackbenchArgs, CPUs: slices.Clone(l.CPUs)}
}

var loadKeys = []string{"stress_ng", "hackbench", "cpus", "phases"}

// lookPath finds the load generators; tests replace it.
var lookPath = exec.LookPath

// loadTable reads [load], after the tasks' CPUs are resolved: the load
// CPUs must not include one.
func (d *decoder) loadTable(raw map[string]any, cfg *Config) {
	v, ok := raw["load"]
	if !ok {
		return
	}
	p := keyPath{"load"}
	tbl, ok := v.(map[string]any)
	if !ok {
		d.typeErr(p, v, "a table [load]")
		return
	}
	d.checkKeys(tbl, p, loadKeys, "allowed")
	l := &LoadTable{Phases: []string{PhaseLoad}}
	l.StressNG, l.StressNGArgs = d.generator(tbl, p, "stress_ng", `stress_ng = true, or its arguments: stress_ng = "--cpu 1 --vm 1"`)
	l.Hackbench, l.HackbenchArgs = d.generator(tbl, p, "hackbench", `hackbench = true, or its arguments: hackbench = "-P -g 2 -l 200"`)
	if !l.StressNG && !l.Hackbench {
		if _, s := tbl["stress_ng"]; !s {
			if _, h := tbl["hackbench"]; !h {
				d.errorf(p, "the table runs no load (set stress_ng = true and/or hackbench = true)")
			}
		}
	}
	for _, g := range []struct {
		on   bool
		key  string
		name string
	}{{l.StressNG, "stress_ng", load.StressNG}, {l.Hackbench, "hackbench", load.Hackbench}} {
		if !g.on {
			continue
		}
		if _, err := lookPath(g.name); err != nil {
			d.errorf(p.key(g.key), "%s is not installed (install %s: apt-get install -y %s, or make deps)", g.name, load.Packages[g.name], load.Packages[g.name])
		}
	}
	d.loadCPUs(tbl, p, cfg, l)
	if v, ok := tbl["phases"]; ok {
		d.phases(v, p.key("phases"), l)
	}
	cfg.Load = l
}

// generator reads stress_ng or hackbench: true, false, or an argument
// string split at white space (no shell quoting).
func (d *decoder) generator(tbl map[string]any, p keyPath, key, want string) (bool, []string) {
	switch v := tbl[key].(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case string:
		args := strings.Fields(v)
		if len(args) == 0 {
			d.errorf(p.key(key), "%q gives no arguments (use %s)", v, want)
			return false, nil
		}
		return true, args
	default:
		d.typeErr(p.key(key), v, want)
		return false, nil
	}
}

func (d *decoder) loadCPUs(tbl map[string]any, p keyPath, cfg *Config, l *LoadTable) {
	taskOn := map[int]string{}
	var taskCPUs []int
	for _, t := range cfg.Tasks {
		if _, ok := taskOn[t.CPU]; !ok {
			taskOn[t.CPU] = t.Name
			taskCPUs = append(taskCPUs, t.CPU)
		}
	}
	slices.Sort(taskCPUs)
	s, present := d.str(tbl, p, "cpus", `a CPU list such as "0" or "0,2-3"`)
	if !present {
		if _, wrongType := tbl["cpus"]; wrongType {
			return
		}
		cpus, err := load.Housekeeping(d.sys.Online, taskCPUs)
		if err != nil {
			d.errorf(p, "no CPU is left for the load: the tasks use every online CPU (%s); leave one free, or set cpus", cpulist.Format(d.sys.Online))
			return
		}
		l.CPUs, l.CPUsAuto = cpus, true
		return
	}
	cpus, err := cpulist.Parse(s)
	switch {
	case err != nil:
		d.errorf(p.key("cpus"), "%q is not a CPU list (use e.g. \"0\" or \"0,2-3\"): %v", s, err)
		return
	case len(cpus) == 0:
		d.errorf(p.key("cpus"), "is empty (give the load's CPUs, e.g. \"0\", or omit cpus for every CPU no task uses)")
		return
	}
	bad := false
	for _, c := range cpus {
		if !slices.Contains(d.sys.Online, c) {
			d.errorf(p.key("cpus"), "CPU %d is not online (online: %s)", c, cpulist.Format(d.sys.Online))
			bad = true
		} else if name, ok := taskOn[c]; ok {
			d.errorf(p.key("cpus"), "CPU %d runs task %q; the load must stay off the tasks' CPUs (%s)", c, name, cpulist.Format(taskCPUs))
			bad = true
		}
	}
	if !bad {
		l.CPUs = cpus
	}
}

func (d *decoder) phases(v any, p keyPath, l *LoadTable) {
	const want = `an array of phase names: ["idle", "load"]`
	list, ok := v.([]any)
	if !ok {
		d.typeErr(p, v, want)
		return
	}
	if len(list) == 0 {
		d.errorf(p, "is empty (use %s, or omit it for one loaded phase)", want)
		return
	}
	var names []string
	for i, e := range list {
		s, ok := e.(string)
		switch {
		case !ok:
			d.typeErr(p.index(i), e, `a phase name, "idle" or "load"`)
			return
		case s != PhaseIdle && s != PhaseLoad:
			d.errorf(p, "unknown phase %q (phases: %q, %q)", s, PhaseIdle, PhaseLoad)
			return
		case slices.Contains(names, s):
			d.errorf(p, "phase %q is listed twice (each phase runs once)", s)
			return
		}
		names = append(names, s)
	}
	l.Phases = names
}
