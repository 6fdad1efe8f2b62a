package load

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/procfs"

	"github.com/rtcell/rtcell/rt/child"
	"github.com/rtcell/rtcell/rt/cpulist"
	"github.com/rtcell/rtcell/rt/rttest"
)

// envHelper makes the test binary a parent that starts load and waits to
// be killed (TestHelperParent).
const envHelper = "RTCELL_LOAD_TEST_PARENT"

func requireTools(t *testing.T) {
	t.Helper()
	rttest.RequireCommand(t, StressNG, "make deps (apt-get install -y stress-ng)")
	rttest.RequireCommand(t, Hackbench, "make deps (apt-get install -y rt-tests)")
}

// loadCPU is the CPU the tests confine the load to: the first online
// one. On a box with more than one CPU the test process itself may run
// on others, so the confinement is visible.
func loadCPU(t *testing.T) int {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		t.Skipf("reading online CPUs: %v", err)
	}
	cpus, err := cpulist.Parse(strings.TrimSpace(string(b)))
	if err != nil || len(cpus) == 0 {
		t.Skipf("parsing online CPUs %q: %v", b, err)
	}
	return cpus[0]
}

// TestStartConfinesAndStops starts stress-ng and hackbench on one CPU,
// reads the affinity of their processes (grandchildren of the keeper
// included), and checks that Stop leaves none of them.
func TestStartConfinesAndStops(t *testing.T) {
	requireTools(t)
	cpu := loadCPU(t)
	l, err := Start(Spec{StressNG: true, StressNGArgs: []string{"--cpu", "2", "--switch", "1"}, Hackbench: true,
		HackbenchArgs: []string{"-P", "-g", "1", "-l", "100000"}, CPUs: []int{cpu}})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			l.Stop()
		}
	}()
	procs := rttest.WaitLoad(t, l.PID(), 3, 10*time.Second)
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, pid := range append(procs, l.PID()) {
		p, err := fs.Proc(pid)
		if err != nil {
			continue
		}
		st, err := p.NewStatus()
		if err != nil {
			continue // exited meanwhile (a hackbench round ending)
		}
		checked++
		if ps, err := p.Stat(); err == nil && pid != l.PID() && (ps.Policy != 0 || ps.Nice != 0) {
			t.Errorf("pid %d (%s): policy %d nice %d, want the load at SCHED_OTHER nice 0 (the keeper's boost must not be inherited)", pid, st.Name, ps.Policy, ps.Nice)
		}
		if !slices.Equal(st.CpusAllowedList, []uint64{uint64(cpu)}) {
			t.Errorf("pid %d (%s): Cpus_allowed_list %v, want [%d]", pid, st.Name, st.CpusAllowedList, cpu)
		}
	}
	if checked < 4 {
		t.Fatalf("read the affinity of %d load processes, want ≥ 4", checked)
	}
	t0 := time.Now()
	res, err := l.Stop()
	t.Logf("Stop took %v", time.Since(t0))
	stopped = true
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.CPUs, []int{cpu}) || len(res.Commands) != 2 {
		t.Fatalf("result %+v: want CPUs [%d] and two commands", res, cpu)
	}
	for _, c := range res.Commands {
		if c.Error != "" || c.Starts < 1 {
			t.Errorf("%s: %+v, want started without error", c.Name, c)
		}
	}
	if res.Commands[0].Cmdline != "stress-ng --cpu 2 --switch 1" {
		t.Errorf("cmdline %q", res.Commands[0].Cmdline)
	}
	rttest.WaitGone(t, append(procs, l.PID()), 2*time.Second, "the parent died")
	if _, err := l.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// TestHackbenchLoops: hackbench is started again each time it ends.
func TestHackbenchLoops(t *testing.T) {
	requireTools(t)
	l, err := Start(Spec{Hackbench: true, HackbenchArgs: []string{"-P", "-g", "1", "-l", "10"}, CPUs: []int{loadCPU(t)}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	res, err := l.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if hb := res.Commands[0]; hb.Starts < 2 || hb.Error != "" {
		t.Errorf("hackbench %+v after 1.5 s of 10-message rounds: want it started again (≥ 2) without error", hb)
	}
}

// TestGeneratorFailureIsReported: stress-ng with a bad option ends at
// once; its result says so with its stderr, and Stop still works.
func TestGeneratorFailureIsReported(t *testing.T) {
	requireTools(t)
	l, err := Start(Spec{StressNG: true, StressNGArgs: []string{"--no-such-option"}, CPUs: []int{loadCPU(t)}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	res, err := l.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if e := res.Commands[0].Error; !strings.Contains(e, "ended before the load was stopped: exit status") || !strings.Contains(e, "no-such-option") {
		t.Errorf("error %q: want the early exit with stress-ng's complaint", e)
	}
}

func TestStartRefusesMissingTool(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Start(Spec{StressNG: true, CPUs: []int{0}})
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "stress-ng") {
		t.Fatalf("err = %v, want ErrNotInstalled naming stress-ng", err)
	}
}

// TestHelperParent is not a test: run by TestSIGKILLLeavesNoLoad with
// envHelper set, it starts load, prints the keeper's PID and waits to be
// killed.
func TestHelperParent(t *testing.T) {
	cpu := os.Getenv(envHelper)
	if cpu == "" {
		t.Skip("helper process of TestSIGKILLLeavesNoLoad")
	}
	c, _ := strconv.Atoi(cpu)
	l, err := Start(Spec{StressNG: true, StressNGArgs: []string{"--cpu", "2", "--vm", "1", "--vm-bytes", "16M"}, Hackbench: true,
		HackbenchArgs: []string{"-P", "-g", "1", "-l", "100000"}, CPUs: []int{c}})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("keeper", l.PID())
	time.Sleep(time.Minute)
	os.Exit(1)
}

// TestSIGKILLLeavesNoLoad kills, with SIGKILL, a process that runs load
// (stress-ng's stressors and hackbench's senders and receivers are its
// grandchildren and below) and checks that within 2 s none of the load
// is left.
func TestSIGKILLLeavesNoLoad(t *testing.T) {
	requireTools(t)
	cmd := exec.Command("/proc/self/exe", "-test.run=^TestHelperParent$")
	cmd.Env = append(os.Environ(), envHelper+"="+strconv.Itoa(loadCPU(t)))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := child.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the helper's keeper PID: %v", err)
	}
	keeper, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "keeper ")))
	if err != nil {
		t.Fatalf("helper said %q", line)
	}
	procs := append(rttest.WaitLoad(t, keeper, 3, 10*time.Second), keeper)
	if err := syscall.Kill(p.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	rttest.WaitGone(t, procs, 2*time.Second, "the parent died")
	// Nothing the keeper started after the scan above survives either.
	if rest := rttest.Descendants(keeper); len(rest) > 0 && !rttest.ProcessGone(keeper) {
		t.Errorf("keeper %d still has descendants %v", keeper, rest)
	}
}
