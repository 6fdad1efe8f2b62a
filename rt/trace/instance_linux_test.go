package trace

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rtcell/rtcell/rt/rttest"
)

func readTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestInstanceLifecycle creates an instance, checks its configuration
// in tracefs, freezes it with a trigger and finds the marker in its
// trace, then removes it.
func TestInstanceLifecycle(t *testing.T) {
	rttest.RequireRoot(t)
	in, err := NewInstance(InstanceOptions{CPUs: []int{0}, BufferKB: 512})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Remove()
	if in.Name() != "rtcell-"+strconv.Itoa(os.Getpid()) {
		t.Errorf("name %q", in.Name())
	}
	dir := in.Dir()
	if got := readTrim(t, filepath.Join(dir, "trace_clock")); !strings.Contains(got, "[mono]") {
		t.Errorf("trace_clock %q: want [mono] selected", got)
	}
	// The kernel rounds the size up to whole sub-buffers.
	if got, _ := strconv.Atoi(readTrim(t, filepath.Join(dir, "buffer_size_kb"))); got < 512 || got > 600 {
		t.Errorf("buffer_size_kb %d, want 512 (rounded up to a few pages)", got)
	}
	if got := strings.TrimLeft(strings.ReplaceAll(readTrim(t, filepath.Join(dir, "tracing_cpumask")), ",", ""), "0"); got != "1" {
		t.Errorf("tracing_cpumask %q, want CPU 0 only", got)
	}
	for _, ev := range []string{"sched/sched_switch", "sched/sched_waking", "irq/irq_handler_entry", "irq/softirq_entry", "timer/hrtimer_expire_entry"} {
		if !slices.Contains(in.Enabled(), ev) {
			t.Errorf("%s not enabled (enabled: %v)", ev, in.Enabled())
			continue
		}
		if got := readTrim(t, filepath.Join(dir, "events", ev, "enable")); got != "1" {
			t.Errorf("%s/enable reads %q", ev, got)
		}
	}
	for _, ev := range in.Enabled() {
		if strings.HasPrefix(ev, "irq_vectors/vector_") {
			t.Errorf("%s enabled: only vector handlers are wanted", ev)
		}
	}
	// The global buffer is not touched: its tracing_on and events are
	// whatever they were.
	if on, err := in.Recording(); err != nil || !on {
		t.Fatalf("recording %v, %v; want on", on, err)
	}
	m, o, err := in.TriggerFiles()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrigger(m, o, "lifecycle")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	// The marker is recorded in the buffer of the CPU that writes it,
	// and the instance records CPU 0 only: write from there, as the loop
	// writes from its own CPU.
	// Locked for good: the thread ends with the test's goroutine, and
	// its affinity with it.
	runtime.LockOSThread()
	var set unix.CPUSet
	set.Set(0)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	// Run something on CPU 0 so that the buffer has events.
	exec.Command("taskset", "-c", "0", "true").Run()
	if e1, e2 := tr.Fire(3, 1234); e1 != 0 || e2 != 0 {
		t.Fatalf("Fire: %v, %v", e1, e2)
	}
	if on, err := in.Recording(); err != nil || on {
		t.Errorf("after Fire: recording %v, %v; want off", on, err)
	}
	// Another marker after the freeze does not reach the buffer.
	tr.Fire(4, 5678)
	if err := in.Remove(); err == nil {
		t.Error("Remove succeeded with trace_marker open")
	}
	tr.Close()
	var buf bytes.Buffer
	if err := in.WriteTrace(&buf); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	if !strings.Contains(text, "rtcell: task=lifecycle cycle=3 latency=1234ns") {
		t.Errorf("marker missing from the trace:\n%s", tail(text, 2000))
	}
	if strings.Contains(text, "cycle=4 latency=5678ns") {
		t.Errorf("a marker written after tracing_on 0 reached the trace")
	}
	if err := in.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still there after Remove: %v", dir, err)
	}
	if err := in.Remove(); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestInstanceSweep: an instance left by a process that is gone (as a
// SIGKILLed run leaves it) is removed by the next NewInstance; one of a
// live process is kept.
func TestInstanceSweep(t *testing.T) {
	rttest.RequireRoot(t)
	if _, err := os.Stat(filepath.Join(DefaultRoot, "instances")); err != nil {
		// Let NewInstance mount tracefs first.
		in, err := NewInstance(InstanceOptions{})
		if err != nil {
			t.Fatal(err)
		}
		in.Remove()
	}
	// A PID that existed and is gone.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(DefaultRoot, "instances", InstancePrefix+strconv.Itoa(cmd.Process.Pid))
	// A live process that is not this one.
	live := exec.Command("sleep", "30")
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	defer live.Process.Kill()
	alive := filepath.Join(DefaultRoot, "instances", InstancePrefix+strconv.Itoa(live.Process.Pid))
	for _, d := range []string{dead, alive} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	defer removeDir(alive)
	defer removeDir(dead)
	in, err := NewInstance(InstanceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Remove()
	if !slices.Contains(in.Swept(), filepath.Base(dead)) {
		t.Errorf("swept %v, want %s", in.Swept(), filepath.Base(dead))
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("stale %s still there", dead)
	}
	if _, err := os.Stat(alive); err != nil {
		t.Errorf("live process's %s removed: %v", alive, err)
	}
}

// TestInstanceNotRoot: without root the error says so, and it is
// ErrPermission; run as user nobody.
func TestInstanceNotRoot(t *testing.T) {
	if os.Getenv("RTCELL_TRACE_NOBODY") == "1" {
		_, err := NewInstance(InstanceOptions{})
		if err == nil {
			os.Exit(3)
		}
		os.Stdout.WriteString(err.Error())
		os.Exit(0)
	}
	rttest.RequireRoot(t)
	bin := rttest.CopyForNobody(t, os.Args[0], 0o755)
	cmd := exec.Command(bin, "-test.run=^TestInstanceNotRoot$")
	cmd.Env = append(os.Environ(), "RTCELL_TRACE_NOBODY=1")
	cmd.SysProcAttr = rttest.AsNobody()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("as nobody: %v; output %q", err, out)
	}
	s := string(out)
	t.Logf("as nobody: %s", s)
	if !strings.Contains(s, "root") {
		t.Errorf("error %q does not say root is needed", s)
	}
}

// BenchmarkTriggerFire measures the breach path on a real instance: the
// marker and the write of 0 to tracing_on, from the recording CPU. Each
// iteration turns recording back on outside the timer.
func BenchmarkTriggerFire(b *testing.B) {
	rttest.RequireRoot(b)
	in, err := NewInstance(InstanceOptions{CPUs: []int{0}})
	if err != nil {
		b.Fatal(err)
	}
	defer in.Remove()
	m, o, err := in.TriggerFiles()
	if err != nil {
		b.Fatal(err)
	}
	tr, err := NewTrigger(m, o, "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	runtime.LockOSThread() // for good: the thread ends with the benchmark
	var set unix.CPUSet
	set.Set(0)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		b.Fatal(err)
	}
	on, err := os.OpenFile(filepath.Join(in.Dir(), "tracing_on"), os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer on.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		on.WriteAt([]byte("1"), 0)
		b.StartTimer()
		if e1, e2 := tr.Fire(uint64(i), 1_500_000); e1 != 0 || e2 != 0 {
			b.Fatalf("Fire: %v, %v", e1, e2)
		}
	}
}

// TestInstanceMountsTracefs: where tracefs is not mounted, NewInstance
// mounts it and says so. The test unmounts it in a private mount
// namespace (unshare), so the rest of the box keeps its mount.
func TestInstanceMountsTracefs(t *testing.T) {
	if os.Getenv("RTCELL_TRACE_UNMOUNTED") == "1" {
		in, err := NewInstance(InstanceOptions{})
		if err != nil {
			os.Stdout.WriteString("error: " + err.Error())
			os.Exit(0)
		}
		defer in.Remove()
		os.Stdout.WriteString("mounted=" + strconv.FormatBool(in.Mounted()) + " events=" + strconv.Itoa(len(in.Enabled())))
		return
	}
	rttest.RequireRoot(t)
	unshare := rttest.RequireCommand(t, "unshare", "apt-get install -y util-linux")
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c",
		`umount `+DefaultRoot+` 2>/dev/null; if grep -q " `+DefaultRoot+` " /proc/self/mounts; then echo still-mounted; exit 0; fi; exec "$0" -test.run='^TestInstanceMountsTracefs$'`, os.Args[0])
	cmd.Env = append(os.Environ(), "RTCELL_TRACE_UNMOUNTED=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	s := string(out)
	t.Logf("child: %s", s)
	if strings.HasPrefix(s, "still-mounted") {
		t.Skip("could not unmount tracefs in a private mount namespace")
	}
	if !strings.HasPrefix(s, "mounted=true events=") || strings.HasPrefix(s, "mounted=true events=0") {
		t.Errorf("in a namespace without tracefs: %q, want it mounted and events enabled", s)
	}
}
