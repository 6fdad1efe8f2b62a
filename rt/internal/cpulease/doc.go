// Package cpulease gives a process an exclusive, advisory lease on CPUs,
// so that two programs (or two test binaries that `go test ./...` runs at
// the same time) never pin real-time loops to the same CPU at once. On a
// small box, two SCHED_FIFO loops sharing a CPU delay each other by whole
// cycles, and a measurement taken there measures the other program.
//
// A lease is one flock(2) per CPU on a lock file, rtcell-cpuN.lock, in
// $RTCELL_LOCK_DIR if set, else /run/lock if writable, else the temporary
// directory. The kernel drops a flock when its holder exits, however it
// exits, so a dead holder leaves no stale lease. The holder writes its PID
// into the file, so a refused process can say who holds the CPU.
//
// A process whose ancestor (or itself) already holds a CPU's lock is
// granted that CPU as a shared sub-lease: no lock is taken and Release
// does nothing for it. A test or script that holds the lease and starts a
// program that leases the same CPU must not be refused by its own child.
//
// Leases are advisory: a program that does not ask is not stopped.
//
// Example:
//
//	l, err := cpulease.Acquire([]int{1})
//	var busy *cpulease.BusyError
//	if errors.As(err, &busy) {
//		log.Fatalf("%v: wait for pid %d to finish, or pick another CPU", err, busy.PID)
//	}
//	defer l.Release()
package cpulease
