package sysprep

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rtcell/rtcell/rt/rttest"
)

// allTrees lists the fixture trees under testdata.
func allTrees(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join("testdata", e.Name(), "proc")); err == nil {
			out = append(out, e.Name())
		}
	}
	if len(out) < 6 {
		t.Fatalf("only %d fixture trees: %v", len(out), out)
	}
	return out
}

// remedyCommands are the commands a remedy line may start with.
var remedyCommands = []string{"sysctl", "echo", "printf", "systemctl", "taskset", "chrt", "setcap", "apt-get", "dnf",
	"swapoff", "for", "pgrep", "install", "update-grub", "kernel-install"}

// bootCommands regenerate the boot loader or reboot: only the kernel
// command line step may run them.
var bootCommands = regexp.MustCompile(`(^|[;&|]\s*)(update-grub|grub-mkconfig|kernel-install|reboot|shutdown)\b`)

// everyRemedy runs every check on every fixture tree with several option
// sets and returns each remedy and kernel command line step, by origin.
func everyRemedy(t *testing.T) (checks, steps map[string]string) {
	checks, steps = map[string]string{}, map[string]string{}
	opts := []Options{{}, {Priority: 99}, {AllowIRQs: []string{"30", "ahci*"}}, {RTCPUs: []int{1}}}
	for _, tree := range allTrees(t) {
		env, err := NewEnv(filepath.Join("testdata", tree, "proc"), filepath.Join("testdata", tree, "sys"))
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range opts {
			rep, err := Run(env, o)
			if err != nil {
				continue // an option the tree cannot take (RT CPU 1 on a 2-CPU box is fine; others may not be)
			}
			for _, c := range rep.Checks {
				if c.Remedy != "" {
					checks[tree+"/"+c.ID+"/"+string(rune('a'+i))] = c.Remedy
				}
			}
			if k := rep.KernelCmdline; k != nil && k.Install != "" {
				steps[tree+"/"+string(rune('a'+i))] = k.Install
			}
		}
	}
	return checks, steps
}

// TestRemediesAreShell runs bash -n over every remedy sysprep emits on
// the fixture trees, and checks that each line is a known command or a
// comment and that no check's remedy reboots or regenerates the boot
// loader.
func TestRemediesAreShell(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	checks, steps := everyRemedy(t)
	if len(checks) < 40 || len(steps) < 3 {
		t.Fatalf("only %d remedies and %d kernel command line steps: the fixtures no longer cover the checks", len(checks), len(steps))
	}
	loaders := map[string]bool{}
	for _, s := range steps {
		switch {
		case strings.Contains(s, "update-grub"):
			loaders["grub"] = true
		case strings.Contains(s, "kernel-install"):
			loaders["systemd-boot"] = true
		default:
			loaders["none"] = true
		}
	}
	if len(loaders) != 3 {
		t.Errorf("kernel command line steps cover boot loaders %v, want grub, systemd-boot and none", loaders)
	}
	all := map[string]string{}
	for k, v := range checks {
		all["check "+k] = v
		if m := bootCommands.FindString(stripComments(v)); m != "" {
			t.Errorf("%s: a check's remedy runs %q:\n%s", k, m, v)
		}
	}
	for k, v := range steps {
		all["kernel command line "+k] = v
	}
	for origin, rem := range all {
		cmd := exec.Command(bash, "-n")
		cmd.Stdin = strings.NewReader(rem + "\n")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("%s: bash -n: %v: %s\n%s", origin, err, stderr.String(), rem)
		}
		for _, line := range strings.Split(rem, "\n") {
			line = strings.TrimSpace(line)
			if line == "" {
				t.Errorf("%s: empty remedy line:\n%s", origin, rem)
				continue
			}
			if strings.HasPrefix(line, "#") {
				continue
			}
			word := strings.Fields(line)[0]
			if !slices.Contains(remedyCommands, word) {
				t.Errorf("%s: line starts with %q, not a command a remedy may run: %q", origin, word, line)
			}
		}
	}
}

func stripComments(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if i := strings.Index(l, "#"); i >= 0 {
			l = l[:i]
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func TestMergeCmdline(t *testing.T) {
	tests := []struct {
		name                  string
		current, want         string
		proposed, add, remove string
	}{
		{"nothing wanted", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet", "",
			"BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet", "", ""},
		{"add to plain line", "root=/dev/sda1 ro quiet", "isolcpus=managed_irq,domain,1 nohz_full=1",
			"root=/dev/sda1 ro quiet isolcpus=managed_irq,domain,1 nohz_full=1", "isolcpus=managed_irq,domain,1 nohz_full=1", ""},
		{"already there", "ro nohz_full=1 skew_tick=1", "nohz_full=1 skew_tick=1", "ro nohz_full=1 skew_tick=1", "", ""},
		{"same cpus other spelling", "ro nohz_full=1-2 irqaffinity=0,3", "nohz_full=1,2 irqaffinity=0,3", "ro nohz_full=1-2 irqaffinity=0,3", "", ""},
		{"conflict replaced", "ro isolcpus=1 irqaffinity=0-3 quiet", "isolcpus=managed_irq,domain,1 irqaffinity=0",
			"ro quiet isolcpus=managed_irq,domain,1 irqaffinity=0", "isolcpus=managed_irq,domain,1 irqaffinity=0", "isolcpus=1 irqaffinity=0-3"},
		{"isolcpus flags in another order", "isolcpus=domain,managed_irq,1", "isolcpus=managed_irq,domain,1", "isolcpus=domain,managed_irq,1", "", ""},
		{"duplicates collapse", "ro irqaffinity=0 irqaffinity=0", "irqaffinity=0", "ro irqaffinity=0", "irqaffinity=0", "irqaffinity=0 irqaffinity=0"},
		{"wanted twice", "ro", "irqaffinity=0 irqaffinity=0 tsc=reliable", "ro irqaffinity=0 tsc=reliable", "irqaffinity=0 tsc=reliable", ""},
		{"dash and underscore", "ro skew-tick=1", "skew_tick=1", "ro skew-tick=1", "", ""},
		{"init arguments kept", "ro quiet -- single nohz_full=9", "nohz_full=1",
			"ro quiet nohz_full=1 -- single nohz_full=9", "nohz_full=1", ""},
		{"bare flag", "ro", "nosoftlockup", "ro nosoftlockup", "nosoftlockup", ""},
	}
	f := func(s string) []string { return strings.Fields(s) }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, a, r := mergeCmdline(f(tt.current), f(tt.want))
			if strings.Join(p, " ") != tt.proposed || strings.Join(a, " ") != tt.add || strings.Join(r, " ") != tt.remove {
				t.Errorf("merge(%q, %q) =\n proposed %q\n add %q\n remove %q\nwant\n proposed %q\n add %q\n remove %q",
					tt.current, tt.want, strings.Join(p, " "), strings.Join(a, " "), strings.Join(r, " "), tt.proposed, tt.add, tt.remove)
			}
			// No parameter twice among the kernel's.
			seen := map[string]bool{}
			for _, x := range p {
				if x == "--" {
					break
				}
				k, _, _ := strings.Cut(x, "=")
				if seen[normParam(k)] && slices.Contains(f(tt.want), x) {
					t.Errorf("%s twice in %q", k, p)
				}
				seen[normParam(k)] = true
			}
		})
	}
}

// TestKernelCmdlineFitsTheKernel: a 6.1 kernel gets no
// workqueue.unbound_cpus= (Linux 6.6), and the proposal keeps the
// unrelated parameters of /proc/cmdline.
func TestKernelCmdlineFitsTheKernel(t *testing.T) {
	env, dir := writeTreeNoIso(t)
	for _, f := range []string{"proc/sys/kernel/osrelease"} {
		os.WriteFile(filepath.Join(dir, f), []byte("6.1.0-37-rt-amd64\n"), 0o644)
	}
	os.Rename(filepath.Join(dir, "boot", "config-6.12.43+deb13-rt-amd64"), filepath.Join(dir, "boot", "config-6.1.0-37-rt-amd64"))
	rep, err := Run(env, Options{})
	if err != nil {
		t.Fatal(err)
	}
	k := rep.KernelCmdline
	if k == nil {
		t.Fatal("no kernel command line")
	}
	if strings.Contains(k.Proposed, "workqueue.unbound_cpus") {
		t.Errorf("6.1 kernel: proposed %q has workqueue.unbound_cpus", k.Proposed)
	}
	if r := result(t, rep, "workqueue.cpumask"); !strings.Contains(r.Remedy, "not proposed, this kernel lacks workqueue.unbound_cpus") {
		t.Errorf("workqueue.cpumask remedy does not say why the parameter is left out: %q", r.Remedy)
	}
	for _, keep := range []string{"root=/dev/sda1", "ro", "quiet"} {
		if !slices.Contains(strings.Fields(k.Proposed), keep) {
			t.Errorf("proposed %q lost %s", k.Proposed, keep)
		}
	}
}

func writeTreeNoIso(t *testing.T) (Env, string) {
	t.Helper()
	p := synthTrees["synth-noiso"]
	return writeTree(t, p)
}

// TestMarkdownTight renders the sheet with cmark-gfm (Debian's
// cmark-gfm package) and checks that the checklist is one tight list.
func TestMarkdownTight(t *testing.T) {
	cmark := rttest.RequireCommand(t, "cmark-gfm", "apt-get install -y cmark-gfm")
	for _, tree := range []string{"synth-untuned", "host-vm", "synth-irq-on-rt"} {
		rep := runFixture(t, tree, Options{})
		var md bytes.Buffer
		if err := rep.WriteMarkdown(&md); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(cmark, "-e", "tasklist", "-e", "table")
		cmd.Stdin = &md
		html, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		h := string(html)
		if strings.Contains(h, "<li>\n<p>") || strings.Contains(h, "<li><p>") {
			t.Errorf("%s: cmark-gfm renders a loose list (<li><p>)", tree)
		}
		applicable := 0
		for _, c := range rep.Checks {
			if c.Status != Skip {
				applicable++
			}
		}
		if n := strings.Count(h, `type="checkbox"`); n != applicable {
			t.Errorf("%s: %d checkboxes, want one per applicable check (%d)", tree, n, applicable)
		}
		if rep.Summary.Skip > 0 && !strings.Contains(h, "Not applicable here") {
			t.Errorf("%s: skipped checks are not listed apart", tree)
		}
	}
}

// TestKernelCmdlineTooLong: no proposal is merged into a /proc/cmdline
// longer than any kernel takes.
func TestKernelCmdlineTooLong(t *testing.T) {
	env, dir := writeTreeNoIso(t)
	long := "ro " + strings.Repeat("x=1 ", 2000)
	if err := os.WriteFile(filepath.Join(dir, "proc", "cmdline"), []byte(long), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(env, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.KernelCmdline != nil || len(rep.Notes) == 0 || !strings.Contains(strings.Join(rep.Notes, " "), "more than a kernel takes") {
		t.Errorf("kernel command line %v, notes %q", rep.KernelCmdline, rep.Notes)
	}
}
