package main

import (
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/rtcell/rtcell/sysprep"
)

type applyFlags struct {
	persist, dryRun, bootloader bool
	undo                        string
	rootArgs                    []string
}

// apply plans the run-time fixes for rep, prints them (--dry-run) or
// makes them behind an undo journal, and re-runs the checks.
func apply(env sysprep.Env, before sysprep.Report, o sysprep.Options, f applyFlags, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "sysprep apply: "+format+"\n", a...)
		return exitCannotRun
	}
	plan, err := sysprep.PlanApply(env, before, o, sysprep.ApplyOptions{Persist: f.persist})
	if err != nil {
		return fail("%v", err)
	}
	if f.dryRun {
		if err := plan.WriteDryRun(stdout); err != nil {
			return fail("%v", err)
		}
		return before.ExitCode()
	}
	if f.bootloader && !f.persist {
		return fail("flag -bootloader: it runs the boot loader after the --persist drop-in; add --persist")
	}
	if len(plan.Changes) == 0 {
		fmt.Fprintf(stdout, "sysprep apply: nothing to change at run time (%d refused)\n", len(plan.Refused))
		for _, r := range plan.Refused {
			fmt.Fprintf(stdout, "  refused %s: %s   (%s)\n", r.Path, r.Reason, r.Check)
		}
		return before.ExitCode()
	}
	journal := f.undo
	if journal == "" {
		journal = sysprep.DefaultJournalPath(now())
	}
	j, err := sysprep.Apply(env, plan, journal, now())
	if err != nil {
		return fail("%v", err)
	}
	var b strings.Builder
	applied := 0
	for _, c := range j.Changes {
		if c.Applied {
			applied++
		}
	}
	fmt.Fprintf(&b, "sysprep apply: %d of %d changes made; undo journal %s\n", applied, len(j.Changes), journal)
	dropIn := false
	for _, c := range j.Changes {
		if c.Applied {
			fmt.Fprintf(&b, "  %s: %s → %s   (%s)\n", c.Path, sysprep.ShowValue(c.Old, c.Existed), sysprep.ShowValue(c.New, true), c.Check)
			if c.Check == "kernel_cmdline" {
				dropIn = true
			}
		} else {
			fmt.Fprintf(&b, "  FAILED %s: %s   (%s)\n", c.Path, c.Error, c.Check)
		}
	}
	for _, r := range plan.Refused {
		fmt.Fprintf(&b, "  refused %s: %s   (%s)\n", r.Path, r.Reason, r.Check)
	}
	if dropIn && len(plan.BootloaderCmd) > 0 {
		cmdline := strings.Join(plan.BootloaderCmd, " ")
		switch {
		case !f.bootloader:
			fmt.Fprintf(&b, "  the kernel command line takes effect after: %s, and a reboot (or rerun with --bootloader)\n", cmdline)
		case filepath.Clean(env.EtcRoot) != "/etc":
			fmt.Fprintf(&b, "  --bootloader: not running %s, the etc root is %s, not the live /etc\n", cmdline, env.EtcRoot)
		default:
			cmd := exec.Command(plan.BootloaderCmd[0], plan.BootloaderCmd[1:]...)
			cmd.Stdout, cmd.Stderr = stderr, stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(&b, "  FAILED %s: %v\n", cmdline, err)
			} else {
				fmt.Fprintf(&b, "  ran %s; the new kernel command line takes effect at the next reboot (sysprep does not reboot)\n", cmdline)
			}
		}
	}
	after, err := sysprep.Run(env, o)
	if err != nil {
		return fail("re-running the checks: %v", err)
	}
	b.WriteString("checks after apply:\n")
	prev := map[string]sysprep.Status{}
	for _, c := range before.Checks {
		prev[c.ID] = c.Status
	}
	changed := 0
	for _, c := range after.Checks {
		if p := prev[c.ID]; p != c.Status {
			fmt.Fprintf(&b, "  %s: %s → %s\n", c.ID, p, c.Status)
			changed++
		}
	}
	if changed == 0 {
		b.WriteString("  no check changed status\n")
	}
	s := after.Summary
	fmt.Fprintf(&b, "%d pass, %d warn, %d fail, %d skip\n", s.Pass, s.Warn, s.Fail, s.Skip)
	undoCmd := append([]string{"sysprep", "rollback"}, f.rootArgs...)
	undoCmd = append(undoCmd, journal)
	for i, a := range undoCmd {
		undoCmd[i] = sysprep.ShellQuote(a)
	}
	fmt.Fprintf(&b, "undo with: %s\n", strings.Join(undoCmd, " "))
	if _, err := io.WriteString(stdout, b.String()); err != nil {
		return fail("%v", err)
	}
	return after.ExitCode()
}

// rollback restores what the journal at path recorded.
func rollback(env sysprep.Env, path string, stdout, stderr io.Writer) int {
	j, err := sysprep.ReadJournal(path)
	if err != nil {
		fmt.Fprintf(stderr, "sysprep rollback: %v\n", err)
		return exitCannotRun
	}
	restored, failed := sysprep.Rollback(env, j)
	var b strings.Builder
	fmt.Fprintf(&b, "sysprep rollback: %d restored, %d failed, from %s\n", len(restored), len(failed), path)
	dropIn := false
	for _, c := range restored {
		if c.Root == sysprep.RootEtc && !c.Existed {
			fmt.Fprintf(&b, "  %s: removed (it did not exist before)   (%s)\n", c.Path, c.Check)
		} else {
			fmt.Fprintf(&b, "  %s: %s → %s   (%s)\n", c.Path, sysprep.ShowValue(c.New, true), sysprep.ShowValue(c.Old, c.Existed), c.Check)
		}
		if c.Check == "kernel_cmdline" {
			dropIn = true
		}
	}
	for _, c := range failed {
		fmt.Fprintf(&b, "  FAILED %s: %s   (%s)\n", c.Path, c.Error, c.Check)
	}
	if dropIn {
		b.WriteString("  the boot loader drop-in is restored: run update-grub (or kernel-install) again before the next reboot\n")
	}
	if _, err := io.WriteString(stdout, b.String()); err != nil {
		fmt.Fprintf(stderr, "sysprep rollback: %v\n", err)
		return exitCannotRun
	}
	if len(failed) > 0 {
		return exitCannotRun
	}
	return 0
}
