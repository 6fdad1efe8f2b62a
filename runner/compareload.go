package runner

import (
	"fmt"
	"strings"

	"github.com/rtcell/rtcell/rt/cpulist"
	"github.com/rtcell/rtcell/rt/load"
	"github.com/rtcell/rtcell/runner/config"
	"github.com/rtcell/rtcell/runner/report"
)

// Values of CompareOptions.Load (runner compare --load).
const (
	CompareLoadNone      = ""
	CompareLoadStressNG  = "stress-ng"
	CompareLoadHackbench = "hackbench"
	CompareLoadBoth      = "both"
)

// compareLoadSpec is the load of `runner compare --load KIND` with the
// default arguments of rt/load, on every online CPU but the measured
// one, or nil for no load.
func compareLoadSpec(kind string, cpu int, online []int) (*load.Spec, error) {
	s := &load.Spec{}
	switch kind {
	case CompareLoadNone:
		return nil, nil
	case CompareLoadStressNG:
		s.StressNG = true
	case CompareLoadHackbench:
		s.Hackbench = true
	case CompareLoadBoth:
		s.StressNG, s.Hackbench = true, true
	default:
		return nil, fmt.Errorf("--load %q: want %s, %s or %s", kind, CompareLoadStressNG, CompareLoadHackbench, CompareLoadBoth)
	}
	var err error
	if s.CPUs, err = load.Housekeeping(online, []int{cpu}); err != nil {
		return nil, fmt.Errorf("--load %s: %w (the load runs on every CPU but --cpu %d)", kind, err, cpu)
	}
	return s, nil
}

// startCompareLoad starts the load o.Load names, for the whole of a
// comparison, so that every cyclictest and rtcell round runs under the
// same load. The returned stop function ends it and records what ran
// in c.Load; it is safe to call more than once.
func startCompareLoad(o CompareOptions, c *Comparison) (stop func(), err error) {
	if o.Load == CompareLoadNone {
		return func() {}, nil
	}
	sys, err := config.ReadSysInfo(DefaultProcRoot, DefaultSysRoot)
	if err != nil {
		return nil, err
	}
	spec, err := compareLoadSpec(o.Load, o.CPU, sys.Online)
	if err != nil {
		return nil, err
	}
	if err := spec.CheckInstalled(); err != nil {
		return nil, fmt.Errorf("--load %s: %w: install %s", o.Load, err, installHint(spec))
	}
	l, err := load.Start(*spec)
	if err != nil {
		return nil, fmt.Errorf("--load %s: %w", o.Load, err)
	}
	cmds, _ := spec.Commands()
	var lines []string
	for _, cmd := range cmds {
		lines = append(lines, cmd.Cmdline())
	}
	fmt.Fprintf(o.Stdout, "load on CPUs %s: %s\n", cpulist.Format(spec.CPUs), strings.Join(lines, "; "))
	return func() {
		res, err := l.Stop()
		if c.Load == nil {
			c.Load = reportLoad(res)
			if err != nil && c.Load != nil {
				c.Load.Commands = append(c.Load.Commands, report.LoadCommand{Name: "keeper", Error: err.Error()})
			}
		}
	}, nil
}

// installHint names the Debian packages of the spec's generators.
func installHint(s *load.Spec) string {
	switch {
	case s.StressNG && s.Hackbench:
		return "apt-get install -y stress-ng rt-tests"
	case s.StressNG:
		return "apt-get install -y stress-ng"
	}
	return "apt-get install -y rt-tests"
}
