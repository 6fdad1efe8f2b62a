package rt

import "github.com/rtcell/rtcell/rt/internal/cpulease"

// LeaseCPUs takes the exclusive per-CPU lease that every rtcell run
// (Run, the runner, the test suite) takes on the CPUs it measures on, so
// that two measurements never share a CPU; a tool that drives another
// program there (cyclictest, an rtla run) takes it too. It does not
// block: a CPU leased by another process is an error that wraps
// ErrCPUBusy and names the process. A CPU leased by this process or an
// ancestor is granted: a Run inside the caller, or a child it starts,
// measures under the caller's lease. The lease is an flock on
// /run/lock/rtcell-cpuN.lock (or $RTCELL_LOCK_DIR), released by release
// or when the process exits.
func LeaseCPUs(cpus []int) (release func() error, err error) {
	l, err := cpulease.Acquire(cpus)
	if err != nil {
		return nil, err
	}
	return l.Release, nil
}
