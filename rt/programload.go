package rt

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rtcell/rtcell/rt/cpulist"
	"github.com/rtcell/rtcell/rt/load"
)

// loadReadyLimit bounds how long Run waits for every worker's loop to
// run before it starts the load anyway: a worker's setup (mlockall,
// prefaulting, Setup) takes well under a second here.
const loadReadyLimit = 5 * time.Second

// loadSpec returns p.Load with its CPUs filled in (every online CPU no
// task is pinned to, when it names none) and checked: the tools are
// installed, and no load CPU runs a task.
func (p *Program) loadSpec() (load.Spec, error) {
	spec := *p.Load
	spec.CPUs = slices.Clone(spec.CPUs)
	taskCPUs := p.cpus()
	if len(spec.CPUs) == 0 {
		online, err := cpulist.ReadOnline(sysRoot)
		if err != nil {
			return spec, fmt.Errorf("load: %w", err)
		}
		if spec.CPUs, err = load.Housekeeping(online, taskCPUs); err != nil {
			return spec, fmt.Errorf("load: %w", err)
		}
	}
	for _, c := range spec.CPUs {
		if slices.Contains(taskCPUs, c) {
			return spec, fmt.Errorf("load: CPU %d runs a task; the load must stay off the tasks' CPUs (%s): %w",
				c, cpulist.Format(taskCPUs), ErrInvalid)
		}
	}
	if err := spec.CheckInstalled(); err != nil {
		return spec, fmt.Errorf("load: %w", err)
	}
	return spec, nil
}

// waitRunning waits until every task's loop runs (or has ended), ctx
// ends, or loadReadyLimit passes, so that the load starts on ready
// workers and does not slow their setup.
func (s *Supervisor) waitRunning(ctx context.Context) {
	deadline := time.Now().Add(loadReadyLimit)
	var snap Snapshot
	for time.Now().Before(deadline) && ctx.Err() == nil {
		ready := true
		for _, ti := range s.Tasks() {
			if ti.Running && (ti.Snapshot(&snap) == nil || !(snap.Running() || snap.Done())) {
				ready = false
			}
		}
		if ready {
			return
		}
		time.Sleep(watchEvery)
	}
}

// loadText is Main's account of the load: one line per command.
func loadText(r *load.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "load on CPUs %s:\n", cpulist.Format(r.CPUs))
	for _, c := range r.Commands {
		fmt.Fprintf(&b, "  %s (started %d×)", c.Cmdline, c.Starts)
		if c.Error != "" {
			fmt.Fprintf(&b, ": %s", c.Error)
		}
		b.WriteString("\n")
	}
	return b.String()
}
