// Package runner is rtcell's config-driven front end: it loads a TOML
// config (runner/config), runs the sysprep checklist as preflight, starts
// one RT worker process per task through rt.StartWorker, prints a live
// status line per task each second, watches the workers, and writes the
// run report (runner/report) atomically, also when stopped by a signal.
// Compare cross-checks an rtcell loop against rt-tests' cyclictest.
//
// The binary that uses it must call rt.ServeWorker(runner.Roles) first
// thing in main, so that its worker processes run the task loops:
//
//	func main() {
//		rt.ServeWorker(runner.Roles)
//		cfg, err := config.Load("configs/default.toml", sys)
//		...
//		code, _, err := runner.Run(ctx, runner.Options{Config: cfg})
//	}
package runner
