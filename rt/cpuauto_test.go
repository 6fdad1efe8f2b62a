package rt

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fakeSys points AutoCPU at a sysfs with the given online and isolated
// lists for the rest of the test.
func fakeSys(t *testing.T, online, isolated string) {
	t.Helper()
	dir := t.TempDir()
	cpu := filepath.Join(dir, "devices/system/cpu")
	if err := os.MkdirAll(cpu, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(cpu, "online"), []byte(online+"\n"), 0o644)
	os.WriteFile(filepath.Join(cpu, "isolated"), []byte(isolated+"\n"), 0o644)
	old := sysRoot
	sysRoot = dir
	t.Cleanup(func() { sysRoot = old })
}

func TestAutoCPU(t *testing.T) {
	fakeSys(t, "0-3", "")
	if c := AutoCPU(); c != 3 {
		t.Errorf("no isolated CPU: AutoCPU() = %d, want the last online, 3", c)
	}
	fakeSys(t, "0-3", "2-3")
	if c := AutoCPU(); c != 2 {
		t.Errorf("isolated 2-3: AutoCPU() = %d, want 2", c)
	}
	// The zero value of ThreadOptions is auto, not CPU 0.
	l, err := NewLoop(LoopOptions{Period: time.Millisecond, Thread: ThreadOptions{Policy: PolicyOther}}, func(*Cycle) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	if th := l.Options().Thread; th.CPU != 2 || !th.Pin {
		t.Errorf("zero ThreadOptions: CPU %d pin %v, want 2 pinned", th.CPU, th.Pin)
	}
	// CPU 0 stays possible, explicitly; -1 still leaves the affinity alone.
	for _, want := range []ThreadOptions{{CPU: 0, Pin: true, Policy: PolicyOther}, {CPU: -1, Policy: PolicyOther}, {CPU: 1, Policy: PolicyOther}} {
		l, err := NewLoop(LoopOptions{Period: time.Millisecond, Thread: want}, func(*Cycle) bool { return false })
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Options().Thread; got.CPU != want.CPU {
			t.Errorf("ThreadOptions %+v became CPU %d", want, got.CPU)
		}
	}
	if _, err := NewLoop(LoopOptions{Period: time.Millisecond, Thread: ThreadOptions{CPU: -1, Pin: true, Policy: PolicyOther}}, func(*Cycle) bool { return false }); !errors.Is(err, ErrInvalid) {
		t.Errorf("Pin with CPU -1: err %v, want ErrInvalid", err)
	}
}

// TestProgramAutoCPUs: a Program's tasks on auto take distinct free
// isolated CPUs, then the last online CPU; explicit CPUs are kept and
// count as taken.
func TestProgramAutoCPUs(t *testing.T) {
	fakeSys(t, "0-5", "2-4")
	task := func(th ThreadOptions) Task { return Task{Loop: LoopOptions{Thread: th}} }
	p := Program{Tasks: []Task{
		task(ThreadOptions{}),
		task(ThreadOptions{CPU: 2}),
		task(ThreadOptions{}),
		task(ThreadOptions{}),
		task(ThreadOptions{CPU: 0, Pin: true}),
	}}
	var got []int
	for _, tk := range p.resolveCPUs() {
		got = append(got, tk.Loop.Thread.CPU)
	}
	want := []int{3, 2, 4, 5, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("CPUs %v, want %v", got, want)
		}
	}
	if p.Tasks[0].Loop.Thread.CPU != 0 || p.Tasks[0].Loop.Thread.Pin {
		t.Error("resolveCPUs changed the caller's Program")
	}
}
