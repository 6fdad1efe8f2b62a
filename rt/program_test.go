package rt

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/rttest"
	"github.com/rtcell/rtcell/rt/shm"
)

// Programs run by TestProgram*: the test binary is re-executed with
// envProgram naming one; TestMain hands it to Main, in the supervisor and
// in its workers alike.
const envProgram = "RTCELL_TEST_PROGRAM"

var programs = map[string]func() Program{}

type progIn struct{ Seq, Value uint64 }
type progOut struct {
	Seq, Double uint64
	Safe        uint64 // set by the safe-state hook
	Cycle       uint64
}

// Declared at package level: the supervisor and the workers declare the
// same regions in the same order.
var (
	progInputs  = DeclareImage[progIn]("inputs")
	progOutputs = DeclareImage[progOut]("outputs")
	progSamples = DeclareRing[uint64]("samples", 1024, shm.DropNewest)
)

func progLoop(name string, cycles uint64) LoopOptions {
	return LoopOptions{Name: name, Period: time.Millisecond, Cycles: cycles, Thread: testThread()}
}

func init() {
	// exchange: the RT side doubles the input and streams cycle numbers;
	// the non-RT side feeds inputs and checks outputs and the stream.
	programs["exchange"] = func() Program {
		return Program{
			// Misses on a busy test machine are not what this tests.
			IgnoreMisses: true,
			Tasks: []Task{{Loop: progLoop("double", 0), Setup: func() (CycleFunc, error) {
				in, out, ring := progInputs.Image(), progOutputs.Image(), progSamples.Ring()
				var i progIn
				var o progOut
				return func(c *Cycle) bool {
					if in.Read(&i) {
						o = progOut{Seq: i.Seq, Double: 2 * i.Value, Cycle: c.N}
						out.Write(&o)
					}
					n := c.N
					ring.Push(&n)
					return true
				}, nil
			}}},
			NonRT: func(ctx context.Context, sup *Supervisor) error {
				in, out, ring := progInputs.Image(), progOutputs.Image(), progSamples.Ring()
				var o progOut
				var next uint64
				var popped, ordered uint64 = 0, 1
				var s uint64
				deadline := time.Now().Add(10 * time.Second)
				for seq := uint64(1); seq <= 50 && time.Now().Before(deadline); {
					in.Write(&progIn{Seq: seq, Value: seq * 7})
					time.Sleep(2 * time.Millisecond)
					if out.Read(&o) && o.Seq == seq {
						if o.Double != seq*14 {
							return fmt.Errorf("output %d for input %d", o.Double, seq*7)
						}
						seq++
					}
					for ring.Pop(&s) {
						if s != next {
							ordered = 0
						}
						next = s + 1
						popped++
					}
				}
				fmt.Printf("EXCHANGE last=%d popped=%d ordered=%d tasks=%d\n", o.Seq, popped, ordered, len(sup.Tasks()))
				return nil
			},
		}
	}
	// watchdog: the task misses every deadline from cycle 30 on; the
	// watchdog fires after 3 in a row, the safe state is written.
	programs["watchdog"] = func() Program {
		var fired atomic.Int32
		return Program{
			Tasks: []Task{{
				Loop: progLoop("late", 0),
				Setup: func() (CycleFunc, error) {
					return func(c *Cycle) bool {
						if c.N >= 30 {
							spin(2 * time.Millisecond)
						}
						return true
					}, nil
				},
				Watchdog: Watchdog{MaxMisses: 3},
				SafeState: func(ev WatchdogEvent) {
					progOutputs.Image().Write(&progOut{Safe: 1})
					fmt.Printf("SAFE reason=%q cycles=%d inrow=%d\n", ev.Reason, ev.Last.Cycles, ev.Last.MaxConsecutiveMisses)
					fired.Add(1)
				},
			}},
		}
	}
	// taskwatchdog: from cycle 30 on each cycle takes about 3 ms, against
	// a task watchdog of 1 ms with sensitivity 3 (and a period of 5 ms,
	// so no deadline is missed): it fires on the third slow cycle.
	programs["taskwatchdog"] = func() Program {
		lo := progLoop("slow", 0)
		lo.Period = 5 * time.Millisecond
		return Program{
			Tasks: []Task{{
				Loop: lo,
				Setup: func() (CycleFunc, error) {
					return func(c *Cycle) bool {
						if c.N >= 30 {
							spin(3 * time.Millisecond)
						}
						return true
					}, nil
				},
				Watchdog: Watchdog{Time: time.Millisecond, Sensitivity: 3},
				SafeState: func(ev WatchdogEvent) {
					fmt.Printf("SAFE reason=%q cycles=%d overtime=%d\n", ev.Reason, ev.Last.Cycles, ev.Last.MaxOverTime)
				},
			}},
		}
	}
	// reset: the non-RT side resets the task's statistics while it runs.
	programs["reset"] = func() Program {
		return Program{
			IgnoreMisses: true,
			Tasks:        []Task{{Loop: progLoop("counted", 400), Setup: func() (CycleFunc, error) { return func(*Cycle) bool { return true }, nil }}},
			NonRT: func(ctx context.Context, sup *Supervisor) error {
				var s Snapshot
				for sup.Tasks()[0].Snapshot(&s) == nil || s.Cycles() < 100 {
					time.Sleep(5 * time.Millisecond)
				}
				if err := sup.ResetStatistics("counted"); err != nil {
					return err
				}
				if err := sup.ResetStatistics("nosuch"); err == nil {
					return fmt.Errorf("reset of an unknown task accepted")
				}
				for sup.Tasks()[0].Snapshot(&s).StatisticsResets() == 0 {
					time.Sleep(time.Millisecond)
				}
				fmt.Printf("RESET after %d cycles, latency samples %d\n", s.Cycles(), s.Latency().Count)
				<-ctx.Done()
				return nil
			},
		}
	}
	// setupfail: Setup fails in the worker; the program must stop with 2,
	// not restart the task as if it had crashed.
	programs["setupfail"] = func() Program {
		return Program{
			Tasks: []Task{{
				Loop:      progLoop("broken", 0),
				Setup:     func() (CycleFunc, error) { return nil, fmt.Errorf("fieldbus card not found") },
				Watchdog:  Watchdog{Restart: true},
				SafeState: func(ev WatchdogEvent) { fmt.Printf("SAFE reason=%q\n", ev.Reason) },
			}},
			NonRT: func(ctx context.Context, sup *Supervisor) error { <-ctx.Done(); return nil },
		}
	}
	// restart: the non-RT side kills the worker; the watchdog sees it die
	// and restarts it once.
	programs["restart"] = func() Program {
		return Program{
			Tasks: []Task{{
				Loop:      progLoop("victim", 0),
				Setup:     func() (CycleFunc, error) { return func(*Cycle) bool { return true }, nil },
				Watchdog:  Watchdog{Restart: true, MaxRestarts: 1},
				SafeState: func(ev WatchdogEvent) { fmt.Printf("SAFE reason=%q\n", ev.Reason) },
			}},
			NonRT: func(ctx context.Context, sup *Supervisor) error {
				time.Sleep(200 * time.Millisecond)
				pid := sup.Tasks()[0].PID
				if err := sup.Kill("victim"); err != nil {
					return err
				}
				for i := 0; i < 300; i++ {
					time.Sleep(10 * time.Millisecond)
					if t := sup.Tasks()[0]; t.Restarts == 1 && t.Running && t.PID != pid {
						if s := t.Snapshot(nil); s.Cycles() > 0 || i > 50 {
							fmt.Printf("RESTARTED pid %d -> %d\n", pid, t.PID)
							return nil
						}
					}
				}
				return fmt.Errorf("task not restarted")
			},
		}
	}
}

func runProgramChild(t *testing.T, name string) (string, int) {
	t.Helper()
	rttest.LeaseCPU(t, lastCPU())
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envProgram+"="+name)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-ctx.Done():
		cmd.Process.Kill()
		t.Fatalf("program %s did not finish in 30 s:\n%s\n%s", name, out.String(), errb.String())
	}
	if errb.Len() > 0 {
		t.Logf("stderr: %s", errb.String())
	}
	return out.String() + errb.String(), cmd.ProcessState.ExitCode()
}

func TestProgramExchange(t *testing.T) {
	out, code := runProgramChild(t, "exchange")
	var last, popped, ordered, tasks int
	if _, err := fmt.Sscanf(out[strings.Index(out, "EXCHANGE"):], "EXCHANGE last=%d popped=%d ordered=%d tasks=%d", &last, &popped, &ordered, &tasks); err != nil {
		t.Fatalf("no EXCHANGE line (%v):\n%s", err, out)
	}
	if code != 0 || last != 50 || tasks != 1 {
		t.Errorf("exit %d, last input answered %d, %d tasks; want 0, 50, 1\n%s", code, last, tasks, out)
	}
	if popped < 50 || ordered != 1 {
		t.Errorf("ring: %d samples popped, in order %v; want ≥ 50 in order", popped, ordered == 1)
	}
	if !strings.Contains(out, "double: ") {
		t.Errorf("no final summary:\n%s", out)
	}
}

func TestProgramWatchdog(t *testing.T) {
	out, code := runProgramChild(t, "watchdog")
	if code != ExitFailed {
		t.Errorf("exit %d after the watchdog fired and stopped the task, want %d\n%s", code, ExitFailed, out)
	}
	if !strings.Contains(out, `SAFE reason="deadline misses"`) || !strings.Contains(out, `watchdog: task "late" deadline misses (`) {
		t.Fatalf("watchdog did not fire as expected:\n%s", out)
	}
	var cycles, inRow int
	fmt.Sscanf(out[strings.Index(out, "SAFE"):], "SAFE reason=\"deadline misses\" cycles=%d inrow=%d", &cycles, &inRow)
	// It fires on 3 misses in a row: those from cycle 30 on, or, on a
	// host that stalled the loop for 3 periods earlier, those. Either way
	// the task's record holds the 3 misses in a row it fired on.
	if inRow < 3 || cycles < 3 {
		t.Errorf("fired after %d cycles with at most %d misses in a row, want ≥ 3 in a row", cycles, inRow)
	}
	if cycles < 33 {
		t.Logf("fired after %d cycles, before the task missed on purpose: the host stalled the loop for %d periods", cycles, inRow)
	}
}

func TestProgramRestart(t *testing.T) {
	out, code := runProgramChild(t, "restart")
	if !strings.Contains(out, `SAFE reason="died"`) || !strings.Contains(out, "RESTARTED") || !strings.Contains(out, `task "victim" restarted (1 of 1)`) {
		t.Fatalf("no safe state and restart after the kill:\n%s", out)
	}
	if code != ExitViolations {
		t.Errorf("exit %d, want %d (a watchdog fired and the task was restarted)", code, ExitViolations)
	}
}

func TestProgramSetupFailure(t *testing.T) {
	out, code := runProgramChild(t, "setupfail")
	if code != 2 {
		t.Errorf("exit %d, want 2\n%s", code, out)
	}
	if !strings.Contains(out, `task "broken" could not start`) || !strings.Contains(out, "fieldbus card not found") {
		t.Errorf("the reason is not reported:\n%s", out)
	}
	if strings.Contains(out, "SAFE") || strings.Contains(out, "restarted") {
		t.Errorf("a task that cannot start was treated as a crash:\n%s", out)
	}
}

func TestProgramTaskWatchdog(t *testing.T) {
	out, code := runProgramChild(t, "taskwatchdog")
	if code != ExitFailed {
		t.Errorf("exit %d after the task watchdog fired and stopped the task, want %d\n%s", code, ExitFailed, out)
	}
	if !strings.Contains(out, `SAFE reason="task watchdog"`) || !strings.Contains(out, `watchdog: task "slow" task watchdog (`) {
		t.Fatalf("task watchdog did not fire as expected:\n%s", out)
	}
	var cycles, over int
	fmt.Sscanf(out[strings.Index(out, "SAFE"):], "SAFE reason=\"task watchdog\" cycles=%d overtime=%d", &cycles, &over)
	// It fires on the third slow cycle (cycle 32) or, on a host that
	// stalled a cycle beyond 3 ms, on that one; the supervisor looks
	// every 10 ms, so a few more cycles may run before the kill.
	if cycles < 1 || over < 1 {
		t.Errorf("fired after %d cycles with %d over time in a row", cycles, over)
	}
	if cycles < 33 {
		t.Logf("fired after %d cycles, before the task slowed down on purpose: the host stalled a cycle", cycles)
	}
}

func TestProgramResetStatistics(t *testing.T) {
	out, code := runProgramChild(t, "reset")
	var cycles, samples int
	i := strings.Index(out, "RESET")
	if i < 0 {
		t.Fatalf("no RESET line (exit %d):\n%s", code, out)
	}
	fmt.Sscanf(out[i:], "RESET after %d cycles, latency samples %d", &cycles, &samples)
	// The loop kept running and counting cycles; its series restarted.
	if cycles < 100 || samples >= cycles {
		t.Errorf("after the reset: %d cycles, %d latency samples; want ≥ 100 cycles and fewer samples", cycles, samples)
	}
	if code != ExitOK || !strings.Contains(out, "counted: ") {
		t.Errorf("exit %d, want 0 with the final summary:\n%s", code, out)
	}
}
