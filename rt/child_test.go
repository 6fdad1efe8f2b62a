package rt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/internal/worker"
	"github.com/rtcell/rtcell/rt/rttest"
)

// work2K has a 2 KiB stack frame and calls another function that is not
// inlined: every call runs a stack-check prologue, where a preemption
// request would be taken.
//
//go:noinline
func work2K(n uint64) uint64 {
	var buf [2048]byte
	buf[n%2048] = byte(n)
	return leaf(uint64(buf[(n*7)%2048])) + n
}

//go:noinline
func leaf(x uint64) uint64 { return x*3 + 1 }

var sink uint64

// voluntarySwitches reads voluntary_ctxt_switches of the calling thread.
func voluntarySwitches() (int64, error) {
	b, err := os.ReadFile("/proc/thread-self/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "voluntary_ctxt_switches:"); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("no voluntary_ctxt_switches in /proc/thread-self/status")
}

type handoffOut struct {
	Cycles     uint64
	Switches   int64 // voluntary context switches of the loop thread
	Migrations uint64
	P50, P99   int64
}

// handoffRun runs 1500 cycles at 1 kHz of work2K and counts the loop
// thread's voluntary context switches. Each sleep is one; each hand-off
// of the goroutine through another thread parks this thread once more.
func handoffRun(noYield bool) (handoffOut, error) {
	const n = 1500
	var before, after int64
	var err error
	l, lerr := NewLoop(LoopOptions{Period: time.Millisecond, Cycles: n, Thread: testThread(), noYield: noYield},
		func(c *Cycle) bool {
			switch c.N {
			case 0:
				before, err = voluntarySwitches()
			case n - 1:
				after, err = voluntarySwitches()
			}
			sink += work2K(c.N)
			return true
		})
	if lerr != nil {
		return handoffOut{}, lerr
	}
	res, rerr := l.Run()
	if rerr != nil {
		return handoffOut{}, rerr
	}
	if err != nil {
		return handoffOut{}, err
	}
	return handoffOut{Cycles: res.Cycles, Switches: after - before, Migrations: res.Migrations,
		P50: res.Latency.P50, P99: res.Latency.P99}, nil
}

func init() {
	children["handoff"] = func() (any, error) {
		with, err := handoffRun(false)
		if err != nil {
			return nil, err
		}
		without, err := handoffRun(true)
		return []handoffOut{with, without}, err
	}
	children["alloc"] = func() (any, error) {
		var out []*Result
		for _, alloc := range []bool{false, true} {
			l, err := NewLoop(LoopOptions{Period: 500 * time.Microsecond, Cycles: 400, Thread: testThread()}, func(c *Cycle) bool {
				sink += work2K(c.N)
				if alloc {
					b := make([]byte, 64+c.N%7)
					sink += uint64(len(b))
					escape = b
				}
				return true
			})
			if err != nil {
				return nil, err
			}
			res, err := l.Run()
			if err != nil {
				return nil, err
			}
			out = append(out, res)
		}
		return out, nil
	}
	children["fifo"] = func() (any, error) {
		l, err := NewLoop(LoopOptions{Period: time.Millisecond, Cycles: 1,
			Thread: ThreadOptions{CPU: -1, Policy: PolicyFIFO, Priority: 80, NoMlock: true, NoDMALatency: true}}, func(*Cycle) bool { return true })
		if err != nil {
			return nil, err
		}
		_, err = l.Run()
		return fmt.Sprint(err), nil
	}
}

var escape []byte

// TestNoHandoff proves that calling a cycle function with a big frame does
// not let sysmon's preemption hand the loop off through another thread.
// Without the yield (the control), the loop thread parks on a futex every
// 10–20 ms; with it, it parks only to sleep, once per cycle.
func TestNoHandoff(t *testing.T) {
	if testing.Short() {
		t.Skip("3 s run; skipped in -short")
	}
	leaseTestCPU(t)
	const attempts = 3
	for attempt := 1; ; attempt++ {
		var out []handoffOut
		runChild(t, "handoff", true, &out)
		with, without := out[0], out[1]
		t.Logf("with yield: %+v; without: %+v", with, without)
		// One voluntary switch per sleep; a late wake-up may skip its sleep.
		if extra := with.Switches - int64(with.Cycles); extra > int64(with.Cycles)/100+10 {
			t.Errorf("with the yield: %d voluntary switches in %d cycles: %d hand-offs, want ≤ 1 per 100 cycles",
				with.Switches, with.Cycles, extra)
		}
		if with.Migrations != 0 {
			t.Errorf("the goroutine moved thread %d times", with.Migrations)
		}
		// The control shows the test can fail: sysmon marks the goroutine
		// every 10 ms, so 1.5 s without the yield gives dozens of
		// hand-offs. sysmon is an ordinary thread, though: on a busy box
		// it may hardly run, and then the control shows none.
		extra := without.Switches - int64(without.Cycles)
		if extra >= 20 || t.Failed() {
			return
		}
		if attempt == attempts {
			t.Skipf("without the yield: at most %d extra switches in %d cycles in %d runs: sysmon did not preempt (a busy box starves it), so this run could not have caught a hand-off",
				extra, without.Cycles, attempts)
		}
	}
}

// TestNoAllocNoGC: a loop whose cycle does not allocate makes no heap
// allocation and no GC cycle; one that does is caught.
func TestNoAllocNoGC(t *testing.T) {
	leaseTestCPU(t)
	var out []*Result
	runChild(t, "alloc", true, &out)
	clean, dirty := out[0], out[1]
	if clean.HeapAllocs != 0 || clean.GCCycles != 0 {
		t.Errorf("non-allocating loop: %d heap allocations, %d GC cycles; want 0 and 0", clean.HeapAllocs, clean.GCCycles)
	}
	if dirty.HeapAllocs < dirty.Cycles {
		t.Errorf("allocating loop: %d heap allocations in %d cycles; want at least one per cycle", dirty.HeapAllocs, dirty.Cycles)
	}
	if dirty.GCCycles != 0 {
		t.Errorf("allocating loop with GOGC=off: %d GC cycles", dirty.GCCycles)
	}
	if !clean.Runtime.OK() {
		t.Errorf("child runtime settings %+v not in effect", clean.Runtime)
	}
}

// TestPermissionAdvice runs the loop as user nobody: SCHED_FIFO is
// refused, and the error says how to grant it.
func TestPermissionAdvice(t *testing.T) {
	rttest.RequireRoot(t)
	bin := rttest.CopyForNobody(t, os.Args[0], 0o755)
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(worker.Environ(os.Environ(), 0), envChild+"=fifo")
	cmd.Dir = filepath.Dir(bin)
	cmd.SysProcAttr = rttest.AsNobody()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child as nobody: %v\n%s", err, stderr.String())
	}
	var msg string
	if err := json.Unmarshal(stdout.Bytes(), &msg); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"permission denied", "CAP_SYS_NICE", "setcap cap_sys_nice,cap_ipc_lock+ep", "LimitRTPRIO"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
}
