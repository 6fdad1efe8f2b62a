package cyclictest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/rttest"
)

// deadPID returns the PID of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	return cmd.Process.Pid
}

// zombiePID returns the PID of a child that has exited but is not reaped
// until the test ends.
func zombiePID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	t.Cleanup(func() { cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for !rttest.ProcessGone(cmd.Process.Pid) {
		if time.Now().After(deadline) {
			t.Fatalf("true (pid %d) still running after 10s", cmd.Process.Pid)
		}
		time.Sleep(time.Millisecond)
	}
	return cmd.Process.Pid
}

func TestOwnerPID(t *testing.T) {
	tests := []struct {
		name string
		pid  int
		ok   bool
	}{
		{"rtcell-cyclictest-4711-123456", 4711, true},
		{"rtcell-cyclictest-1-9", 1, true},
		{"rtcell-cyclictest-123456", 0, false}, // the old layout, without an owner
		{"rtcell-cyclictest-4711-", 0, false},
		{"rtcell-cyclictest--5-1", 0, false},
		{"rtcell-cyclictest-0-1", 0, false},
		{"rtcell-cyclictest-x-1", 0, false},
		{"rtcell-cyclictest-+5-1", 0, false},
		{"rtcell-cyclictest-05-1", 0, false},
		{"other-4711-1", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		pid, ok := ownerPID(tt.name)
		if pid != tt.pid || ok != tt.ok {
			t.Errorf("ownerPID(%q) = %d, %v; want %d, %v", tt.name, pid, ok, tt.pid, tt.ok)
		}
	}
}

func TestSweepStale(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, isDir bool) string {
		p := filepath.Join(dir, name)
		var err error
		if isDir {
			err = os.MkdirAll(filepath.Join(p, "sub"), 0o755)
			if err == nil {
				err = os.WriteFile(filepath.Join(p, "result.json"), []byte("{}"), 0o644)
			}
		} else {
			err = os.WriteFile(p, nil, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	dead, zombie := deadPID(t), zombiePID(t)
	stale := mk(fmt.Sprintf("rtcell-cyclictest-%d-1", dead), true)
	staleZ := mk(fmt.Sprintf("rtcell-cyclictest-%d-2", zombie), true)
	mine := mk(fmt.Sprintf("rtcell-cyclictest-%d-3", os.Getpid()), true)
	pid1 := mk("rtcell-cyclictest-1-4", true)
	old := mk("rtcell-cyclictest-123456", true)
	file := mk(fmt.Sprintf("rtcell-cyclictest-%d-5", dead), false)
	other := mk(fmt.Sprintf("keep-%d-6", dead), true)

	removed, err := SweepStale(dir)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	want := []string{stale, staleZ}
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	for _, p := range want {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there (%v)", p, err)
		}
	}
	for _, p := range []string{mine, pid1, old, file, other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
	if _, err := SweepStale(filepath.Join(dir, "missing")); err == nil {
		t.Error("no error for a missing directory")
	}
}

// TestRunSweepsWorkDir: Run removes a dead run's directory from its work
// directory before it starts, and its own when it returns, and keeps
// both files' text.
func TestRunSweepsWorkDir(t *testing.T) {
	rttest.RequireCommand(t, "sh", "apt-get install -y dash")
	work := t.TempDir()
	stale := filepath.Join(work, fmt.Sprintf("rtcell-cyclictest-%d-99", deadPID(t)))
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	dir, _ := filepath.Abs("testdata")
	script := `for a; do case $a in
--json=*) cp ` + dir + `/t1-h1000.json "${a#--json=}";;
--histfile=*) cp ` + dir + `/t1-h1000.hist "${a#--histfile=}";;
esac; done`
	res, err := Run(context.Background(), Options{Path: fakeCyclictest(t, script), Loops: 1, WorkDir: work})
	if err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(work)
	if len(left) != 0 {
		t.Errorf("work directory not empty after Run: %v", left)
	}
	wantJSON, _ := os.ReadFile(filepath.Join(dir, "t1-h1000.json"))
	wantHist, _ := os.ReadFile(filepath.Join(dir, "t1-h1000.hist"))
	if string(res.JSONText) != string(wantJSON) || string(res.HistText) != string(wantHist) {
		t.Errorf("kept text differs from the files cyclictest wrote (%d/%d bytes, want %d/%d)",
			len(res.JSONText), len(res.HistText), len(wantJSON), len(wantHist))
	}
}

func FuzzOwnerPID(f *testing.F) {
	for _, s := range []string{"rtcell-cyclictest-4711-1", "rtcell-cyclictest-123", "rtcell-cyclictest--1-2", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		pid, ok := ownerPID(name)
		if !ok {
			return
		}
		if pid <= 0 || !strings.HasPrefix(name, fmt.Sprintf("%s%d-", workPrefix, pid)) {
			t.Errorf("ownerPID(%q) = %d", name, pid)
		}
	})
}
