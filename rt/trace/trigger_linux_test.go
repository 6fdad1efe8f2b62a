package trace

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTriggerFiles fires a trigger on two ordinary files: the marker
// lands in one, "0" in the other, and the second firing writes again
// (the loop fires once; the trigger itself keeps no state).
func TestTriggerFiles(t *testing.T) {
	dir := t.TempDir()
	open := func(name string) *os.File {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	tr, err := NewTrigger(open("marker"), open("on"), "control")
	if err != nil {
		t.Fatal(err)
	}
	if e1, e2 := tr.Fire(12, 1_500_000); e1 != 0 || e2 != 0 {
		t.Fatalf("Fire: errnos %v, %v", e1, e2)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	m, _ := os.ReadFile(filepath.Join(dir, "marker"))
	on, _ := os.ReadFile(filepath.Join(dir, "on"))
	if string(m) != "rtcell: task=control cycle=12 latency=1500000ns\n" || string(on) != "0" {
		t.Errorf("marker %q, tracing_on %q", m, on)
	}
}

// TestTriggerNoAlloc: the RT path allocates nothing.
func TestTriggerNoAlloc(t *testing.T) {
	dir := t.TempDir()
	m, err := os.Create(filepath.Join(dir, "marker"))
	if err != nil {
		t.Fatal(err)
	}
	on, err := os.Create(filepath.Join(dir, "on"))
	if err != nil {
		t.Fatal(err)
	}
	// The longest name and the widest numbers: the marker still fits.
	tr, err := NewTrigger(m, on, strings.Repeat("n", maxTaskName))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	n := ^uint64(0) - 2000
	if a := testing.AllocsPerRun(1000, func() {
		n++
		tr.Fire(n, -1<<63+int64(n&1))
	}); a != 0 {
		t.Errorf("Fire allocates %v objects per call, want 0", a)
	}
}

func TestTriggerClosed(t *testing.T) {
	if _, err := NewTrigger(nil, nil, "x"); err == nil {
		t.Error("NewTrigger with no files: no error")
	}
}

// TestInstanceNotTracefs: a root that is not tracefs (and not the
// default, which would be mounted) is refused with the reason.
func TestInstanceNotTracefs(t *testing.T) {
	dir := t.TempDir()
	_, err := NewInstance(InstanceOptions{Root: dir})
	if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "is not a tracefs mount") {
		t.Errorf("error %v: want ErrInvalid saying it is not a tracefs mount", err)
	}
	if _, err := NewInstance(InstanceOptions{Root: dir, BufferKB: -1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative buffer: error %v, want ErrInvalid", err)
	}
	if _, err := NewInstance(InstanceOptions{Root: dir, CPUs: []int{-1}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("cpu -1: error %v, want ErrInvalid", err)
	}
}
