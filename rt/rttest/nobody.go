package rttest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// NobodyUID is the user and group ID of nobody, under which tests run
// children to see what an unprivileged user gets.
const NobodyUID = 65534

// AsNobody returns process attributes that run a child as user and group
// nobody (the test must run as root).
func AsNobody() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: NobodyUID, Gid: NobodyUID}}
}

// NobodyDir makes a temporary directory with mode (0o755 to read and run
// from it, 0o777 or 0o1777 for a child that writes there too), removed
// when the test ends. t.TempDir's parent is private to root, so a child
// running as nobody could not reach anything below it.
func NobodyDir(tb testing.TB, mode os.FileMode) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "rtcell-nobody-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, mode); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// CopyForNobody copies the executable at src into a new NobodyDir with
// dirMode and returns the copy's path: the Go build cache that holds test
// and command binaries may be private to root too.
func CopyForNobody(tb testing.TB, src string, dirMode os.FileMode) string {
	tb.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		tb.Fatal(err)
	}
	bin := filepath.Join(NobodyDir(tb, dirMode), filepath.Base(src))
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		tb.Fatal(err)
	}
	return bin
}
