package rt

import (
	"fmt"

	"github.com/prometheus/procfs"

	"github.com/rtcell/rtcell/rt/internal/telemetry"
)

// procRoot is where the supervisor reads a worker's thread counters.
var procRoot = procfs.DefaultMountPoint

// ThreadCounters are the loop thread's counters kept by the kernel, since
// the loop started: what a cycle that is not RT-safe produces. A minor
// page fault is a first touch of a page (fresh stack, heap or mapping),
// microseconds each; a major one waits for the disk, milliseconds;
// mlockall prevents most of both. A voluntary context switch is the
// thread blocking (its sleep between cycles is one per cycle, more if it
// sleeps in pieces); an involuntary one is the thread being preempted,
// by a higher-priority thread or, on a non-RT kernel, by the host.
type ThreadCounters struct {
	MinorFaults         uint64 `json:"minor_faults"`
	MajorFaults         uint64 `json:"major_faults"`
	VoluntarySwitches   uint64 `json:"voluntary_switches"`
	InvoluntarySwitches uint64 `json:"involuntary_switches"`
}

func countersFrom(c telemetry.ThreadCounters) ThreadCounters {
	return ThreadCounters{MinorFaults: c.MinFlt, MajorFaults: c.MajFlt, VoluntarySwitches: c.VolCS, InvoluntarySwitches: c.InvolCS}
}

// readThreadCounters reads a thread's counters from
// /proc/PID/task/TID/stat and status: the supervisor's view of a loop
// thread in another process, read without disturbing it.
func readThreadCounters(root string, pid, tid int) (telemetry.ThreadCounters, error) {
	fs, err := procfs.NewFS(root)
	if err != nil {
		return telemetry.ThreadCounters{}, fmt.Errorf("reading thread counters: %w", err)
	}
	p, err := fs.Thread(pid, tid)
	if err != nil {
		return telemetry.ThreadCounters{}, fmt.Errorf("reading thread counters of %d/%d: %w", pid, tid, err)
	}
	st, err := p.Stat()
	if err != nil {
		return telemetry.ThreadCounters{}, fmt.Errorf("reading thread counters of %d/%d: %w", pid, tid, err)
	}
	status, err := p.NewStatus()
	if err != nil {
		return telemetry.ThreadCounters{}, fmt.Errorf("reading thread counters of %d/%d: %w", pid, tid, err)
	}
	return telemetry.ThreadCounters{
		MinFlt: uint64(st.MinFlt), MajFlt: uint64(st.MajFlt),
		VolCS: status.VoluntaryCtxtSwitches, InvolCS: status.NonVoluntaryCtxtSwitches,
	}, nil
}

// ThreadCounters returns the loop thread's page faults and context
// switches since the loop started, and whether they are known: the
// counts the loop published at its end once it finished, and while it
// runs the kernel's counts read from /proc/PID/task/TID (which
// allocates, and works only where that thread is visible).
func (s *Snapshot) ThreadCounters() (ThreadCounters, bool) {
	h := &s.s.H
	if h.Counted != 0 {
		return countersFrom(telemetry.ThreadCounters{MinFlt: h.MinFlt, MajFlt: h.MajFlt, VolCS: h.VolCS, InvolCS: h.InvolCS}), true
	}
	if h.TID == 0 || h.State != telemetry.StateRunning {
		return ThreadCounters{}, false
	}
	now, err := readThreadCounters(procRoot, int(h.PID), int(h.TID))
	if err != nil {
		return ThreadCounters{}, false
	}
	return countersFrom(now.Sub(h.CounterBase())), true
}
