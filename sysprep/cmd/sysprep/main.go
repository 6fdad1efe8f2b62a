// Command sysprep is the commissioning checklist for a real-time box: it
// checks that a PREEMPT_RT machine is set up for real time, explains each
// finding and prints the exact fix.
//
//	sysprep [--rt-cpus 1-3] [--priority 80] [--allow-irq eth1]... [--binary bin/runner]
//	        [--json | --format table|json|markdown] [--check ID]... [--list]
//	        [--config runner.toml] [--proc-root DIR --sys-root DIR]
//
// Exit status: 0 all checks pass, 1 warnings and no failure, 2 any
// failure, 3 sysprep could not run (bad flag, unreadable root).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rtcell/rtcell/rt/buildinfo"
	"github.com/rtcell/rtcell/sysprep"
)

const exitCannotRun = 3

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type cpuListFlag struct {
	cpus []int
	set  bool
}

func (c *cpuListFlag) String() string { return sysprep.FormatCPUList(c.cpus) }
func (c *cpuListFlag) Set(v string) error {
	cpus, err := sysprep.ParseCPUList(v)
	if err != nil {
		return err
	}
	if len(cpus) == 0 {
		return errors.New("empty cpu list")
	}
	c.cpus, c.set = cpus, true
	return nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sysprep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		rtCPUs   cpuListFlag
		allow    listFlag
		checks   listFlag
		priority = fs.Int("priority", 0, "planned SCHED_FIFO `priority` of the RT tasks, 1..99 (default 80, or the highest in --config)")
		config   = fs.String("config", "", "runner config `FILE`: take the RT CPUs and priority from its [[task]] tables")
		procRoot = fs.String("proc-root", sysprep.DefaultProcRoot, "read procfs from `DIR` (a fixture tree)")
		sysRoot  = fs.String("sys-root", sysprep.DefaultSysRoot, "read sysfs from `DIR` (a fixture tree)")
		binary   = fs.String("binary", "", "also check the file capabilities of `PATH`, e.g. bin/runner")
		asJSON   = fs.Bool("json", false, "print the report as JSON (same as --format json)")
		format   = fs.String("format", "table", "output `format`: table, json or markdown")
		list     = fs.Bool("list", false, "list the checks and exit")
		version  = fs.Bool("version", false, "print the version (module version and VCS revision) and exit")
	)
	fs.Var(&rtCPUs, "rt-cpus", "CPUs for real-time tasks, kernel cpulist `LIST` such as 1-3,6 (default: the isolated CPUs, else the last CPU)")
	fs.Var(&allow, "allow-irq", "IRQ `NAME|NUMBER` meant to sit on an RT CPU (repeatable; globs match action names)")
	fs.Var(&checks, "check", "run only check `ID` (repeatable; see --list)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: sysprep [flags]\n\nChecks that this box is set up for real time and prints the fix for each finding.\nExit status: 0 pass, 1 warnings, 2 failures, 3 could not run.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitCannotRun // flag already printed the message naming the flag
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sysprep: unexpected argument %q: flags only (see --help)\n", fs.Arg(0))
		return exitCannotRun
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "sysprep: "+format+"\n", a...)
		return exitCannotRun
	}
	if *version {
		fmt.Fprintf(stdout, "sysprep %s\n", buildinfo.String())
		return 0
	}
	if *list {
		for _, c := range sysprep.Checks() {
			fmt.Fprintf(stdout, "%-22s %s\n", c.ID(), c.Title())
		}
		return 0
	}
	if *asJSON {
		*format = "json"
	}
	switch *format {
	case "table", "json", "markdown":
	default:
		return fail("invalid value %q for flag -format: want table, json or markdown", *format)
	}
	if *priority != 0 && (*priority < 1 || *priority > 99) {
		return fail("invalid value %d for flag -priority: SCHED_FIFO priorities are 1..99", *priority)
	}
	o := sysprep.Options{
		RTCPUs:    rtCPUs.cpus,
		Priority:  *priority,
		AllowIRQs: allow,
		Binary:    *binary,
		Checks:    checks,
		Now:       now(),
		Command:   commandLine("sysprep", args),
	}
	if *config != "" {
		cpus, prio, err := sysprep.LoadRunnerConfig(*config)
		if err != nil {
			return fail("flag -config: %v", err)
		}
		if !rtCPUs.set {
			o.RTCPUs = cpus
		}
		if *priority == 0 {
			o.Priority = prio
		}
	}
	if o.Binary != "" {
		if _, err := os.Stat(o.Binary); err != nil {
			return fail("flag -binary: %v", err)
		}
	}
	env, err := sysprep.NewEnv(*procRoot, *sysRoot)
	if err != nil {
		return fail("flag -proc-root/-sys-root: %v", err)
	}
	rep, err := sysprep.Run(env, o)
	if err != nil {
		switch {
		case errors.Is(err, sysprep.ErrUnknownCheck):
			return fail("flag -check: %v", err)
		case errors.Is(err, sysprep.ErrBadOption) && strings.Contains(err.Error(), "rt cpu"):
			return fail("flag -rt-cpus: %v", err)
		case errors.Is(err, sysprep.ErrBadOption) && strings.Contains(err.Error(), "priority"):
			return fail("flag -priority: %v", err)
		}
		return fail("%v", err)
	}
	switch *format {
	case "json":
		// JSON has no place for notes about the run: warn on stderr.
		for _, n := range rep.Notes {
			fmt.Fprintf(stderr, "sysprep: warning: %s\n", n)
		}
		err = rep.WriteJSON(stdout)
	case "markdown":
		err = rep.WriteMarkdown(stdout)
	default:
		err = rep.WriteTable(stdout, colour(stdout))
	}
	if err != nil {
		return fail("%v", err)
	}
	return rep.ExitCode()
}

// now is the report's date: SOURCE_DATE_EPOCH when set (reproducible
// checklists), else the current time.
func now() time.Time {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if v, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(v, 0).UTC()
		}
	}
	return time.Now()
}

// colour reports whether w is a terminal and NO_COLOR is unset.
func colour(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// commandLine is the shell-quoted command line, for the report.
func commandLine(name string, args []string) string {
	q := []string{name}
	for _, a := range args {
		q = append(q, sysprep.ShellQuote(a))
	}
	return strings.Join(q, " ")
}
