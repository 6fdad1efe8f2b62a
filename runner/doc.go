// Package runner is rtcell's config-driven front end: it loads a TOML
// config (runner/config), runs the sysprep checklist as preflight, and
// runs the config's tasks as an rt.Program: one RT worker process per
// task, a status line per task each second and the metrics on the non-RT
// side, rt's watchdog, and the run report (runner/report) written
// atomically, also when stopped by a signal. Compare cross-checks an
// rtcell loop against rt-tests' cyclictest.
//
// The worker processes are the calling binary re-executed with the same
// arguments. They must reach Run (or Compare) with the same config, where
// they run their task's loop and exit; nothing before that may have side
// effects that must happen once:
//
//	func main() {
//		cfg, err := config.Load("configs/default.toml", sys)
//		...
//		code, _, err := runner.Run(ctx, runner.Options{Config: cfg})
//		os.Exit(code)
//	}
//
// Exit codes are rt's: rt.ExitOK, rt.ExitViolations, rt.ExitConfig,
// rt.ExitFailed, rt.ExitOutput.
package runner
