// Package probe holds the few kernel probes that need system calls rather
// than file reads: a throwaway SCHED_FIFO test, file capabilities of a
// binary, and uname. sysprep uses it; everything else it reads from /proc
// and /sys.
//
// The calls are Linux-only; on other platforms they return ErrNotSupported.
//
// Example:
//
//	if err := probe.FIFO(80); errors.Is(err, probe.ErrPermission) {
//		// the process cannot use SCHED_FIFO 80: grant CAP_SYS_NICE
//	}
//	caps, err := probe.FileCaps("bin/runner")
//	if err == nil && caps.Has(probe.CapSysNice) && caps.Effective {
//		// bin/runner gets CAP_SYS_NICE when executed
//	}
package probe
