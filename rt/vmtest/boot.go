package vmtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// Defaults for a boot. TCG (software emulation) because a KVM guest hung
// on this machine; 2 CPUs so that CPU 1 can be isolated and CPU 0 keeps
// the housekeeping.
const (
	DefaultTimeout  = 90 * time.Second
	DefaultCPUs     = 2
	DefaultMemoryMB = 512

	// baseCmdline is prepended to every scenario's command line. The
	// console is the first serial port; quiet keeps boot messages out of
	// the transcript; panic=-1 with -no-reboot makes a panic end QEMU.
	baseCmdline = "console=ttyS0 quiet loglevel=3 panic=-1"

	// GuestUser is the unprivileged account in every guest (uid and gid
	// 1000, home /home/rt, no capabilities, RLIMIT_RTPRIO 0). Scenarios
	// drop to it with `su -s /bin/sh rt -c CMD`.
	GuestUser = "rt"
)

// Scenario is one boot: a kernel command line and a job the guest runs.
type Scenario struct {
	// Name names the scenario and its log file; [A-Za-z0-9._-].
	Name string
	// Cmdline is appended to the base command line, e.g.
	// "isolcpus=1 nohz_full=1 rcu_nocbs=1 irqaffinity=0".
	Cmdline string
	// Init is the job, run by busybox sh as root after /proc, /sys, /dev
	// and /tmp are mounted. It reports with vm_run, vm_file and vm_text
	// (see the package doc); its exit status is Result.RC. The guest
	// powers off when it returns.
	Init string
	// Files maps host paths to guest paths. Dynamically linked binaries
	// bring their shared libraries.
	Files map[string]string
	// Timeout is the watchdog: QEMU is killed after it (default and
	// maximum DefaultTimeout).
	Timeout time.Duration
}

// Result is what a boot produced.
type Result struct {
	Scenario string
	// Log is the file holding QEMU's command line, the serial console
	// and QEMU's stderr. Failing tests print it.
	Log string
	// Sections are the guest's results in the order it printed them.
	Sections []Section
	// Done is true when the job ran to its end; RC is its exit status.
	Done bool
	RC   int
	// Problems lists sections that were cut off or did not decode.
	Problems []string
	// Duration is the wall time from QEMU's start to its exit.
	Duration time.Duration
}

// Section returns the named section.
func (r *Result) Section(name string) (Section, bool) {
	for _, s := range r.Sections {
		if s.Name == name {
			return s, true
		}
	}
	return Section{}, false
}

// Must returns the named section or fails tb, printing the log path.
func (r *Result) Must(tb testing.TB, name string) Section {
	tb.Helper()
	s, ok := r.Section(name)
	if !ok {
		names := make([]string, 0, len(r.Sections))
		for _, s := range r.Sections {
			names = append(names, s.Name)
		}
		tb.Fatalf("guest printed no section %q (got %v; problems %v); QEMU log: %s", name, names, r.Problems, r.Log)
	}
	return s
}

var scenarioNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// BaseInitramfs returns the userland every guest gets: busybox with its
// applet links, cyclictest with its libraries, /etc/passwd and
// /etc/group with root and GuestUser, /dev/console, and the kernel's
// config at /boot/config-<release> as on an installed Debian box.
func BaseInitramfs(tools Tools, k KernelImage) (*Initramfs, error) {
	f := NewInitramfs()
	if err := f.AddHostFile(tools.Busybox, "/bin/busybox"); err != nil {
		return nil, err
	}
	out, err := exec.Command(tools.Busybox, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("listing busybox applets: %w", err)
	}
	for _, applet := range strings.Fields(string(out)) {
		g := "/" + applet
		if g == "/bin/busybox" || f.Has(g) {
			continue
		}
		if err := f.AddSymlink(g, "/bin/busybox"); err != nil {
			return nil, err
		}
	}
	if !f.Has("/bin/sh") {
		return nil, fmt.Errorf("busybox %s has no sh applet: %w", tools.Busybox, ErrUnavailable)
	}
	if err := f.AddHostFile(tools.Cyclictest, "/usr/bin/cyclictest"); err != nil {
		return nil, err
	}
	for _, d := range []string{"/proc", "/sys", "/dev", "/run", "/root", "/etc/rtcell"} {
		if err := f.AddDir(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := f.AddDir("/tmp", 0o777); err != nil {
		return nil, err
	}
	files := map[string]string{
		"/etc/passwd": "root:x:0:0:root:/root:/bin/sh\n" + GuestUser + ":x:1000:1000:rtcell test user:/home/" + GuestUser + ":/bin/sh\n",
		"/etc/group":  "root:x:0:\n" + GuestUser + ":x:1000:\n",
		"/etc/shadow": "root::1::::::\n" + GuestUser + ":*:1::::::\n",
	}
	for p, c := range files {
		perm := os.FileMode(0o644)
		if p == "/etc/shadow" {
			perm = 0o600
		}
		if err := f.AddBytes(p, perm, []byte(c)); err != nil {
			return nil, err
		}
	}
	if err := f.AddDir("/home/"+GuestUser, 0o755); err != nil {
		return nil, err
	}
	if err := f.AddCharDev("/dev/console", 0o600, 5, 1); err != nil {
		return nil, err
	}
	if k.Config != "" {
		if err := f.AddHostFile(k.Config, "/boot/config-"+k.Release); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// initScript is /init: it mounts the pseudo file systems, runs the job
// in a subshell so that its `exit` cannot kill PID 1, prints the done
// marker and powers off.
const initScript = `#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs tmpfs /run
chown 1000:1000 /home/rt
# Keep kernel messages off the console: they would split the results.
dmesg -n 1
hostname rtcell-vmtest
echo "=====VMTEST START====="
(cd / && sh /vmtest/job.sh) </dev/null
echo "=====VMTEST DONE rc=$?====="
sync
poweroff -f
`

// Boot boots the RT kernel under QEMU with scenario sc and returns what
// the guest reported. It installs the tools and fetches the kernel on
// first use (see EnsureTools and Kernel), so it may skip tb. The error
// is non-nil when QEMU could not start, the watchdog killed it
// (ErrTimeout) or the job did not finish (ErrIncomplete); the Result is
// returned in every case that got as far as starting QEMU, with the
// log path.
func Boot(tb testing.TB, sc Scenario) (*Result, error) {
	tb.Helper()
	if !scenarioNameRE.MatchString(sc.Name) {
		return nil, fmt.Errorf("scenario name %q: use [A-Za-z0-9._-]: %w", sc.Name, ErrMalformed)
	}
	tools := EnsureTools(tb)
	k := Kernel(tb)
	img, err := BaseInitramfs(tools, k)
	if err != nil {
		return nil, err
	}
	hosts := make([]string, 0, len(sc.Files))
	for h := range sc.Files {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		if err := img.AddHostFile(h, sc.Files[h]); err != nil {
			return nil, fmt.Errorf("adding scenario file: %w", err)
		}
	}
	if err := img.AddBytes("/init", 0o755, []byte(initScript)); err != nil {
		return nil, err
	}
	job := "#!/bin/sh\n" + guestHelpers + "\n" + sc.Init + "\n"
	if err := img.AddBytes("/vmtest/job.sh", 0o755, []byte(job)); err != nil {
		return nil, err
	}
	cache, err := CacheDir()
	if err != nil {
		return nil, err
	}
	logDir := filepath.Join(cache, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating log dir: %w", err)
	}
	// The image stays beside the log, so that the command line at the
	// top of the log reproduces the boot by hand.
	initrd := filepath.Join(logDir, sc.Name+".cpio")
	if err := img.WriteFile(initrd); err != nil {
		return nil, err
	}
	timeout := sc.Timeout
	if timeout <= 0 || timeout > DefaultTimeout {
		timeout = DefaultTimeout
	}
	kernel := k.Vmlinuz
	if k.Vmlinux != "" {
		kernel = k.Vmlinux
	}
	return runQEMU(tb, tools.QEMU, kernel, initrd, strings.TrimSpace(baseCmdline+" "+sc.Cmdline), filepath.Join(logDir, sc.Name+".log"), sc.Name, timeout)
}

// QEMUArgs returns the qemu-system-x86_64 arguments for one boot: TCG,
// no default devices, no network, the serial port on stdio.
func QEMUArgs(vmlinuz, initrd, cmdline string) []string {
	return []string{
		"-accel", "tcg,thread=multi",
		"-smp", fmt.Sprint(DefaultCPUs),
		"-m", fmt.Sprint(DefaultMemoryMB),
		"-nodefaults", "-no-user-config",
		"-display", "none",
		"-serial", "stdio",
		"-no-reboot",
		"-kernel", vmlinuz,
		"-initrd", initrd,
		"-append", cmdline,
	}
}

func runQEMU(tb testing.TB, qemu, vmlinuz, initrd, cmdline, logPath, name string, timeout time.Duration) (*Result, error) {
	tb.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating QEMU log: %w", err)
	}
	defer logf.Close()
	args := QEMUArgs(vmlinuz, initrd, cmdline)
	fmt.Fprintf(logf, "# %s %s\n# watchdog %v\n", qemu, shellQuote(args), timeout)

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, args...)
	var console bytes.Buffer
	cmd.Stdout = io.MultiWriter(logf, &console)
	cmd.Stderr = logf
	cmd.WaitDelay = 5 * time.Second
	res := &Result{Scenario: name, Log: logPath}
	start := time.Now()
	runErr := cmd.Run()
	res.Duration = time.Since(start)
	fmt.Fprintf(logf, "\n# qemu exited after %v: %v\n", res.Duration.Round(time.Millisecond), runErr)

	tr, perr := parseTranscript(&console)
	res.Sections, res.Done, res.RC, res.Problems = tr.Sections, tr.Done, tr.DoneRC, tr.Problems
	tb.Logf("vmtest: %s booted and ran in %v (QEMU log: %s)", name, res.Duration.Round(100*time.Millisecond), logPath)
	switch {
	case ctx.Err() != nil:
		return res, fmt.Errorf("scenario %s: watchdog killed QEMU after %v; see %s: %w", name, timeout, logPath, ErrTimeout)
	case perr != nil:
		return res, fmt.Errorf("scenario %s: %w; see %s", name, perr, logPath)
	case !res.Done:
		var ee *exec.ExitError
		if runErr != nil && !errors.As(runErr, &ee) {
			return res, fmt.Errorf("scenario %s: running %s: %w; see %s", name, qemu, runErr, logPath)
		}
		return res, fmt.Errorf("scenario %s: QEMU exited (%v) before the job finished; see %s: %w", name, runErr, logPath, ErrIncomplete)
	}
	return res, nil
}

// MustBoot is Boot that fails tb on any error, printing the log path.
func MustBoot(tb testing.TB, sc Scenario) *Result {
	tb.Helper()
	r, err := Boot(tb, sc)
	if err != nil {
		tb.Fatalf("vmtest: %v", err)
	}
	if len(r.Problems) > 0 {
		tb.Errorf("vmtest: console problems in %s: %v (QEMU log: %s)", sc.Name, r.Problems, r.Log)
	}
	return r
}

func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=,:", r)
		}) < 0 {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
