package vmtest

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Fixture capture: the guest runs a static helper (rt/vmtest/internal/
// fscapture) that copies the /proc and /sys files sysprep reads into a
// tar on stdout; the harness ships it over the console and unpacks it
// into sysprep/testdata/<box>/. Files in /proc report size 0 and sysfs
// files 4096, so a plain `tar` of them would be empty or padded: the
// helper reads each one.

// MaxCaptureFileBytes bounds one captured file; bigger files are left
// out so that fixture trees stay small.
const MaxCaptureFileBytes = 256 << 10

// CapturePatterns are the files a fixture tree holds, as globs. A
// "/proc/self/" prefix is rewritten to the capturing process's own
// /proc/<pid>/, and /proc/self itself becomes a relative symlink to that
// directory, as procfs.FS.Self expects. Directories matched explicitly
// (the IRQ action directories under /proc/irq/N/) are kept empty.
var CapturePatterns = []string{
	"/proc/cmdline", "/proc/interrupts", "/proc/stat", "/proc/meminfo",
	"/proc/cpuinfo", "/proc/swaps", "/proc/version", "/proc/loadavg",
	"/proc/softirqs", "/proc/uptime", "/proc/modules", "/proc/mounts",
	"/proc/config.gz",
	"/proc/irq/default_smp_affinity", "/proc/irq/*/*",
	"/proc/sys/kernel/*", "/proc/sys/vm/*",
	"/proc/self",
	"/proc/self/status", "/proc/self/limits", "/proc/self/stat",
	"/proc/self/cgroup", "/proc/self/comm", "/proc/self/cmdline",
	"/proc/self/sched", "/proc/self/mountinfo",
	"/proc/[0-9]*/stat", "/proc/[0-9]*/status", "/proc/[0-9]*/comm", "/proc/[0-9]*/cmdline",
	"/proc/1/limits", "/proc/1/cgroup", "/proc/1/sched",
	"/sys/kernel/realtime",
	"/sys/devices/system/cpu/online", "/sys/devices/system/cpu/offline",
	"/sys/devices/system/cpu/possible", "/sys/devices/system/cpu/present",
	"/sys/devices/system/cpu/isolated", "/sys/devices/system/cpu/nohz_full",
	"/sys/devices/system/cpu/kernel_max",
	"/sys/devices/system/cpu/smt/active", "/sys/devices/system/cpu/smt/control",
	"/sys/devices/system/cpu/cpu[0-9]*/online",
	"/sys/devices/system/cpu/cpu[0-9]*/topology/*",
	"/sys/devices/system/cpu/cpu[0-9]*/cpufreq/*",
	"/sys/devices/system/cpu/cpu[0-9]*/cpuidle/state*/name",
	"/sys/devices/system/cpu/cpu[0-9]*/cpuidle/state*/desc",
	"/sys/devices/system/cpu/cpu[0-9]*/cpuidle/state*/latency",
	"/sys/devices/system/cpu/cpu[0-9]*/cpuidle/state*/disable",
	"/sys/devices/system/cpu/cpu[0-9]*/cpuidle/state*/residency",
	"/sys/devices/system/cpu/cpuidle/*",
	"/sys/devices/system/cpu/vulnerabilities/*",
	"/sys/devices/system/clocksource/clocksource[0-9]*/current_clocksource",
	"/sys/devices/system/clocksource/clocksource[0-9]*/available_clocksource",
	"/sys/kernel/mm/transparent_hugepage/enabled",
	"/sys/kernel/mm/transparent_hugepage/defrag",
	"/sys/devices/virtual/workqueue/cpumask",
	"/sys/devices/virtual/workqueue/writeback/cpumask",
	"/sys/bus/workqueue/devices/writeback/cpumask",
	"/sys/kernel/rcu_normal", "/sys/kernel/mm/ksm/run",
	"/sys/devices/system/cpu/cpufreq/boost", "/sys/devices/system/cpu/intel_pstate/no_turbo",
	"/sys/fs/cgroup/cgroup.controllers",
}

// CaptureTree writes to w a tar of the files matching patterns (see
// CapturePatterns), read from the root directory root ("/" in the
// guest). Unreadable, write-only and oversized files are left out and
// listed in skipped, one "path: reason" each. Symlinks are followed,
// except /proc/self, kept as a link to the process's own directory.
func CaptureTree(w io.Writer, root string, patterns []string) (skipped []string, err error) {
	self := strconv.Itoa(os.Getpid())
	type item struct{ guest, host string }
	seen := map[string]bool{}
	var items []item
	for _, p := range patterns {
		if rest, ok := strings.CutPrefix(p, "/proc/self/"); ok {
			p = "/proc/" + self + "/" + rest
		}
		matches, err := filepath.Glob(filepath.Join(root, p))
		if err != nil {
			return nil, fmt.Errorf("capturing %q: %w", p, err)
		}
		for _, m := range matches {
			rel, err := filepath.Rel(root, m)
			if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
				continue
			}
			rel = filepath.ToSlash(rel)
			if !seen[rel] {
				seen[rel] = true
				items = append(items, item{guest: rel, host: m})
			}
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].guest < items[j].guest })
	tw := tar.NewWriter(w)
	dirs := map[string]bool{}
	addDirs := func(name string) error {
		var parents []string
		for d := path.Dir(name); d != "." && !dirs[d]; d = path.Dir(d) {
			parents = append(parents, d)
		}
		for i := len(parents) - 1; i >= 0; i-- {
			dirs[parents[i]] = true
			if err := tw.WriteHeader(&tar.Header{Name: parents[i] + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
				return fmt.Errorf("writing capture: %w", err)
			}
		}
		return nil
	}
	for _, it := range items {
		st, err := os.Lstat(it.host)
		if err != nil {
			skipped = append(skipped, it.guest+": "+err.Error())
			continue
		}
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(it.host)
			if err == nil && target != "" && !strings.ContainsRune(target, '/') && target != "." && target != ".." {
				if err := addDirs(it.guest); err != nil {
					return skipped, err
				}
				if err := tw.WriteHeader(&tar.Header{Name: it.guest, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}); err != nil {
					return skipped, fmt.Errorf("writing capture: %w", err)
				}
				continue
			}
			if st, err = os.Stat(it.host); err != nil {
				skipped = append(skipped, it.guest+": "+err.Error())
				continue
			}
			if !st.Mode().IsRegular() {
				skipped = append(skipped, it.guest+": symlink to a non-file")
				continue
			}
		case st.IsDir():
			if dirs[it.guest] {
				continue
			}
			if err := addDirs(it.guest + "/x"); err != nil {
				return skipped, err
			}
			continue
		case !st.Mode().IsRegular():
			skipped = append(skipped, it.guest+": not a regular file")
			continue
		}
		data, err := readCapped(it.host, MaxCaptureFileBytes)
		if err != nil {
			skipped = append(skipped, it.guest+": "+err.Error())
			continue
		}
		if err := addDirs(it.guest); err != nil {
			return skipped, err
		}
		if err := tw.WriteHeader(&tar.Header{Name: it.guest, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))}); err != nil {
			return skipped, fmt.Errorf("writing capture: %w", err)
		}
		if _, err := tw.Write(data); err != nil {
			return skipped, fmt.Errorf("writing capture: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return skipped, fmt.Errorf("writing capture: %w", err)
	}
	return skipped, nil
}

var errTooBig = errors.New("larger than the capture limit")

func readCapped(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, errTooBig
	}
	return b, nil
}

// UnpackFixture replaces the directory dest with the tree in the tar r
// (as written by CaptureTree). Entries must be relative and stay inside
// dest; symlinks must name a sibling. Directories left empty (IRQ action
// directories) get an empty .gitkeep file so that git keeps them. It
// returns the number of files and their total size.
func UnpackFixture(r io.Reader, dest string) (files int, total int64, err error) {
	if err := os.RemoveAll(dest); err != nil {
		return 0, 0, fmt.Errorf("clearing fixture %s: %w", dest, err)
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return 0, 0, fmt.Errorf("creating fixture %s: %w", dest, err)
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return files, total, fmt.Errorf("reading fixture tar: %w", err)
		}
		name := path.Clean(h.Name)
		if path.IsAbs(name) || name == "." || name == ".." || strings.HasPrefix(name, "../") {
			return files, total, fmt.Errorf("fixture tar entry %q escapes the tree: %w", h.Name, ErrMalformed)
		}
		p := filepath.Join(dest, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return files, total, fmt.Errorf("unpacking fixture: %w", err)
			}
		case tar.TypeSymlink:
			if strings.ContainsRune(h.Linkname, '/') || h.Linkname == ".." || h.Linkname == "." || h.Linkname == "" {
				return files, total, fmt.Errorf("fixture symlink %q -> %q leaves its directory: %w", h.Name, h.Linkname, ErrMalformed)
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return files, total, fmt.Errorf("unpacking fixture: %w", err)
			}
			if err := os.Symlink(h.Linkname, p); err != nil {
				return files, total, fmt.Errorf("unpacking fixture: %w", err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return files, total, fmt.Errorf("unpacking fixture: %w", err)
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return files, total, fmt.Errorf("unpacking fixture: %w", err)
			}
			n, err := io.Copy(f, io.LimitReader(tr, MaxCaptureFileBytes+1))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return files, total, fmt.Errorf("unpacking fixture %s: %w", name, err)
			}
			files++
			total += n
		default:
			return files, total, fmt.Errorf("fixture tar entry %q has type %q: %w", h.Name, h.Typeflag, ErrMalformed)
		}
	}
	err = filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return err
		}
		if len(ents) == 0 {
			return os.WriteFile(filepath.Join(p, ".gitkeep"), nil, 0o644)
		}
		return nil
	})
	if err != nil {
		return files, total, fmt.Errorf("marking empty fixture directories: %w", err)
	}
	return files, total, nil
}
