// Command runner runs rtcell's real-time tasks from a TOML config, each
// in a worker process of its own, and cross-checks rtcell against
// cyclictest.
//
//	runner run CONFIG [--duration D] [--cycles N] [--json F] [--histfile F] [--svg F] [--quiet] [--allow-non-rt] [--share-cpus] [--trace-threshold D]
//	runner compare [--cpu N] [--priority P] [--interval D] [--loops N] [--rounds R] [--wake sleep|hybrid] [--load stress-ng|hackbench|both] [--json F] [--out DIR] [--share-cpus]
//	runner report RUN.json… [-o report.html] [--sysprep F] [--baseline F] [--tolerance PCT] [--json] [--metrics-textfile F.prom]
//	runner version | --version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/rtcell/rtcell/rt"
	"github.com/rtcell/rtcell/rt/buildinfo"
	"github.com/rtcell/rtcell/runner"
	"github.com/rtcell/rtcell/runner/config"
)

const usage = `usage:
  runner run CONFIG [--duration D] [--cycles N] [--json F] [--histfile F] [--svg F] [--quiet] [--allow-non-rt] [--share-cpus] [--trace-threshold D]
  runner compare [--cpu N] [--priority P] [--interval D] [--loops N] [--rounds R] [--wake sleep|hybrid] [--load stress-ng|hackbench|both] [--json F] [--out DIR] [--share-cpus]
  runner report RUN.json… [-o report.html] [--sysprep F] [--baseline F] [--tolerance PCT] [--json] [--metrics-textfile F.prom]
  runner version | --version
`

// main runs the command. The tasks' worker processes are this binary,
// re-executed with the same arguments: they parse them the same way and
// run their loop when they reach runner.Run or runner.Compare.
func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return runner.ExitConfig
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "run":
		return cmdRun(ctx, args[1:], stdout, stderr)
	case "compare":
		return cmdCompare(ctx, args[1:], stdout, stderr)
	case "report":
		return cmdReport(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, version())
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "runner: unknown command %q\n%s", args[0], usage)
	return runner.ExitConfig
}

// parseInterleaved parses flags that may come before or after the
// positional arguments, and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("runner run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o runner.Options
	cycles := fs.Uint64("cycles", 0, "run every task for `N` cycles (overrides the config)")
	fs.DurationVar(&o.Duration, "duration", 0, "run for `D`, e.g. 30s (overrides the config)")
	fs.StringVar(&o.JSON, "json", "", "write the JSON report to `F`")
	fs.StringVar(&o.Histfile, "histfile", "", "write the cyclictest-format histogram to `F`")
	fs.StringVar(&o.SVG, "svg", "", "write the SVG plot to `F`")
	fs.BoolVar(&o.Quiet, "quiet", false, "no live status lines")
	fs.BoolVar(&o.AllowNonRT, "allow-non-rt", false, "without SCHED_FIFO permission, run at SCHED_OTHER, marked NOT REAL-TIME")
	fs.BoolVar(&o.ShareCPUs, "share-cpus", false, "run although another rtcell process measures on one of the tasks' CPUs")
	fs.DurationVar(&o.TraceThreshold, "trace-threshold", 0, "freeze an ftrace trace at the first cycle whose wake latency exceeds `D` (e.g. 150us) and say why it was late; needs root (overrides [trace] threshold)")
	fs.StringVar(&o.ProcRoot, "proc-root", runner.DefaultProcRoot, "`DIR` of procfs, for preflight and the memory check")
	fs.StringVar(&o.SysRoot, "sys-root", runner.DefaultSysRoot, "`DIR` of sysfs, for preflight and CPU checks")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return runner.ExitConfig
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "runner run: want one CONFIG file, got %d arguments\n%s", len(pos), usage)
		return runner.ExitConfig
	}
	if o.Duration < 0 {
		fmt.Fprintf(stderr, "runner run: --duration %v: want > 0\n", o.Duration)
		return runner.ExitConfig
	}
	o.Cycles = *cycles
	sys, err := config.ReadSysInfo(o.ProcRoot, o.SysRoot)
	if err != nil {
		fmt.Fprintf(stderr, "runner: %v\n", err)
		return runner.ExitConfig
	}
	cfg, err := config.Load(pos[0], sys)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return runner.ExitConfig
	}
	o.Config, o.Stdout, o.Stderr = cfg, stdout, stderr
	code, _, err := runner.Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "runner: %v\n", err)
	}
	return code
}

// errFlags marks an error the flag package has already reported.
var errFlags = errors.New("bad flags")

// parseCompare parses compare's flags. A flag given as 0 is an error
// that names it: 0 is no loop count, round count, period or priority,
// and taking it for "the default" would measure something else than
// asked.
func parseCompare(args []string, stdout, stderr io.Writer) (runner.CompareOptions, string, error) {
	fs := flag.NewFlagSet("runner compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := runner.CompareOptions{Stdout: stdout}
	fs.IntVar(&o.CPU, "cpu", runtime.NumCPU()-1, "CPU `N` both run on; it must be online")
	fs.IntVar(&o.Priority, "priority", 90, "SCHED_FIFO priority `P`, 1–99")
	fs.DurationVar(&o.Interval, "interval", time.Millisecond, "period `D`, at least 10µs")
	fs.IntVar(&o.Loops, "loops", 5000, "cycles `N` per run, at least 1")
	fs.IntVar(&o.Rounds, "rounds", 3, "A B rounds `R`, at least 1")
	wake := fs.String("wake", "sleep", "rtcell wake strategy: sleep or hybrid")
	jsonPath := fs.String("json", "", "write the comparison as JSON to `F`")
	fs.StringVar(&o.Out, "out", "", "keep the evidence in `DIR`: each round's cyclictest JSON and histogram, rtcell's results, compare.json and compare.svg")
	fs.BoolVar(&o.ShareCPU, "share-cpus", false, "compare although another rtcell process measures on the CPU")
	fs.StringVar(&o.Load, "load", "", "run every round under `LOAD` on the other CPUs: stress-ng, hackbench or both")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return o, "", fmt.Errorf("%w: %w", errFlags, err) // the flag package has said so
	}
	if len(pos) != 0 {
		return o, "", fmt.Errorf("unexpected argument %q", pos[0])
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, z := range []struct {
		name string
		zero bool
		want string
	}{
		{"loops", o.Loops == 0, "at least 1"},
		{"rounds", o.Rounds == 0, "at least 1"},
		{"interval", o.Interval == 0, "a period of at least 10µs, e.g. 1ms"},
		{"priority", o.Priority == 0, "1–99"},
	} {
		if set[z.name] && z.zero {
			return o, "", fmt.Errorf("--%s 0: want %s", z.name, z.want)
		}
	}
	if set["out"] && o.Out == "" {
		return o, "", errors.New("--out: want a directory")
	}
	o.Wake = rt.Wake(*wake)
	return o, *jsonPath, nil
}

func cmdCompare(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, jsonPath, err := parseCompare(args, stdout, stderr)
	if err != nil {
		if !errors.Is(err, errFlags) {
			fmt.Fprintf(stderr, "runner compare: %v\n", err)
		}
		return runner.ExitConfig
	}
	c, err := runner.Compare(ctx, o)
	if err != nil && c == nil {
		fmt.Fprintf(stderr, "runner compare: %v\n", err)
		if errors.Is(err, context.Canceled) {
			return runner.ExitWorkerFailed
		}
		return runner.ExitConfig
	}
	c.WriteText(stdout)
	if err != nil {
		fmt.Fprintf(stderr, "runner compare: %v\n", err)
		return runner.ExitOutput
	}
	if jsonPath != "" {
		if err := c.WriteJSONFile(jsonPath); err != nil {
			fmt.Fprintf(stderr, "runner compare: %v\n", err)
			return runner.ExitWorkerFailed
		}
	}
	if o.Out != "" {
		fmt.Fprintf(stdout, "evidence kept in %s (%s, %s, round-N-*)\n", o.Out, runner.CompareJSONFile, runner.CompareSVGFile)
	}
	if !c.Pass {
		return runner.ExitViolations
	}
	return runner.ExitOK
}

func version() string {
	return fmt.Sprintf("runner %s %s/%s", buildinfo.String(), runtime.GOOS, runtime.GOARCH)
}
