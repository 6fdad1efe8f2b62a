// Package load runs background load on a box's housekeeping CPUs while
// real-time tasks are measured, as rteval does: Debian's stress-ng, and
// rt-tests' hackbench in a loop.
//
// Every load process is confined to the load CPUs (its affinity, which
// everything it forks inherits), and none outlives the process that
// started it, SIGKILL included. Start re-executes the running binary as
// a keeper: a child subreaper, started with rt/child, whose
// parent-death signal is a SIGTERM it catches; it starts the
// generators, and when told to stop or when its parent dies it ends
// every descendant and reaps them. The keeper runs from this package's
// init, so any binary that links the package (every rt.Program does)
// serves as its own keeper without a call in main.
//
//	spec := load.Spec{StressNG: true, Hackbench: true, CPUs: []int{0}}
//	l, err := load.Start(spec)
//	if err != nil { … }
//	… measure …
//	res, err := l.Stop() // what ran: commands, starts, errors
package load
