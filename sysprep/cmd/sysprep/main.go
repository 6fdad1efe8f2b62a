// Command sysprep is the commissioning checklist for a real-time box: it
// checks that a PREEMPT_RT machine is set up for real time, explains each
// finding and prints the exact fix.
//
//	sysprep [--rt-cpus 1-3] [--priority 80] [--allow-irq eth1]... [--binary bin/runner]
//	        [--json | --format table|json|markdown] [--check ID]... [--list] [--version]
//	        [--config runner.toml] [--proc-root DIR --sys-root DIR --etc-root DIR]
//	sysprep apply [same flags] [--persist] [--dry-run] [--undo FILE] [--bootloader]
//	sysprep rollback [--proc-root DIR --sys-root DIR --etc-root DIR] FILE
//
// Exit status: 0 all checks pass, 1 warnings and no failure, 2 any
// failure (for apply: of the checks re-run after it), 3 sysprep could not
// run (bad flag, unreadable root, a rollback that could not restore).
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
	sub := ""
	if len(args) > 0 && (args[0] == "apply" || args[0] == "rollback") {
		sub, args = args[0], args[1:]
	}
	name := strings.TrimSpace("sysprep " + sub)
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	etcRoot := fs.String("etc-root", "", "read and write configuration under `DIR` (default /etc, or the etc beside --proc-root)")
	var persist, dryRun, bootloader *bool
	var undo *string
	if sub == "apply" {
		persist = fs.Bool("persist", false, "also write the files that keep the changes across reboots (sysctl.d, tmpfiles.d, the boot loader drop-in)")
		dryRun = fs.Bool("dry-run", false, "print each change as path: old → new and change nothing")
		undo = fs.String("undo", "", "write the undo journal to `FILE` (default "+sysprep.DefaultUndoDir+"/undo-TIMESTAMP.json)")
		bootloader = fs.Bool("bootloader", false, "with --persist, run update-grub or kernel-install after writing the kernel command line drop-in (never reboots)")
	}
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
		switch sub {
		case "apply":
			fmt.Fprintf(fs.Output(), "usage: sysprep apply [flags]\n\nApplies the fixes that are safe at run time (sysctls, IRQ affinity, workqueue mask, governor...),\nrecording the old values in an undo journal first, then re-runs the checks.\nExit status as for a check run; 3 could not run.\n\nFlags:\n")
		case "rollback":
			fmt.Fprintf(fs.Output(), "usage: sysprep rollback [--proc-root DIR --sys-root DIR --etc-root DIR] FILE\n\nRestores every value and file an apply changed, from its undo journal FILE.\nExit status: 0 all restored, 3 something could not be restored.\n\nFlags:\n")
		default:
			fmt.Fprintf(fs.Output(), "usage: sysprep [flags]\n       sysprep apply [flags]\n       sysprep rollback [flags] JOURNAL\n\nChecks that this box is set up for real time and prints the fix for each finding.\nExit status: 0 pass, 1 warnings, 2 failures, 3 could not run.\n\nFlags:\n")
		}
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitCannotRun // flag already printed the message naming the flag
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, name+": "+format+"\n", a...)
		return exitCannotRun
	}
	if sub == "rollback" {
		if fs.NArg() != 1 {
			return fail("want one undo journal FILE, got %d arguments (see --help)", fs.NArg())
		}
		env, err := newEnv(*procRoot, *sysRoot, *etcRoot)
		if err != nil {
			return fail("flag -proc-root/-sys-root/-etc-root: %v", err)
		}
		return rollback(env, fs.Arg(0), stdout, stderr)
	}
	if fs.NArg() > 0 {
		return fail("unexpected argument %q: flags only (see --help)", fs.Arg(0))
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
	env, err := newEnv(*procRoot, *sysRoot, *etcRoot)
	if err != nil {
		return fail("flag -proc-root/-sys-root/-etc-root: %v", err)
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
	if sub == "apply" {
		return apply(env, rep, o, applyFlags{persist: *persist, dryRun: *dryRun, bootloader: *bootloader, undo: *undo, rootArgs: rootArgs(fs)}, stdout, stderr)
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

// newEnv opens the roots; an empty etc root keeps NewEnv's default.
func newEnv(procRoot, sysRoot, etcRoot string) (sysprep.Env, error) {
	env, err := sysprep.NewEnv(procRoot, sysRoot)
	if err != nil {
		return env, err
	}
	if etcRoot != "" {
		st, err := os.Stat(etcRoot)
		if err != nil {
			return env, fmt.Errorf("opening root %s: %w: %w", etcRoot, sysprep.ErrRoot, err)
		}
		if !st.IsDir() {
			return env, fmt.Errorf("opening root %s: not a directory: %w", etcRoot, sysprep.ErrRoot)
		}
		env.EtcRoot = etcRoot
	}
	return env, nil
}

// rootArgs are the root flags given, for the rollback line apply prints.
func rootArgs(fs *flag.FlagSet) []string {
	var out []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "proc-root", "sys-root", "etc-root":
			out = append(out, "--"+f.Name, f.Value.String())
		}
	})
	return out
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
