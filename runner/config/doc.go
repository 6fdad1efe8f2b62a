// Package config reads the runner's TOML configuration and checks it
// strictly, before anything starts: unknown keys, wrong types and
// impossible values (a priority outside 1–99, a CPU that is not online,
// a period under 10 µs, two tasks sharing a CPU with a busy wake …) are
// all reported at once, each as "file:line: key: problem (what is
// allowed)".
//
// The machine matters to the check, so the caller passes a SysInfo,
// normally read from sysfs:
//
//	sys, err := config.ReadSysInfo("/sys")
//	if err != nil {
//		return err
//	}
//	cfg, err := config.Load("configs/default.toml", sys)
//	if err != nil {
//		return err // one line per problem; errors.Is(err, config.ErrInvalid)
//	}
//	for _, w := range cfg.Warnings {
//		log.Print(w)
//	}
//	for _, t := range cfg.Tasks {
//		fmt.Println(t.Name, t.Period, t.CPU, t.Workload)
//	}
//
// Parse only reads; it changes nothing on the machine.
package config
