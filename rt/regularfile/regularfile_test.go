package regularfile_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/regularfile"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.json")
	if err := os.WriteFile(ok, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	link := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", link); err != nil {
		t.Fatal(err)
	}

	if b, err := regularfile.Read(ok, 10); err != nil || string(b) != "0123456789" {
		t.Errorf("Read(ok, 10) = %q, %v", b, err)
	}
	var tl *regularfile.TooLargeError
	if _, err := regularfile.Read(ok, 9); !errors.As(err, &tl) || tl.Max != 9 || !strings.Contains(err.Error(), ok) {
		t.Errorf("Read(ok, 9): %v, want a TooLargeError naming the file", err)
	}
	for _, tc := range []struct{ path, kind string }{
		{fifo, "is a named pipe"},
		{"/dev/zero", "is a character device"},
		{link, "is a character device"},
		{dir, "is a directory"},
		{sock, "is a socket"},
	} {
		done := make(chan error, 1)
		go func() { _, err := regularfile.Read(tc.path, 1<<20); done <- err }()
		select {
		case err := <-done:
			var nr *regularfile.NotRegularError
			if !errors.As(err, &nr) || err.Error() != tc.path+": "+tc.kind+", not a regular file" {
				t.Errorf("Read(%s) = %v, want %q", tc.path, err, tc.kind)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("Read(%s) blocked", tc.path)
		}
	}
	if _, err := regularfile.Read(filepath.Join(dir, "missing"), 1); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
}
