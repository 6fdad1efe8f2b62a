package sysprep

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rtcell/rtcell/rt/atomicfile"
	"github.com/rtcell/rtcell/rt/buildinfo"
)

// JournalSchema is the version of the undo journal.
const JournalSchema = "rtcell.sysprep.undo/v1"

// DefaultUndoDir is where apply writes its undo journal by default.
const DefaultUndoDir = "/var/lib/rtcell"

// Roots a change lives under. RootSystemd is not a directory: its Rel is
// a systemd unit whose AllowedCPUs= property apply sets with systemctl.
const (
	RootProc    = "proc"
	RootSys     = "sys"
	RootEtc     = "etc"
	RootSystemd = "systemd"
)

// sliceUnits are the units whose CPU sets keep every process systemd
// starts, and its own, off the RT CPUs.
var sliceUnits = []string{"system.slice", "user.slice", "init.scope"}

// systemctl runs systemctl; a variable so that tests can stand in for it.
var systemctl = func(args ...string) (string, error) {
	out, err := exec.Command("systemctl", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("systemctl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Change is one write apply makes: a kernel setting under /proc or /sys
// (written in place with one write(2)), or a file under /etc (written
// atomically: a temporary file renamed over it).
type Change struct {
	// Check is the check ID the change fixes.
	Check string `json:"check"`
	// Root (proc, sys or etc) and Rel locate the file under the roots
	// apply and rollback are given; Path is the live path, for people.
	Root string `json:"root"`
	Rel  string `json:"rel"`
	Path string `json:"path"`
	// Old is the exact content before (empty with Existed false: the file
	// did not exist), New what apply writes.
	Old     string `json:"old"`
	Existed bool   `json:"existed"`
	Mode    uint32 `json:"mode,omitempty"`
	New     string `json:"new"`
	// Dirs are the directories apply created for a new file (relative to
	// the root, outermost first); rollback removes them when empty.
	Dirs []string `json:"dirs,omitempty"`
	// Applied is set once the write succeeded; Error says why it failed.
	Applied bool   `json:"applied"`
	Error   string `json:"error,omitempty"`
}

// Refusal is a fix apply does not make, and why.
type Refusal struct {
	Check  string `json:"check"`
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Journal is the undo journal: every change with its old value, written
// before the first change.
type Journal struct {
	Schema  string    `json:"schema"`
	Version string    `json:"version"`
	Time    time.Time `json:"time"`
	Changes []Change  `json:"changes"`
	// Bootloader is the command apply ran after writing the boot loader
	// drop-in (--bootloader); rollback tells to run it again.
	Bootloader string `json:"bootloader,omitempty"`
}

// Plan is what apply would change on a box.
type Plan struct {
	Changes []Change
	Refused []Refusal
	// BootloaderCmd regenerates the boot loader's configuration after the
	// drop-in of the kernel command line (update-grub, kernel-install);
	// empty when no drop-in is written.
	BootloaderCmd []string
}

// ApplyOptions say what apply may change.
type ApplyOptions struct {
	// Persist also writes the files that make the run-time changes
	// survive a reboot: /etc/sysctl.d/90-rtcell.conf,
	// /etc/tmpfiles.d/rtcell.conf and the boot loader drop-in of the
	// proposed kernel command line.
	Persist bool
}

func (e Env) root(kind string) string {
	switch kind {
	case RootProc:
		return e.ProcRoot
	case RootSys:
		return e.SysRoot
	}
	return e.EtcRoot
}

func livePath(kind, rel string) string {
	switch kind {
	case RootProc:
		return filepath.Join(DefaultProcRoot, rel)
	case RootSys:
		return filepath.Join(DefaultSysRoot, rel)
	}
	return filepath.Join("/etc", rel)
}

// PlanApply works out the run-time fixes for the failing and warning
// checks of rep (a report of Run on env with o), reading each old value.
// It changes nothing.
func PlanApply(env Env, rep Report, o Options, ao ApplyOptions) (Plan, error) {
	r, err := resolve(env, o)
	if err != nil {
		return Plan{}, fmt.Errorf("planning apply: %w", err)
	}
	var p Plan
	seen := map[string]bool{}
	var sysctls []string // "name = value" lines for sysctl.d
	var tmpfiles []string
	add := func(check, kind, rel, value string, persist bool) {
		key := kind + "/" + rel
		if seen[key] {
			return
		}
		seen[key] = true
		path := filepath.Join(env.root(kind), rel)
		old, err := readSmall(path)
		if err != nil {
			p.Refused = append(p.Refused, Refusal{Check: check, Path: livePath(kind, rel), Reason: env.msg(err)})
			return
		}
		p.Changes = append(p.Changes, Change{Check: check, Root: kind, Rel: rel, Path: livePath(kind, rel), Old: old, Existed: true, New: value + "\n"})
		if !persist {
			return
		}
		if kind == RootProc && strings.HasPrefix(rel, "sys/") {
			name := strings.ReplaceAll(strings.TrimPrefix(rel, "sys/"), "/", ".")
			sysctls = append(sysctls, name+" = "+value)
		} else {
			tmpfiles = append(tmpfiles, fmt.Sprintf("w %s - - - - %s", livePath(kind, rel), value))
		}
	}
	sysctl := func(check, name, value string) {
		add(check, RootProc, filepath.Join(append([]string{"sys"}, strings.Split(name, ".")...)...), value, true)
	}
	for _, c := range rep.Checks {
		if c.Status != Warn && c.Status != Fail {
			continue
		}
		switch c.ID {
		case "sched.rt_runtime":
			sysctl(c.ID, "kernel.sched_rt_runtime_us", "-1")
		case "sched.timer_migration":
			sysctl(c.ID, "kernel.timer_migration", "0")
		case "kernel.nmi_watchdog":
			sysctl(c.ID, "kernel.nmi_watchdog", "0")
		case "kernel.softlockup":
			sysctl(c.ID, "kernel.soft_watchdog", "0")
		case "sched.numa_balancing":
			sysctl(c.ID, "kernel.numa_balancing", "0")
		case "vm.stat_interval":
			sysctl(c.ID, "vm.stat_interval", "10")
		case "mem.ksm":
			add(c.ID, RootSys, "kernel/mm/ksm/run", "0", true)
		case "kernel.rcu_normal":
			add(c.ID, RootSys, "kernel/rcu_normal", "1", true)
		case "cpu.boost":
			if _, err := os.Stat(env.sysPath("devices", "system", "cpu", "intel_pstate", "no_turbo")); err == nil {
				add(c.ID, RootSys, "devices/system/cpu/intel_pstate/no_turbo", "1", true)
			} else {
				add(c.ID, RootSys, "devices/system/cpu/cpufreq/boost", "0", true)
			}
		case "irq.default_affinity":
			add(c.ID, RootProc, "irq/default_smp_affinity", r.hk.mask(), true)
		case "workqueue.cpumask":
			add(c.ID, RootSys, "devices/virtual/workqueue/cpumask", r.hk.mask(), true)
		case "cpu.governor":
			for _, n := range r.rt.list() {
				if g, _, err := env.cpuFile(n, "cpufreq", "scaling_governor"); err == nil && g != "performance" {
					add(c.ID, RootSys, fmt.Sprintf("devices/system/cpu/cpu%d/cpufreq/scaling_governor", n), "performance", true)
				}
			}
		case "cpu.idle":
			for _, n := range r.rt.list() {
				add(c.ID, RootSys, fmt.Sprintf("devices/system/cpu/cpu%d/power/pm_qos_resume_latency_us", n), strconv.Itoa(maxIdleExitLatencyUs), true)
			}
		case "threads.rt_cpus":
			why := slicesRefusal(env)
			if why != "" {
				p.Refused = append(p.Refused, Refusal{Check: c.ID, Path: "AllowedCPUs= of " + strings.Join(sliceUnits, ", "), Reason: why})
				continue
			}
			for _, u := range sliceUnits {
				old, err := systemctl("show", "--property", "AllowedCPUs", "--value", u)
				if err != nil {
					p.Refused = append(p.Refused, Refusal{Check: c.ID, Path: u, Reason: err.Error()})
					continue
				}
				p.Changes = append(p.Changes, Change{Check: c.ID, Root: RootSystemd, Rel: u, Path: "systemctl set-property --runtime " + u + " AllowedCPUs",
					Old: strings.TrimSpace(old), Existed: true, New: r.hk.String()})
			}
		case "irq.affinity":
			irqs, err := env.irqs()
			if err != nil {
				p.Refused = append(p.Refused, Refusal{Check: c.ID, Path: "/proc/irq", Reason: env.msg(err)})
				continue
			}
			for i := range irqs {
				q := &irqs[i]
				if !q.Affinity.intersects(r.rt) && !(q.HasEffective && q.Effective.intersects(r.rt)) {
					continue
				}
				if env.loadActions(q) != nil || len(q.Actions) == 0 || irqAllowed(env, q, r.AllowIRQs) {
					continue
				}
				rel := fmt.Sprintf("irq/%d/smp_affinity", q.Number)
				if q.Managed != "" {
					p.Refused = append(p.Refused, Refusal{Check: c.ID, Path: livePath(RootProc, rel), Reason: q.Managed + ": the kernel places it and refuses a new affinity; isolcpus=managed_irq moves it at boot"})
					continue
				}
				// IRQ numbers change between boots: irqaffinity= on the
				// kernel command line keeps them off at boot, not tmpfiles.
				add(c.ID, RootProc, rel, r.hk.mask(), false)
			}
		}
	}
	if !ao.Persist {
		return p, nil
	}
	file := func(check, rel, content string) {
		path := filepath.Join(env.EtcRoot, rel)
		ch := Change{Check: check, Root: RootEtc, Rel: rel, Path: livePath(RootEtc, rel), New: content, Mode: 0o644}
		old, err := readSmall(path)
		switch {
		case err == nil:
			ch.Old, ch.Existed = old, true
			if st, err := os.Stat(path); err == nil {
				ch.Mode = uint32(st.Mode().Perm())
			}
			if old == content {
				return
			}
		case notExist(err):
			for d := filepath.Dir(rel); d != "." && d != "/"; d = filepath.Dir(d) {
				if _, err := os.Stat(filepath.Join(env.EtcRoot, d)); notExist(err) {
					ch.Dirs = append([]string{d}, ch.Dirs...)
				}
			}
		default:
			p.Refused = append(p.Refused, Refusal{Check: check, Path: ch.Path, Reason: env.msg(err)})
			return
		}
		p.Changes = append(p.Changes, ch)
	}
	if len(sysctls) > 0 {
		file("persist", "sysctl.d/90-rtcell.conf", "# written by rtcell sysprep apply --persist\n"+strings.Join(sysctls, "\n")+"\n")
	}
	if len(tmpfiles) > 0 {
		file("persist", "tmpfiles.d/rtcell.conf", "# written by rtcell sysprep apply --persist\n"+strings.Join(tmpfiles, "\n")+"\n")
	}
	if k := rep.KernelCmdline; k != nil && k.Changed() && k.DropIn != "" {
		file("kernel_cmdline", strings.TrimPrefix(k.DropIn, "/etc/"), k.DropInContent)
		switch k.Bootloader {
		case "grub":
			p.BootloaderCmd = []string{"update-grub"}
		case "systemd-boot":
			if rel := env.host().KernelRelease; rel != "" {
				p.BootloaderCmd = []string{"kernel-install", "add", rel, "/boot/vmlinuz-" + rel}
			}
		}
	}
	return p, nil
}

// slicesRefusal is Env.slicesRefusal; a variable so that tests can stand in for it.
var slicesRefusal = Env.slicesRefusal

// slicesRefusal says why apply cannot set the slices' CPU sets here, or
// "" when it can: they are set through systemd (systemctl set-property
// --runtime, AllowedCPUs= is a cgroup v2 cpuset), so only on the live box
// with systemd as PID 1 and the unified hierarchy.
func (e Env) slicesRefusal() string {
	if !e.Live() {
		return "a fixture tree: AllowedCPUs= is set through systemd on the live box only"
	}
	if !e.cgroupV2() {
		return "cgroup v1: AllowedCPUs= needs the unified hierarchy; set CPUAffinity= in /etc/systemd/system.conf (see the remedy)"
	}
	comm, _ := e.readProc("1", "comm")
	if trimmed(comm) != "systemd" {
		return "PID 1 is " + quote(trimmed(comm)) + ", not systemd"
	}
	return ""
}

// setAllowedCPUs sets the AllowedCPUs= property of a unit for this boot;
// an empty cpus resets it to every CPU.
func setAllowedCPUs(unit, cpus string) error {
	_, err := systemctl("set-property", "--runtime", unit, "AllowedCPUs="+cpus)
	return err
}

// WriteDryRun prints each change of p as "path: old → new", and the
// refusals, changing nothing.
func (p Plan) WriteDryRun(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "sysprep apply --dry-run: %d changes, %d refused; nothing was changed\n", len(p.Changes), len(p.Refused))
	for _, c := range p.Changes {
		fmt.Fprintf(&b, "  %s: %s → %s   (%s)\n", c.Path, ShowValue(c.Old, c.Existed), ShowValue(c.New, true), c.Check)
	}
	for _, r := range p.Refused {
		fmt.Fprintf(&b, "  refused %s: %s   (%s)\n", r.Path, escape(r.Reason, false), r.Check)
	}
	if len(p.BootloaderCmd) > 0 {
		fmt.Fprintf(&b, "  then, with --bootloader only: %s\n", strings.Join(p.BootloaderCmd, " "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ShowValue renders a value of a Change on one line: a kernel value as
// it is (escaped), a file by its size, a missing file as (absent).
func ShowValue(v string, existed bool) string {
	if !existed {
		return "(absent)"
	}
	t := strings.TrimSpace(v)
	if strings.Contains(t, "\n") || len(t) > 60 {
		return fmt.Sprintf("(%d bytes)", len(v))
	}
	if t == "" {
		return `""`
	}
	return escape(t, false)
}

// DefaultJournalPath is /var/lib/rtcell/undo-<UTC time>.json.
func DefaultJournalPath(now time.Time) string {
	return filepath.Join(DefaultUndoDir, "undo-"+now.UTC().Format("20060102T150405Z")+".json")
}

func writeJournal(path string, j Journal) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(j)
	}, 0o600)
}

// Apply makes the changes of p on env. The undo journal goes to
// journalPath (written atomically) before the first change, and again at
// the end with what succeeded. A change that fails (EPERM, EINVAL, an IRQ
// the kernel manages) keeps its error and the rest go on; a kernel value
// is one write(2), a file under /etc is replaced by rename, so nothing is
// half-written. It needs root on a live box (CAP_SYS_ADMIN for most
// /proc/sys and /sys files), and changes the whole system.
func Apply(env Env, p Plan, journalPath string, now time.Time) (Journal, error) {
	j := Journal{Schema: JournalSchema, Version: buildinfo.String(), Time: now.UTC(), Changes: slices.Clone(p.Changes)}
	if err := writeJournal(journalPath, j); err != nil {
		return j, fmt.Errorf("writing the undo journal before any change: %w", err)
	}
	for i := range j.Changes {
		c := &j.Changes[i]
		var err error
		switch c.Root {
		case RootEtc:
			err = env.writeEtcFile(c)
		case RootSystemd:
			err = setAllowedCPUs(c.Rel, c.New)
		default:
			err = writeKernelValue(filepath.Join(env.root(c.Root), c.Rel), c.New)
		}
		if err != nil {
			c.Error = env.msg(err)
			continue
		}
		c.Applied = true
	}
	if err := writeJournal(journalPath, j); err != nil {
		return j, fmt.Errorf("updating the undo journal: %w", err)
	}
	return j, nil
}

// writeKernelValue writes v to a /proc or /sys file with one write(2).
// The file must already exist and be a regular file (not a FIFO).
func writeKernelValue(path, v string) error {
	flags := syscall.O_WRONLY | syscall.O_TRUNC | syscall.O_CLOEXEC | syscall.O_NONBLOCK | syscall.O_NOCTTY
	fd, err := syscall.Open(path, flags, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if m := modeOf(&st); m != 0 {
		return &fs.PathError{Op: "write", Path: path, Err: fmt.Errorf("%w: %w", notRegularError{m}, ErrMalformed)}
	}
	n, err := syscall.Write(fd, []byte(v))
	if err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: err}
	}
	if n != len(v) {
		return &fs.PathError{Op: "write", Path: path, Err: fmt.Errorf("short write, %d of %d bytes", n, len(v))}
	}
	return nil
}

func (e Env) writeEtcFile(c *Change) error {
	for _, d := range c.Dirs {
		if err := os.Mkdir(filepath.Join(e.EtcRoot, d), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	mode := fs.FileMode(c.Mode)
	if mode == 0 {
		mode = 0o644
	}
	return atomicfile.Write(filepath.Join(e.EtcRoot, c.Rel), func(w io.Writer) error {
		_, err := io.WriteString(w, c.New)
		return err
	}, mode)
}

// ReadJournal reads an undo journal.
func ReadJournal(path string) (Journal, error) {
	s, err := readCapped(path, 16<<20)
	if err != nil {
		return Journal{}, fmt.Errorf("reading undo journal: %w", err)
	}
	var j Journal
	if err := json.Unmarshal([]byte(s), &j); err != nil {
		return Journal{}, fmt.Errorf("reading undo journal %s: %w: %w", path, ErrMalformed, err)
	}
	if j.Schema != JournalSchema {
		return Journal{}, fmt.Errorf("reading undo journal %s: schema %q, want %q: %w", path, j.Schema, JournalSchema, ErrMalformed)
	}
	for _, c := range j.Changes {
		if !slices.Contains([]string{RootProc, RootSys, RootEtc, RootSystemd}, c.Root) || !filepath.IsLocal(c.Rel) ||
			(c.Root == RootSystemd && !slices.Contains(sliceUnits, c.Rel)) {
			return Journal{}, fmt.Errorf("reading undo journal %s: change of %q under %q is outside the roots: %w", path, c.Rel, c.Root, ErrMalformed)
		}
	}
	return j, nil
}

// Rollback restores every change of j that apply made (or may have made:
// one without an error), newest first: a kernel value gets its old
// content back, a file its old content and mode, or is removed with the
// directories apply created for it. It returns the changes restored, and
// the ones that failed with their error.
func Rollback(env Env, j Journal) (restored, failed []Change) {
	for i := len(j.Changes) - 1; i >= 0; i-- {
		c := j.Changes[i]
		if c.Error != "" {
			continue // never written
		}
		var err error
		path := filepath.Join(env.root(c.Root), c.Rel)
		switch {
		case c.Root == RootSystemd:
			err = setAllowedCPUs(c.Rel, c.Old)
		case c.Root != RootEtc:
			err = writeKernelValue(path, c.Old)
		case c.Existed:
			back := c
			back.New, back.Dirs = c.Old, nil
			err = env.writeEtcFile(&back)
		default:
			err = os.Remove(path)
			if notExist(err) {
				err = nil
			}
			for k := len(c.Dirs) - 1; k >= 0 && err == nil; k-- {
				if rerr := os.Remove(filepath.Join(env.EtcRoot, c.Dirs[k])); rerr != nil && !notExist(rerr) {
					break // not empty: something else lives there now
				}
			}
		}
		if err != nil {
			c.Error = env.msg(err)
			failed = append(failed, c)
			continue
		}
		restored = append(restored, c)
	}
	return restored, failed
}
