package vmtest

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Debian packages the harness needs on the host, and the metapackage
// whose dependency names the current PREEMPT_RT kernel.
const (
	aptPackages   = "qemu-system-x86 busybox-static rt-tests xz-utils"
	kernelMetaPkg = "linux-image-rt-amd64"
)

// Tools are the host programs the harness uses.
type Tools struct {
	QEMU       string // qemu-system-x86_64
	Busybox    string // busybox, copied into the guest as its userland
	Cyclictest string // cyclictest, copied into the guest with its libraries
}

// unavailable skips tb with a loud reason, or fails it under CI=true,
// where the harness must run.
func unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		tb.Fatalf("vmtest cannot run in CI: %s", msg)
	}
	tb.Skipf("VMTEST SKIPPED: %s", msg)
}

var (
	toolsOnce sync.Once
	toolsVal  Tools
	toolsErr  error
)

// EnsureTools finds qemu-system-x86_64, busybox and cyclictest, and
// installs the missing ones with apt-get when running as root (side
// effect: packages are installed on the host). Not root or no apt: the
// test is skipped with the reason (failed when CI=true).
func EnsureTools(tb testing.TB) Tools {
	tb.Helper()
	toolsOnce.Do(func() { toolsVal, toolsErr = ensureTools(tb) })
	if toolsErr != nil {
		if errors.Is(toolsErr, ErrUnavailable) {
			unavailable(tb, "%v", toolsErr)
		}
		tb.Fatalf("vmtest: %v", toolsErr)
	}
	return toolsVal
}

func findTools() (Tools, []string) {
	var t Tools
	var missing []string
	look := func(name string, extra ...string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		for _, p := range extra {
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p
			}
		}
		missing = append(missing, name)
		return ""
	}
	t.QEMU = look("qemu-system-x86_64")
	t.Busybox = look("busybox", "/bin/busybox", "/usr/bin/busybox")
	t.Cyclictest = look("cyclictest", "/usr/bin/cyclictest")
	return t, missing
}

func ensureTools(tb testing.TB) (Tools, error) {
	t, missing := findTools()
	if len(missing) == 0 {
		return t, nil
	}
	how := "apt-get install -y --no-install-recommends " + aptPackages
	if os.Geteuid() != 0 {
		return t, fmt.Errorf("%s missing and not root, so cannot install them: run `sudo %s`: %w", strings.Join(missing, ", "), how, ErrUnavailable)
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return t, fmt.Errorf("%s missing and no apt-get to install them: install QEMU, a static busybox and rt-tests: %w", strings.Join(missing, ", "), ErrUnavailable)
	}
	tb.Logf("vmtest: %s missing; running %s", strings.Join(missing, ", "), how)
	start := time.Now()
	if err := aptInstall(tb, strings.Fields(aptPackages)); err != nil {
		return t, err
	}
	tb.Logf("vmtest: apt-get install took %v", time.Since(start).Round(100*time.Millisecond))
	t, missing = findTools()
	if len(missing) > 0 {
		return t, fmt.Errorf("%s still missing after `%s`: %w", strings.Join(missing, ", "), how, ErrUnavailable)
	}
	return t, nil
}

// aptInstall installs pkgs, running apt-get update first when the
// package lists do not know them.
func aptInstall(tb testing.TB, pkgs []string) error {
	tb.Helper()
	args := append([]string{"install", "-y", "--no-install-recommends"}, pkgs...)
	out, err := aptGet(args...)
	if err == nil {
		return nil
	}
	tb.Logf("vmtest: apt-get install failed (%v: %s); running apt-get update and retrying", err, tail(out))
	if uout, uerr := aptGet("update"); uerr != nil {
		return fmt.Errorf("apt-get update: %w: %s: %w", uerr, tail(uout), ErrUnavailable)
	}
	if out, err = aptGet(args...); err != nil {
		return fmt.Errorf("apt-get install %s: %w: %s: %w", strings.Join(pkgs, " "), err, tail(out), ErrUnavailable)
	}
	return nil
}

func aptGet(args ...string) ([]byte, error) {
	cmd := exec.Command("apt-get", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	return cmd.CombinedOutput()
}

// tail returns the last lines of command output, for error messages.
func tail(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}

// KernelImage is Debian's PREEMPT_RT kernel, extracted into the cache.
type KernelImage struct {
	Package string // e.g. linux-image-6.1.0-56-rt-amd64
	Version string // e.g. 6.1.192-2
	Release string // uname -r, e.g. 6.1.0-56-rt-amd64
	Vmlinuz string // path of the kernel image (bzImage)
	// Vmlinux is the uncompressed kernel ELF, which QEMU boots through
	// PVH ≈ 3 times faster under TCG; "" when it could not be made.
	Vmlinux string
	Config  string // path of its config-<release>
}

var (
	kernelOnce sync.Once
	kernelVal  KernelImage
	kernelErr  error
)

// Kernel returns Debian's current PREEMPT_RT kernel. The first call
// resolves the versioned package from linux-image-rt-amd64, downloads
// it with `apt-get download` and extracts boot/vmlinuz-* into
// <repo>/.cache/vmtest/kernel/<package>_<version>/; later calls and
// later runs reuse the cache. Without apt it falls back to the newest
// cached kernel, and skips (fails when CI=true) if there is none.
func Kernel(tb testing.TB) KernelImage {
	tb.Helper()
	kernelOnce.Do(func() { kernelVal, kernelErr = fetchKernel(tb) })
	if kernelErr != nil {
		if errors.Is(kernelErr, ErrUnavailable) {
			unavailable(tb, "%v", kernelErr)
		}
		tb.Fatalf("vmtest: %v", kernelErr)
	}
	return kernelVal
}

// dependsRE finds the versioned kernel in the metapackage's Depends
// field, e.g. "linux-image-6.1.0-56-rt-amd64 (= 6.1.192-2)".
var dependsRE = regexp.MustCompile(`(linux-image-[0-9][A-Za-z0-9.+~-]*-rt-amd64)(?:\s*\(=\s*([^)\s]+)\))?`)

// parseKernelDepends returns the versioned RT kernel package and its
// version from `apt-cache show --no-all-versions linux-image-rt-amd64`.
func parseKernelDepends(show string) (pkg, version string, err error) {
	for _, line := range strings.Split(show, "\n") {
		deps, ok := strings.CutPrefix(line, "Depends:")
		if !ok {
			continue
		}
		if m := dependsRE.FindStringSubmatch(deps); m != nil {
			return m[1], m[2], nil
		}
	}
	return "", "", fmt.Errorf("finding linux-image-*-rt-amd64 in the Depends of %s: %w", kernelMetaPkg, ErrMalformed)
}

func fetchKernel(tb testing.TB) (KernelImage, error) {
	cache, err := CacheDir()
	if err != nil {
		return KernelImage{}, err
	}
	kdir := filepath.Join(cache, "kernel")
	// Test binaries of several packages (rt/vmtest, rt/trace) fetch the
	// kernel at once when go test runs them in parallel: one fetches and
	// extracts, the others wait for it and find it cached.
	if err := os.MkdirAll(kdir, 0o755); err != nil {
		return KernelImage{}, fmt.Errorf("creating the kernel cache: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(kdir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return KernelImage{}, fmt.Errorf("locking the kernel cache: %w", err)
	}
	defer lock.Close() // closing releases the lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return KernelImage{}, fmt.Errorf("locking the kernel cache: %w", err)
	}
	if _, err := exec.LookPath("apt-cache"); err != nil {
		if k, ok := newestCachedKernel(kdir); ok {
			tb.Logf("vmtest: no apt-cache; using cached kernel %s", k.Vmlinuz)
			return k, nil
		}
		return KernelImage{}, fmt.Errorf("no apt-cache to find %s and no kernel cached in %s: %w", kernelMetaPkg, kdir, ErrUnavailable)
	}
	show, err := exec.Command("apt-cache", "show", "--no-all-versions", kernelMetaPkg).CombinedOutput()
	if err != nil || !bytes.Contains(show, []byte("Depends:")) {
		if os.Geteuid() == 0 {
			tb.Logf("vmtest: apt-cache does not know %s; running apt-get update", kernelMetaPkg)
			if out, uerr := aptGet("update"); uerr != nil {
				return KernelImage{}, fmt.Errorf("apt-get update: %w: %s: %w", uerr, tail(out), ErrUnavailable)
			}
			show, err = exec.Command("apt-cache", "show", "--no-all-versions", kernelMetaPkg).CombinedOutput()
		}
		if err != nil || !bytes.Contains(show, []byte("Depends:")) {
			if k, ok := newestCachedKernel(kdir); ok {
				tb.Logf("vmtest: apt-cache does not know %s; using cached kernel %s", kernelMetaPkg, k.Vmlinuz)
				return k, nil
			}
			return KernelImage{}, fmt.Errorf("apt-cache show %s found nothing (%s): run `apt-get update` as root: %w", kernelMetaPkg, tail(show), ErrUnavailable)
		}
	}
	pkg, version, err := parseKernelDepends(string(show))
	if err != nil {
		return KernelImage{}, err
	}
	if version == "" {
		out, err := exec.Command("apt-cache", "show", "--no-all-versions", pkg).Output()
		if err != nil {
			return KernelImage{}, fmt.Errorf("apt-cache show %s: %w", pkg, err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(line, "Version: "); ok {
				version = strings.TrimSpace(v)
				break
			}
		}
		if version == "" {
			return KernelImage{}, fmt.Errorf("finding the version of %s: %w", pkg, ErrMalformed)
		}
	}
	dir := filepath.Join(kdir, pkg+"_"+version)
	if k, ok := cachedKernel(dir, pkg, version); ok {
		return k, nil
	}
	debs := filepath.Join(cache, "debs")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return KernelImage{}, fmt.Errorf("creating kernel cache: %w", err)
	}
	deb, err := findDeb(debs, pkg, version)
	if err != nil {
		start := time.Now()
		cmd := exec.Command("apt-get", "download", pkg+"="+version)
		cmd.Dir = debs
		if out, err := cmd.CombinedOutput(); err != nil {
			return KernelImage{}, fmt.Errorf("apt-get download %s=%s: %w: %s: %w", pkg, version, err, tail(out), ErrUnavailable)
		}
		if deb, err = findDeb(debs, pkg, version); err != nil {
			return KernelImage{}, err
		}
		if st, err := os.Stat(deb); err == nil {
			tb.Logf("vmtest: downloaded %s (%.1f MB) in %v", filepath.Base(deb), float64(st.Size())/1e6, time.Since(start).Round(100*time.Millisecond))
		}
	}
	if err := extractBoot(deb, dir); err != nil {
		return KernelImage{}, err
	}
	k, ok := cachedKernel(dir, pkg, version)
	if !ok {
		return KernelImage{}, fmt.Errorf("%s has no boot/vmlinuz-*: %w", deb, ErrMalformed)
	}
	if err := extractVmlinux(k.Vmlinuz, filepath.Join(dir, "vmlinux-"+k.Release)); err != nil {
		tb.Logf("vmtest: booting the compressed bzImage, which is slower under TCG: %v", err)
	} else {
		k, _ = cachedKernel(dir, pkg, version)
	}
	return k, nil
}

// findDeb finds the downloaded .deb; apt-get escapes ':' in epochs as %3a.
func findDeb(dir, pkg, version string) (string, error) {
	v := strings.ReplaceAll(version, ":", "%3a")
	p := filepath.Join(dir, pkg+"_"+v+"_amd64.deb")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("finding the downloaded kernel package: %w", err)
	}
	return p, nil
}

func cachedKernel(dir, pkg, version string) (KernelImage, bool) {
	m, _ := filepath.Glob(filepath.Join(dir, "vmlinuz-*"))
	if len(m) != 1 {
		return KernelImage{}, false
	}
	rel := strings.TrimPrefix(filepath.Base(m[0]), "vmlinuz-")
	k := KernelImage{Package: pkg, Version: version, Release: rel, Vmlinuz: m[0]}
	if c := filepath.Join(dir, "config-"+rel); fileExists(c) {
		k.Config = c
	}
	if v := filepath.Join(dir, "vmlinux-"+rel); fileExists(v) {
		k.Vmlinux = v
	}
	return k, true
}

func newestCachedKernel(kdir string) (KernelImage, bool) {
	dirs, _ := filepath.Glob(filepath.Join(kdir, "linux-image-*_*"))
	sort.Slice(dirs, func(i, j int) bool { return modTime(dirs[i]).After(modTime(dirs[j])) })
	for _, d := range dirs {
		pkg, version, _ := strings.Cut(filepath.Base(d), "_")
		if k, ok := cachedKernel(d, pkg, version); ok {
			return k, true
		}
	}
	return KernelImage{}, false
}

func modTime(p string) time.Time {
	st, err := os.Stat(p)
	if err != nil {
		return time.Time{}
	}
	return st.ModTime()
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// extractBoot copies ./boot/vmlinuz-* and ./boot/config-* out of the
// data archive of deb (read through `dpkg-deb --fsys-tarfile`) into dir,
// skipping the ~400 MB of modules the guest does not need.
func extractBoot(deb, dir string) error {
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return fmt.Errorf("extracting kernel: %w", err)
	}
	cmd := exec.Command("dpkg-deb", "--fsys-tarfile", deb)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("extracting kernel: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("running dpkg-deb (install dpkg): %w", err)
	}
	terr := extractBootTar(bufio.NewReader(pipe), tmp)
	io.Copy(io.Discard, pipe)
	werr := cmd.Wait()
	if terr != nil {
		return terr
	}
	if werr != nil {
		return fmt.Errorf("dpkg-deb --fsys-tarfile %s: %w: %s", deb, werr, tail(stderr.Bytes()))
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("extracting kernel: %w", err)
	}
	return nil
}

func extractBootTar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading kernel package: %w", err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		base := filepath.Base(name)
		if filepath.Dir(name) != "boot" || h.Typeflag != tar.TypeReg ||
			!(strings.HasPrefix(base, "vmlinuz-") || strings.HasPrefix(base, "config-")) {
			continue
		}
		out, err := os.Create(filepath.Join(dir, base))
		if err != nil {
			return fmt.Errorf("extracting %s: %w", name, err)
		}
		_, err = io.Copy(out, tr)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("extracting %s: %w", name, err)
		}
	}
}

// RepoRoot returns the rtcell module root, found by walking up from the
// working directory to the go.mod of github.com/rtcell/rtcell.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the repo root: %w", err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/rtcell/rtcell\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("finding the repo root: no go.mod of github.com/rtcell/rtcell above the working directory: %w", ErrUnavailable)
		}
		dir = parent
	}
}

// CacheDir returns <repo>/.cache/vmtest, creating it. It holds the
// kernel package, the extracted kernel, built binaries and QEMU logs,
// and is gitignored.
func CacheDir() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	d := filepath.Join(root, ".cache", "vmtest")
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", fmt.Errorf("creating the vmtest cache: %w", err)
	}
	return d, nil
}

var (
	buildMu   sync.Mutex
	buildDone = map[string]string{}
)

// GoBinary builds the main package pkg (a path relative to the repo
// root, e.g. "./sysprep/cmd/sysprep") as a static binary
// (CGO_ENABLED=0, GOOS=linux, GOARCH=amd64) into the cache, once per
// test process, and returns its path. It returns "" when the package
// has no Go files yet; a build error fails the test.
func GoBinary(tb testing.TB, pkg string) string {
	tb.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := buildDone[pkg]; ok {
		return p
	}
	root, err := RepoRoot()
	if err != nil {
		tb.Fatalf("vmtest: %v", err)
	}
	srcs, _ := filepath.Glob(filepath.Join(root, pkg, "*.go"))
	if len(srcs) == 0 {
		buildDone[pkg] = ""
		return ""
	}
	cache, err := CacheDir()
	if err != nil {
		tb.Fatalf("vmtest: %v", err)
	}
	out := filepath.Join(cache, "bin", filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("vmtest: building %s for the guest: %v\n%s", pkg, err, b)
	}
	buildDone[pkg] = out
	return out
}
