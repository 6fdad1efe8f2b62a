package config

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestLoadRefusesSpecialFiles checks that Load refuses at once, and
// without reading, whatever is not a regular file: it must neither
// block on a named pipe nor read an endless device.
func TestLoadRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "nowriter.toml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	// A FIFO with a writer that has written a little and never closes:
	// a reader that read it would wait for EOF forever.
	open := filepath.Join(dir, "openwriter.toml")
	if err := syscall.Mkfifo(open, 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	w, err := os.OpenFile(open, os.O_RDWR, 0) // O_RDWR: does not wait for a reader
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.WriteString(okTask); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s.toml")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatalf("listening on a unix socket: %v", err)
	}
	defer ln.Close()
	link := filepath.Join(dir, "link.toml")
	if err := os.Symlink("/dev/zero", link); err != nil {
		t.Fatal(err)
	}

	tests := []struct{ name, path, kind string }{
		{"FIFO without a writer", fifo, "is a named pipe"},
		{"FIFO with a writer that never closes", open, "is a named pipe"},
		{"/dev/zero", "/dev/zero", "is a character device"},
		{"/dev/urandom", "/dev/urandom", "is a character device"},
		{"symlink to /dev/zero", link, "is a character device"},
		{"directory", dir, "is a directory"},
		{"unix socket", sock, "is a socket"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := os.Stat(tc.path); err != nil {
				t.Skipf("no %s here: %v", tc.path, err)
			}
			bounded(t, "Load", func() { _, err = Load(tc.path, twoCPUs) })
			want := tc.path + ": " + tc.kind + ", not a regular file"
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("error %v, want prefix %q", err, want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) is false for %v", err)
			}
		})
	}
	// The pipe's content is still there: Load did not read it.
	buf := make([]byte, len(okTask))
	if n, err := w.Read(buf); err != nil || n != len(okTask) {
		t.Errorf("reading the pipe back: %d bytes, %v; Load must not read from a pipe", n, err)
	}
}
