package sysprep

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/procfs"
)

// Default roots of the live system. Fixture trees use other roots.
const (
	DefaultProcRoot = "/proc"
	DefaultSysRoot  = "/sys"
)

// Env is the system sysprep reads: a proc root, a sys root, an etc root,
// and the prometheus/procfs view of the proc root (used to resolve
// /proc/self; files are read through sysprep's bounded readers, since
// procfs opens them with os.Open, which blocks on a FIFO). A fixture tree is just
// <root>/proc and <root>/sys (plus an optional <root>/boot for kernel
// configs).
//
// sysfs files are read by sysprep's own readers: procfs/sysfs needs
// golang.org/x/sync, which is not among rtcell's dependencies, and the
// four sysfs files sysprep needs from it (isolated, clocksource, cpufreq
// governor, thread siblings) are one line each.
type Env struct {
	// ProcRoot and SysRoot are the roots every file is read from.
	ProcRoot, SysRoot string
	// BootRoot holds config-<release> files. NewEnv sets it to the
	// directory "boot" next to ProcRoot: /boot for the live system,
	// <root>/boot for a fixture, so that a fixture never reads the live /boot.
	BootRoot string
	// EtcRoot holds the configuration sysprep reads (default/grub,
	// os-release) and that apply --persist writes. NewEnv sets it to the
	// directory "etc" next to ProcRoot, as BootRoot; --etc-root changes it.
	EtcRoot string
	// Proc is the prometheus/procfs view of ProcRoot.
	Proc procfs.FS

	live  bool
	facts *facts
}

// NewEnv returns an Env reading from procRoot and sysRoot; empty strings
// mean the live /proc and /sys. It fails, wrapping ErrRoot, when a root is
// not a readable directory.
func NewEnv(procRoot, sysRoot string) (Env, error) {
	if procRoot == "" {
		procRoot = DefaultProcRoot
	}
	if sysRoot == "" {
		sysRoot = DefaultSysRoot
	}
	for _, r := range []string{procRoot, sysRoot} {
		st, err := os.Stat(r)
		if err != nil {
			return Env{}, fmt.Errorf("opening root %s: %w: %w", r, ErrRoot, err)
		}
		if !st.IsDir() {
			return Env{}, fmt.Errorf("opening root %s: not a directory: %w", r, ErrRoot)
		}
		if _, err := readDir(r); err != nil {
			return Env{}, fmt.Errorf("listing root %s: %w: %w", r, ErrRoot, err)
		}
	}
	pfs, err := procfs.NewFS(procRoot)
	if err != nil {
		return Env{}, fmt.Errorf("opening proc root %s: %w: %w", procRoot, ErrRoot, err)
	}
	e := Env{
		ProcRoot: procRoot,
		SysRoot:  sysRoot,
		BootRoot: filepath.Join(filepath.Dir(filepath.Clean(procRoot)), "boot"),
		EtcRoot:  filepath.Join(filepath.Dir(filepath.Clean(procRoot)), "etc"),
		Proc:     pfs,
	}
	e.live = sameFile(procRoot, DefaultProcRoot)
	e.facts = newFacts()
	return e, nil
}

// Live reports whether the proc root is the running system's /proc. Only
// then does sysprep probe the kernel with system calls (the SCHED_FIFO
// test); for fixture trees it judges from the files alone.
func (e Env) Live() bool { return e.live }

func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(sa, sb)
}

// fresh returns a copy of e with an empty cache, so that each Run reads
// the system anew.
func (e Env) fresh() Env {
	e.facts = newFacts()
	return e
}

func (e Env) procPath(p ...string) string {
	return filepath.Join(append([]string{e.ProcRoot}, p...)...)
}

func (e Env) sysPath(p ...string) string {
	return filepath.Join(append([]string{e.SysRoot}, p...)...)
}

// readFile reads a file and names it in any error.
func readFile(path string) (string, error) {
	s, err := readSmall(path)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return s, nil
}

func (e Env) readProc(p ...string) (string, error) { return readFile(e.procPath(p...)) }
func (e Env) readSys(p ...string) (string, error)  { return readFile(e.sysPath(p...)) }

// parseErr names the file in a parser's error.
func parseErr(path string, err error) error {
	return fmt.Errorf("parsing %s: %w", path, boundedError{err})
}

func notExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// trimmed is strings.TrimSpace for file content.
func trimmed(s string) string { return strings.TrimSpace(s) }

// msg renders an error for a result, with paths shown as they are on the
// box the tree came from (/proc/..., /sys/..., /boot/...), so that a
// fixture's report does not depend on where the fixture lives.
func (e Env) msg(err error) string { return e.show(err.Error()) }

// show rewrites the roots in s to the live paths.
func (e Env) show(s string) string {
	boot := filepath.Join(filepath.Dir(filepath.Clean(DefaultProcRoot)), "boot")
	etc := filepath.Join(filepath.Dir(filepath.Clean(DefaultProcRoot)), "etc")
	for _, r := range [][2]string{{e.ProcRoot, DefaultProcRoot}, {e.SysRoot, DefaultSysRoot}, {e.BootRoot, boot}, {e.EtcRoot, etc}} {
		if r[0] != "" && r[0] != r[1] {
			s = strings.ReplaceAll(s, r[0], r[1])
		}
	}
	return s
}
