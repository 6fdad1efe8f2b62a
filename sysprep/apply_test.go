package sysprep

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// copyTree copies testdata/<name> to a temporary directory and returns
// its Env and root.
func copyTree(t *testing.T, name string) (Env, string) {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command("cp", "-a", filepath.Join("testdata", name), dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v\n%s", err, out)
	}
	env, err := NewEnv(filepath.Join(dst, "proc"), filepath.Join(dst, "sys"))
	if err != nil {
		t.Fatal(err)
	}
	return env, dst
}

// sameTree reports the first difference between two trees: a path only
// in one, a different type or different content.
func sameTree(t *testing.T, a, b string) {
	t.Helper()
	if out, err := exec.Command("diff", "-r", a, b).CombinedOutput(); err != nil {
		t.Errorf("diff -r %s %s: %v\n%s", a, b, err, out)
	}
	walk := func(root string) map[string]string {
		m := map[string]string{}
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			switch {
			case d.IsDir():
				m[rel] = "dir"
			case d.Type()&fs.ModeSymlink != 0:
				l, _ := os.Readlink(p)
				m[rel] = "link:" + l
			default:
				b, _ := os.ReadFile(p)
				st, _ := d.Info()
				m[rel] = st.Mode().String() + ":" + string(b)
			}
			return nil
		})
		return m
	}
	ma, mb := walk(a), walk(b)
	for k, v := range ma {
		if w, ok := mb[k]; !ok {
			t.Errorf("%s: only in %s", k, a)
		} else if v != w {
			t.Errorf("%s differs (mode or content)", k)
		}
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			t.Errorf("%s: only in %s", k, b)
		}
	}
}

func statusOf(rep Report) map[string]Status {
	m := map[string]Status{}
	for _, c := range rep.Checks {
		m[c.ID] = c.Status
	}
	return m
}

// TestApplyRecheckRollback applies every run-time fix (and the --persist
// files) to writable copies of the fixture trees: the checks whose state
// apply writes turn to pass, and after rollback the tree is
// byte-identical to the original.
func TestApplyRecheckRollback(t *testing.T) {
	fixed := []string{"sched.rt_runtime", "sched.timer_migration", "irq.default_affinity", "workqueue.cpumask",
		"kernel.nmi_watchdog", "kernel.softlockup", "sched.numa_balancing", "mem.ksm", "vm.stat_interval", "cpu.boost", "cpu.idle", "kernel.rcu_normal"}
	for _, tc := range []struct {
		tree, loader, dropIn string
	}{
		{"synth-untuned", "systemd-boot", "kernel/cmdline"},
		{"synth-noiso", "grub", "default/grub.d/rtcell.cfg"},
		{"synth-throttle", "grub", ""},
		{"host-vm", "none", ""},
	} {
		t.Run(tc.tree, func(t *testing.T) {
			env, dir := copyTree(t, tc.tree)
			before, err := Run(env, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if before.KernelCmdline == nil || before.KernelCmdline.Bootloader != tc.loader {
				t.Fatalf("boot loader %+v, want %s", before.KernelCmdline, tc.loader)
			}
			plan, err := PlanApply(env, before, Options{}, ApplyOptions{Persist: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Changes) == 0 {
				t.Fatal("nothing planned")
			}
			journal := filepath.Join(t.TempDir(), "undo.json")
			j, err := Apply(env, plan, journal, time.Unix(1740821400, 0))
			if err != nil {
				t.Fatal(err)
			}
			hasDropIn := false
			for _, c := range j.Changes {
				if !c.Applied || c.Error != "" {
					t.Errorf("%s: not applied: %s", c.Path, c.Error)
				}
				if c.Root == RootEtc && c.Rel == tc.dropIn {
					hasDropIn = true
					if !strings.Contains(c.New, "isolcpus=") && !strings.Contains(c.New, "skew_tick=1") {
						t.Errorf("drop-in %s has no proposed parameter: %q", c.Rel, c.New)
					}
				}
			}
			if tc.dropIn != "" && !hasDropIn {
				t.Errorf("no boot loader drop-in %s written", tc.dropIn)
			}
			after, err := Run(env, Options{})
			if err != nil {
				t.Fatal(err)
			}
			b, a := statusOf(before), statusOf(after)
			turned := 0
			for _, id := range fixed {
				if b[id] == Warn || b[id] == Fail {
					if a[id] != Pass {
						t.Errorf("%s: %s → %s after apply, want pass", id, b[id], a[id])
					}
					turned++
				}
			}
			if turned == 0 && tc.tree != "host-vm" {
				t.Errorf("no check for apply to fix in %s", tc.tree)
			}
			// The journal on disk is the one returned.
			jj, err := ReadJournal(journal)
			if err != nil || len(jj.Changes) != len(j.Changes) {
				t.Fatalf("journal: %v, %d changes", err, len(jj.Changes))
			}
			restored, failed := Rollback(env, jj)
			if len(failed) > 0 || len(restored) != len(j.Changes) {
				t.Errorf("rollback: %d restored, %d failed: %+v", len(restored), len(failed), failed)
			}
			sameTree(t, dir, filepath.Join("testdata", tc.tree))
		})
	}
}

// TestApplyContinuesPastFailure: a change whose file turned into a FIFO
// after planning fails with its reason, the others are made, and
// rollback restores those and leaves the failed one alone.
func TestApplyContinuesPastFailure(t *testing.T) {
	env, dir := copyTree(t, "synth-untuned")
	before, _ := Run(env, Options{})
	plan, err := PlanApply(env, before, Options{}, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "proc", "sys", "kernel", "timer_migration")
	os.Remove(bad)
	if err := syscall.Mkfifo(bad, 0o644); err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(t.TempDir(), "undo.json")
	done := make(chan Journal, 1)
	go func() {
		j, _ := Apply(env, plan, journal, time.Now())
		done <- j
	}()
	var j Journal
	select {
	case j = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("apply blocked on a FIFO")
	}
	ok, failed := 0, 0
	for _, c := range j.Changes {
		switch {
		case c.Rel == "sys/kernel/timer_migration":
			failed++
			if c.Applied || !strings.Contains(c.Error, "/proc/sys/kernel/timer_migration") {
				t.Errorf("FIFO change: applied %v, error %q", c.Applied, c.Error)
			}
		case c.Applied:
			ok++
		}
	}
	if failed != 1 || ok != len(j.Changes)-1 {
		t.Errorf("%d failed, %d applied of %d", failed, ok, len(j.Changes))
	}
	restored, rfailed := Rollback(env, j)
	if len(rfailed) != 0 || len(restored) != ok {
		t.Errorf("rollback restored %d, failed %d; want %d, 0", len(restored), len(rfailed), ok)
	}
}

// TestApplyJournalFirst: when the journal cannot be written, nothing is
// changed.
func TestApplyJournalFirst(t *testing.T) {
	env, dir := copyTree(t, "synth-throttle")
	before, _ := Run(env, Options{})
	plan, err := PlanApply(env, before, Options{}, ApplyOptions{Persist: true})
	if err != nil || len(plan.Changes) == 0 {
		t.Fatalf("plan: %v, %d changes", err, len(plan.Changes))
	}
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o644)
	if _, err := Apply(env, plan, filepath.Join(blocker, "undo.json"), time.Now()); err == nil {
		t.Fatal("apply went on without a journal")
	}
	sameTree(t, dir, filepath.Join("testdata", "synth-throttle"))
}

func TestReadJournalRejects(t *testing.T) {
	dir := t.TempDir()
	for name, j := range map[string]Journal{
		"escape": {Schema: JournalSchema, Changes: []Change{{Root: RootEtc, Rel: "../../etc/passwd"}}},
		"root":   {Schema: JournalSchema, Changes: []Change{{Root: "home", Rel: "x"}}},
		"schema": {Schema: "other/v9"},
	} {
		p := filepath.Join(dir, name+".json")
		b, _ := json.Marshal(j)
		os.WriteFile(p, b, 0o600)
		if _, err := ReadJournal(p); err == nil {
			t.Errorf("%s: journal accepted", name)
		}
	}
}

// TestCommandApplyRollback drives the built command: --dry-run changes
// nothing, apply prints before → after and the rollback line, rollback
// restores the tree byte for byte.
func TestCommandApplyRollback(t *testing.T) {
	bin := buildCommand(t)
	_, dir := copyTree(t, "synth-untuned")
	roots := []string{"--proc-root", filepath.Join(dir, "proc"), "--sys-root", filepath.Join(dir, "sys")}
	out, errOut, code := runCommand(t, bin, nil, append([]string{"apply", "--persist", "--dry-run"}, roots...)...)
	if code != 2 || !strings.Contains(out, "/proc/sys/kernel/sched_rt_runtime_us: 950000 → -1") || !strings.Contains(out, "/etc/kernel/cmdline: ") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	sameTree(t, dir, filepath.Join("testdata", "synth-untuned"))
	journal := filepath.Join(t.TempDir(), "undo.json")
	out, errOut, code = runCommand(t, bin, nil, append([]string{"apply", "--persist", "--undo", journal}, roots...)...)
	if code != 2 || !strings.Contains(out, "sched.rt_runtime: warn → pass") || !strings.Contains(out, "undo with: sysprep rollback --proc-root") {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	if st, err := os.Stat(journal); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("journal %v, %v: want mode 0600", st, err)
	}
	out, errOut, code = runCommand(t, bin, nil, append(append([]string{"rollback"}, roots...), journal)...)
	if code != 0 || !strings.Contains(out, "/proc/sys/kernel/sched_rt_runtime_us: -1 → 950000") {
		t.Fatalf("rollback: exit %d\n%s%s", code, out, errOut)
	}
	sameTree(t, dir, filepath.Join("testdata", "synth-untuned"))
	_, errOut, code = runCommand(t, bin, nil, append([]string{"rollback"}, roots...)...)
	if code != 3 || !strings.Contains(errOut, "FILE") {
		t.Errorf("rollback without a journal: exit %d, %q", code, errOut)
	}
	if _, errOut, code := runCommand(t, bin, nil, append([]string{"apply", "--bootloader"}, roots...)...); code != 3 || !bytes.Contains([]byte(errOut), []byte("--persist")) {
		t.Errorf("--bootloader without --persist: exit %d, %q", code, errOut)
	}
	// --bootloader never runs the boot loader's tools for a tree that is
	// not the live /etc.
	journal2 := filepath.Join(t.TempDir(), "undo2.json")
	out, errOut, code = runCommand(t, bin, nil, append([]string{"apply", "--persist", "--bootloader", "--undo", journal2}, roots...)...)
	if code == 3 || !strings.Contains(out, "--bootloader: not running kernel-install") {
		t.Errorf("--bootloader on a fixture: exit %d\n%s%s", code, out, errOut)
	}
	if _, _, code := runCommand(t, bin, nil, append(append([]string{"rollback"}, roots...), journal2)...); code != 0 {
		t.Errorf("rollback after --bootloader: exit %d", code)
	}
	sameTree(t, dir, filepath.Join("testdata", "synth-untuned"))
}

// TestApplySlices: with systemd (a stand-in here: no systemd runs on the
// build box), apply sets AllowedCPUs= of the slices to the housekeeping
// CPUs and rollback sets back what systemctl showed before; on a fixture
// tree it refuses and says why.
func TestApplySlices(t *testing.T) {
	env, _ := copyTree(t, "synth-noiso")
	rep, _ := Run(env, Options{})
	plan, err := PlanApply(env, rep, Options{}, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	refused := false
	for _, r := range plan.Refused {
		if r.Check == "threads.rt_cpus" && strings.Contains(r.Reason, "live box only") {
			refused = true
		}
	}
	if !refused {
		t.Errorf("fixture tree: no refusal for the slices: %+v", plan.Refused)
	}

	var calls []string
	props := map[string]string{"system.slice": "", "user.slice": "0-1", "init.scope": ""}
	oldCtl, oldRef := systemctl, slicesRefusal
	t.Cleanup(func() { systemctl, slicesRefusal = oldCtl, oldRef })
	slicesRefusal = func(Env) string { return "" }
	systemctl = func(args ...string) (string, error) {
		calls = append(calls, strings.Join(args, " "))
		switch args[0] {
		case "show":
			return props[args[len(args)-1]] + "\n", nil
		case "set-property":
			props[args[2]] = strings.TrimPrefix(args[3], "AllowedCPUs=")
		}
		return "", nil
	}
	plan, err = PlanApply(env, rep, Options{}, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	j, err := Apply(env, plan, filepath.Join(t.TempDir(), "undo.json"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if props["system.slice"] != "0-2" || props["user.slice"] != "0-2" || props["init.scope"] != "0-2" {
		t.Errorf("after apply: %v, want AllowedCPUs=0-2 on every unit", props)
	}
	restored, failed := Rollback(env, j)
	if len(failed) > 0 || len(restored) != len(j.Changes) {
		t.Errorf("rollback: %d restored, %d failed", len(restored), len(failed))
	}
	if props["system.slice"] != "" || props["user.slice"] != "0-1" || props["init.scope"] != "" {
		t.Errorf("after rollback: %v, want the values systemctl showed before", props)
	}
	if !slices.Contains(calls, "set-property --runtime user.slice AllowedCPUs=0-1") {
		t.Errorf("systemctl calls %q", calls)
	}
}
