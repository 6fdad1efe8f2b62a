package vmtest

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestParseKernelDepends(t *testing.T) {
	cases := []struct {
		name, in     string
		pkg, version string
		wantErr      bool
	}{
		{
			name:    "bookworm security",
			in:      "Package: linux-image-rt-amd64\nVersion: 6.1.192-2\nDepends: linux-image-6.1.0-56-rt-amd64 (= 6.1.192-2)\n",
			pkg:     "linux-image-6.1.0-56-rt-amd64",
			version: "6.1.192-2",
		},
		{
			name:    "several depends",
			in:      "Depends: kmod, linux-image-6.12.48+deb13-rt-amd64 (= 6.12.48-1), foo\n",
			pkg:     "linux-image-6.12.48+deb13-rt-amd64",
			version: "6.12.48-1",
		},
		{
			name: "unversioned",
			in:   "Depends: linux-image-6.1.0-50-rt-amd64\n",
			pkg:  "linux-image-6.1.0-50-rt-amd64",
		},
		{name: "no depends", in: "Package: linux-image-rt-amd64\n", wantErr: true},
		{name: "not an rt kernel", in: "Depends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)\n", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pkg, version, err := parseKernelDepends(c.in)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, c.wantErr)
			}
			if pkg != c.pkg || version != c.version {
				t.Errorf("got %q %q, want %q %q", pkg, version, c.pkg, c.version)
			}
		})
	}
}

// fakeBzImage builds a minimal bzImage header around payload+size.
func fakeBzImage(payload []byte, size uint32) []byte {
	const setup = 1
	img := make([]byte, (setup+1)*512)
	img[bzSetupSects] = setup
	copy(img[bzHeaderMagic:], "HdrS")
	binary.LittleEndian.PutUint16(img[bzVersion:], 0x20f)
	binary.LittleEndian.PutUint32(img[bzPayloadOffset:], 16)
	body := append(make([]byte, 16), payload...)
	body = binary.LittleEndian.AppendUint32(body, size)
	binary.LittleEndian.PutUint32(img[bzPayloadLength:], uint32(len(payload)+4))
	return append(img, body...)
}

func TestBzPayload(t *testing.T) {
	p, size, err := bzPayload(fakeBzImage([]byte("\xfd7zXZ\x00rest"), 1234))
	if err != nil || string(p) != "\xfd7zXZ\x00rest" || size != 1234 {
		t.Fatalf("bzPayload = %q, %d, %v", p, size, err)
	}
	bad := map[string]func([]byte) []byte{
		"short":           func(b []byte) []byte { return b[:100] },
		"no HdrS":         func(b []byte) []byte { b[bzHeaderMagic] = 'X'; return b },
		"old protocol":    func(b []byte) []byte { binary.LittleEndian.PutUint16(b[bzVersion:], 0x204); return b },
		"length past end": func(b []byte) []byte { binary.LittleEndian.PutUint32(b[bzPayloadLength:], 1<<30); return b },
		"length < 4":      func(b []byte) []byte { binary.LittleEndian.PutUint32(b[bzPayloadLength:], 2); return b },
	}
	for name, mutate := range bad {
		t.Run(name, func(t *testing.T) {
			if _, _, err := bzPayload(mutate(fakeBzImage([]byte("x"), 1))); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func FuzzBzPayload(f *testing.F) {
	f.Add(fakeBzImage([]byte("abc"), 3))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, _, err := bzPayload(b)
		if err == nil && len(p) > len(b) {
			t.Fatalf("payload longer than the image")
		}
	})
}

func note(name string, typ uint32, desc []byte) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, uint32(len(name)+1))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(desc)))
	b = binary.LittleEndian.AppendUint32(b, typ)
	n := append([]byte(name), 0)
	for len(n)%4 != 0 {
		n = append(n, 0)
	}
	b = append(b, n...)
	for len(desc)%4 != 0 {
		desc = append(desc, 0)
	}
	return append(b, desc...)
}

func TestNotesHave(t *testing.T) {
	le := binary.LittleEndian
	seg := append(note("GNU", 3, []byte("build-id")), note("Xen", xenElfnotePhys32Entry, []byte{1, 2, 3, 4})...)
	if !notesHave(seg, le, "Xen", xenElfnotePhys32Entry) {
		t.Error("PVH note not found after a GNU note")
	}
	if notesHave(note("Xen", 5, []byte("xen-3.0")), le, "Xen", xenElfnotePhys32Entry) {
		t.Error("found a PVH note in a segment with another Xen note only")
	}
	if notesHave(seg[:20], le, "Xen", xenElfnotePhys32Entry) {
		t.Error("found a note in a truncated segment")
	}
	huge := note("Xen", xenElfnotePhys32Entry, nil)
	le.PutUint32(huge, 0xffffffff)
	if notesHave(huge, le, "Xen", xenElfnotePhys32Entry) {
		t.Error("accepted a note with namesz past the segment")
	}
}

func TestSharedLibraries(t *testing.T) {
	dyn := ""
	for _, p := range []string{"/usr/bin/cyclictest", "/bin/ls", "/usr/bin/env"} {
		if interp, _, err := elfDeps(p); err == nil && interp != "" {
			dyn = p
			break
		}
	}
	if dyn == "" {
		t.Skip("needs a dynamically linked binary (/bin/ls) to resolve")
	}
	libs, err := SharedLibraries(dyn)
	if err != nil {
		t.Fatal(err)
	}
	var hasLibc, hasInterp bool
	for _, l := range libs {
		if _, err := os.Stat(l.Host); err != nil {
			t.Errorf("library %s does not exist: %v", l.Host, err)
		}
		hasLibc = hasLibc || filepath.Base(l.Guest) == "libc.so.6"
		hasInterp = hasInterp || strings.HasPrefix(filepath.Base(l.Guest), "ld-linux")
	}
	if !hasLibc || !hasInterp {
		t.Errorf("libraries of %s = %v, want libc.so.6 and the ld-linux interpreter", dyn, libs)
	}
	if _, err := sharedLibraries(dyn, []string{t.TempDir()}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("with no library dirs: err = %v, want ErrUnavailable", err)
	}
	// A script is not ELF and needs nothing.
	script := filepath.Join(t.TempDir(), "s.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if libs, err := SharedLibraries(script); err != nil || len(libs) != 0 {
		t.Errorf("script: %v, %v; want none", libs, err)
	}
}

func TestGoBinaryStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command")
	}
	bin := GoBinary(t, "./rt/vmtest/internal/fscapture")
	interp, needed, err := elfDeps(bin)
	if err != nil || interp != "" || len(needed) != 0 {
		t.Fatalf("%s: interp %q needed %v err %v; want a static binary for the guest", bin, interp, needed, err)
	}
	if GoBinary(t, "./rt/vmtest/no-such-package") != "" {
		t.Error("GoBinary of a package with no Go files returned a path")
	}
}

func TestCaptureTree(t *testing.T) {
	root := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("proc/cmdline", "isolcpus=1\n")
	write("proc/irq/4/smp_affinity", "1\n")
	write("proc/big", strings.Repeat("x", MaxCaptureFileBytes+1))
	write("sys/devices/virtual/workqueue/writeback/cpumask", "1\n")
	if err := os.MkdirAll(filepath.Join(root, "proc/irq/4/ttyS0"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "sys/bus/workqueue/devices"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../devices/virtual/workqueue/writeback", filepath.Join(root, "sys/bus/workqueue/devices/writeback")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(root, "proc/outside")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	skipped, err := CaptureTree(&buf, root, []string{
		"/proc/cmdline", "/proc/irq/*/*", "/proc/big", "/proc/outside", "/proc/missing",
		"/sys/bus/workqueue/devices/writeback/cpumask",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) != 1 || !strings.HasPrefix(skipped[0], "proc/big") {
		t.Errorf("skipped = %q, want only proc/big (too large)", skipped)
	}
	dest := filepath.Join(t.TempDir(), "fixture")
	files, _, err := UnpackFixture(&buf, dest)
	if err != nil {
		t.Fatal(err)
	}
	if files != 4 {
		t.Errorf("unpacked %d files, want 4", files)
	}
	for rel, want := range map[string]string{
		"proc/cmdline":            "isolcpus=1\n",
		"proc/irq/4/smp_affinity": "1\n",
		"proc/outside":            readOrEmpty("/etc/passwd"),
		"sys/bus/workqueue/devices/writeback/cpumask": "1\n",
		"proc/irq/4/ttyS0/.gitkeep":                   "",
	} {
		st, err := os.Lstat(filepath.Join(dest, rel))
		if err != nil || !st.Mode().IsRegular() {
			t.Errorf("%s: %v, want a regular file", rel, err)
			continue
		}
		if got := readOrEmpty(filepath.Join(dest, rel)); got != want {
			t.Errorf("%s = %q, want %q", rel, got, want)
		}
	}
}

func readOrEmpty(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func TestCaptureSelf(t *testing.T) {
	if _, err := os.Readlink("/proc/self"); err != nil {
		t.Skip("needs /proc")
	}
	var buf bytes.Buffer
	if _, err := CaptureTree(&buf, "/", []string{"/proc/self", "/proc/self/status"}); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	if _, _, err := UnpackFixture(&buf, dest); err != nil {
		t.Fatal(err)
	}
	target, err := os.Readlink(filepath.Join(dest, "proc/self"))
	if err != nil || target != strconv.Itoa(os.Getpid()) {
		t.Fatalf("proc/self -> %q (%v), want this process's pid %d", target, err, os.Getpid())
	}
	if b := readOrEmpty(filepath.Join(dest, "proc/self/status")); !strings.Contains(b, "CapEff:") {
		t.Errorf("proc/self/status through the link = %q, want a status file", b)
	}
}

func TestUnpackFixtureRejects(t *testing.T) {
	cases := map[string]tar.Header{
		"dotdot":           {Name: "../escape", Typeflag: tar.TypeReg},
		"absolute":         {Name: "/etc/x", Typeflag: tar.TypeReg},
		"symlink outside":  {Name: "proc/self", Typeflag: tar.TypeSymlink, Linkname: "/proc/1"},
		"symlink up":       {Name: "proc/self", Typeflag: tar.TypeSymlink, Linkname: ".."},
		"device node":      {Name: "dev/null", Typeflag: tar.TypeChar},
		"symlink with dir": {Name: "proc/self", Typeflag: tar.TypeSymlink, Linkname: "a/b"},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			if err := tw.WriteHeader(&h); err != nil {
				t.Fatal(err)
			}
			tw.Close()
			if _, _, err := UnpackFixture(&buf, filepath.Join(t.TempDir(), "f")); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}
