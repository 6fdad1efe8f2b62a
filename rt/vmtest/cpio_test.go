package vmtest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCPIORoundTrip(t *testing.T) {
	img := NewInitramfs()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(img.AddBytes("/bin/tool", 0o755, []byte("hello")))
	must(img.AddSymlink("/bin/sh", "/bin/busybox"))
	must(img.AddCharDev("/dev/console", 0o600, 5, 1))
	must(img.AddDir("/tmp", 0o777))
	must(img.AddBytes("/etc/empty", 0o644, nil))
	var buf bytes.Buffer
	n, err := img.WriteTo(&buf)
	must(err)
	if n != int64(buf.Len()) || n%4 != 0 {
		t.Fatalf("WriteTo returned %d for %d bytes; want equal and a multiple of 4", n, buf.Len())
	}
	type got struct {
		mode         uint32
		data         string
		major, minor uint32
	}
	entries := map[string]got{}
	var order []string
	r := newCPIOReader(&buf)
	for {
		h, data, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		must(err)
		entries[h.Name] = got{h.Mode, string(data), h.RdevMajor, h.RdevMinor}
		order = append(order, h.Name)
	}
	want := map[string]got{
		"bin":         {cpioModeDir | 0o755, "", 0, 0},
		"bin/tool":    {cpioModeReg | 0o755, "hello", 0, 0},
		"bin/sh":      {cpioModeLink | 0o777, "/bin/busybox", 0, 0},
		"dev":         {cpioModeDir | 0o755, "", 0, 0},
		"dev/console": {cpioModeChr | 0o600, "", 5, 1},
		"etc":         {cpioModeDir | 0o755, "", 0, 0},
		"etc/empty":   {cpioModeReg | 0o644, "", 0, 0},
		"tmp":         {cpioModeDir | 0o777, "", 0, 0},
	}
	if len(entries) != len(want) {
		t.Errorf("archive has %v, want %d entries", order, len(want))
	}
	for name, w := range want {
		g, ok := entries[name]
		if !ok {
			t.Errorf("archive lacks %s", name)
			continue
		}
		if g != w {
			t.Errorf("%s = %+v, want %+v", name, g, w)
		}
	}
	for i, name := range order {
		if dir := filepath.Dir(name); dir != "." && !containsBefore(order[:i], dir) {
			t.Errorf("%s comes before its directory %s", name, dir)
		}
	}
}

func containsBefore(names []string, s string) bool {
	for _, n := range names {
		if n == s {
			return true
		}
	}
	return false
}

// TestCPIOBusybox checks the archive against an independent reader.
func TestCPIOBusybox(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("needs busybox to cross-check the cpio writer: apt-get install busybox-static")
	}
	img := NewInitramfs()
	if err := img.AddBytes("/a/b/c.txt", 0o644, []byte("xyz")); err != nil {
		t.Fatal(err)
	}
	if err := img.AddSymlink("/a/link", "b/c.txt"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := img.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(bb, "cpio", "-i", "-d")
	cmd.Dir = dir
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("busybox cpio -i: %v: %s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "a", "link"))
	if err != nil || string(b) != "xyz" {
		t.Fatalf("extracted a/link -> c.txt reads %q, %v; want xyz", b, err)
	}
}

func TestInitramfsErrors(t *testing.T) {
	img := NewInitramfs()
	if err := img.AddBytes("relative/path", 0o644, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("relative path: err = %v, want ErrMalformed", err)
	}
	if err := img.AddDir("/", 0o755); !errors.Is(err, ErrMalformed) {
		t.Errorf("root: err = %v, want ErrMalformed", err)
	}
	if err := img.AddBytes("/file", 0o644, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := img.AddBytes("/file/under", 0o644, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("file under a file: err = %v, want ErrMalformed", err)
	}
}

func TestCPIOReaderMalformed(t *testing.T) {
	valid := func() []byte {
		var buf bytes.Buffer
		w := newCPIOWriter(&buf)
		if err := w.WriteEntry(cpioHeader{Name: "f", Mode: cpioModeReg | 0o644, Size: 3}, strings.NewReader("abc")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	cases := map[string]func([]byte) []byte{
		"bad magic":     func(b []byte) []byte { b[0] = 'X'; return b },
		"non-hex field": func(b []byte) []byte { b[10] = 'g'; return b },
		"truncated":     func(b []byte) []byte { return b[:50] },
		"no NUL":        func(b []byte) []byte { b[cpioHdrLen+1] = 'x'; return b },
		"zero name":     func(b []byte) []byte { copy(b[6+8*11:], "00000000"); return b },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			r := newCPIOReader(bytes.NewReader(mutate(valid())))
			if _, _, err := r.Next(); err == nil || errors.Is(err, io.EOF) {
				t.Fatalf("Next = %v, want an error", err)
			}
		})
	}
}

func FuzzCPIOReader(f *testing.F) {
	var buf bytes.Buffer
	img := NewInitramfs()
	_ = img.AddBytes("/x/y", 0o644, []byte("data"))
	_, _ = img.WriteTo(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte(cpioMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newCPIOReader(bytes.NewReader(b))
		for i := 0; i < 100; i++ {
			if _, _, err := r.Next(); err != nil {
				return
			}
		}
	})
}
