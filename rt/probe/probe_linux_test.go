package probe

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rtcell/rtcell/rt/rttest"
	"golang.org/x/sys/unix"
)

func TestFIFORestoresCaller(t *testing.T) {
	rttest.RequireCap(t, rttest.CapSysNice)
	before, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := FIFO(80); err != nil {
		t.Fatalf("FIFO(80) with CAP_SYS_NICE: %v", err)
	}
	// The probe ran on another thread; this one must be untouched, and no
	// thread of the process may be left at SCHED_FIFO.
	after, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if after.Policy != before.Policy || after.Priority != before.Priority {
		t.Fatalf("calling thread changed: %+v -> %+v", before, after)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join("/proc/self/task", task.Name(), "sched"))
		if err != nil {
			continue // thread exited
		}
		if policyOf(string(b)) == unix.SCHED_FIFO {
			t.Errorf("thread %s left at SCHED_FIFO", task.Name())
		}
	}
}

// policyOf extracts "policy : N" from /proc/<pid>/task/<tid>/sched.
func policyOf(sched string) int {
	for _, line := range strings.Split(sched, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == "policy" {
			p, err := strconv.Atoi(strings.TrimSpace(v))
			if err == nil {
				return p
			}
		}
	}
	return -1
}

func TestFIFOInvalid(t *testing.T) {
	for _, p := range []int{0, 100, -1} {
		if err := FIFO(p); !errors.Is(err, ErrInvalid) {
			t.Errorf("FIFO(%d) = %v, want ErrInvalid", p, err)
		}
	}
}

func TestFileCaps(t *testing.T) {
	rttest.RequireRoot(t) // setting security.* attributes needs CAP_SETFCAP
	dir := t.TempDir()
	bin := filepath.Join(dir, "runner")
	if err := os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := FileCaps(bin); !errors.Is(err, ErrNoFileCaps) {
		t.Fatalf("FileCaps on a plain file = %v, want ErrNoFileCaps", err)
	}
	blob := capBlob(0x02000001, 1<<CapSysNice|1<<CapIPCLock, 0, 0, 0)
	if err := unix.Setxattr(bin, "security.capability", blob, 0); err != nil {
		t.Skipf("filesystem of %s refuses security.capability: %v", dir, err)
	}
	c, err := FileCaps(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Has(CapSysNice) || !c.Has(CapIPCLock) || !c.Effective {
		t.Fatalf("FileCaps = %v, want cap_ipc_lock,cap_sys_nice=ep", c)
	}
	if _, err := FileCaps(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("FileCaps on a missing file succeeded")
	}
}

func TestUname(t *testing.T) {
	u, err := Uname()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Skip(err)
	}
	if u.Sysname != "Linux" || u.Release+"\n" != string(want) {
		t.Fatalf("Uname = %+v, /proc says release %q", u, want)
	}
}
