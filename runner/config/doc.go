// Package config reads the runner's TOML configuration and checks it
// strictly, before anything starts: unknown keys, wrong types and
// impossible values (a priority outside 1–99, a CPU that is not online,
// a period under 10 µs, two tasks sharing a CPU with a busy wake …) are
// all reported at once, each as "file:line: key: problem (what is
// allowed)".
//
// Input is bounded before it is parsed. Load refuses a path that is not
// a regular file (a named pipe, /dev/zero, a directory, a socket) at
// once, without blocking on it or reading from it; a file larger than
// MaxFileSize (1 MiB), reading at most one byte more; and text nested
// deeper than MaxDepth (16 levels of arrays, inline tables and dotted
// key parts), before the TOML decoder sees it. The decoder's cost grows
// with the square of the nesting depth, so without that bound a 40 KB
// file could take it minutes and gigabytes.
//
// The machine matters to the check, so the caller passes a SysInfo,
// normally read from procfs and sysfs. A config may hold at most
// MaxTasksPerCPU tasks per online CPU, and no more tasks than
// MemAvailable holds at WorkerLockedBytes each, since every task runs in
// its own worker process that locks its memory:
//
//	sys, err := config.ReadSysInfo("/proc", "/sys")
//	if err != nil {
//		return err
//	}
//	cfg, err := config.Load("configs/default.toml", sys)
//	if err != nil {
//		return err // one line per problem; errors.Is(err, config.ErrInvalid)
//	}
//	// Report paths given on the command line replace the config's, and
//	// are checked together with the others before the run.
//	if err := cfg.ApplyOutputFlags(config.OutputFlag{Key: "json", Flag: "--json", Path: jsonFlag}); err != nil {
//		return err
//	}
//	for _, w := range cfg.Warnings {
//		log.Print(w)
//	}
//	for _, t := range cfg.Tasks {
//		fmt.Println(t.Name, t.Period, t.CPU, t.Wake, t.Workload)
//	}
//
// Tasks use rt's types for what rt's loop takes: Task.Policy is an
// rt.Policy, Task.Wake an rt.Wake and Task.Overrun an rt.OverrunPolicy,
// and ErrInvalid is rt.ErrInvalid.
//
// A [load] table (LoadTable) runs stress-ng and hackbench on the CPUs no
// task uses, in phases such as idle then loaded; Parse looks its
// generators up on PATH, so a missing one is a config error like any
// other, naming the package to install.
//
// Load and Parse only read, files and stat results; they change nothing
// on the machine.
package config
