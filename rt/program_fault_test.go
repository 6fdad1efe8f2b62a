package rt

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/internal/cpulease"
	"github.com/rtcell/rtcell/rt/rttest"
)

func init() {
	// restartpoll: the non-RT side polls Tasks and snapshots as fast as
	// it can while it kills the worker three times and the watchdog
	// restarts it: under -race this is the race test of the supervisor.
	programs["restartpoll"] = func() Program {
		return Program{
			Tasks: []Task{{
				Loop:     progLoop("victim", 0),
				Setup:    func() (CycleFunc, error) { return func(*Cycle) bool { return true }, nil },
				Watchdog: Watchdog{Restart: true, MaxRestarts: 3},
			}},
			IgnoreMisses: true,
			NonRT: func(ctx context.Context, sup *Supervisor) error {
				done := make(chan struct{})
				polls := 0
				go func() {
					defer close(done)
					var s Snapshot
					for ctx.Err() == nil {
						for _, t := range sup.Tasks() {
							t.Snapshot(&s)
							_ = t.Restarts + t.PID
						}
						polls++
					}
				}()
				for k := 1; k <= 3; k++ {
					if err := waitRunning(ctx, sup, k-1); err != nil {
						return err
					}
					if err := sup.Kill("victim"); err != nil {
						return err
					}
				}
				if err := waitRunning(ctx, sup, 3); err != nil {
					return err
				}
				time.Sleep(50 * time.Millisecond)
				fmt.Printf("POLLED restarts=%d\n", sup.Tasks()[0].Restarts)
				return nil
			},
		}
	}
	// forever: a task that runs until stopped; the non-RT side prints
	// the worker's PID, for the supervisor-SIGKILL test.
	programs["forever"] = func() Program {
		return Program{
			Tasks: []Task{
				{Loop: progLoop("a", 0), Setup: func() (CycleFunc, error) { return func(*Cycle) bool { return true }, nil }},
				{Loop: LoopOptions{Name: "b", Period: time.Millisecond, Thread: testThread()}, Setup: func() (CycleFunc, error) { return func(*Cycle) bool { return true }, nil }},
			},
			NonRT: func(ctx context.Context, sup *Supervisor) error {
				for {
					ts := sup.Tasks()
					if ts[0].PID != 0 && ts[1].PID != 0 && ts[0].Snapshot(nil).Cycles() > 0 && ts[1].Snapshot(nil).Cycles() > 0 {
						fmt.Printf("WORKERS %d %d\n", ts[0].PID, ts[1].PID)
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
				<-ctx.Done()
				return nil
			},
		}
	}
	// nonrtfail: the non-RT side fails (an HMI whose port is taken).
	programs["nonrtfail"] = func() Program {
		return Program{
			Tasks: []Task{{Loop: progLoop("scan", 0), Setup: func() (CycleFunc, error) { return func(*Cycle) bool { return true }, nil }}},
			NonRT: func(ctx context.Context, sup *Supervisor) error {
				time.Sleep(50 * time.Millisecond)
				return errors.New("listening on 127.0.0.1:8080: address already in use")
			},
		}
	}
	// leased: a task on CPU 0, for the lease test.
	programs["leased"] = func() Program {
		return Program{
			Tasks: []Task{{Loop: LoopOptions{Name: "scan", Period: time.Millisecond, Cycles: 10,
				Thread: ThreadOptions{CPU: 0, Pin: true, Policy: PolicyOther, NoMlock: true, NoDMALatency: true}},
				Setup: func() (CycleFunc, error) { return func(*Cycle) bool { return true }, nil }}},
		}
	}
	children["holdlease"] = func() (any, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		l, err := cpulease.Wait(ctx, []int{0})
		if err != nil {
			return nil, err
		}
		defer l.Release()
		fmt.Printf("\"HELD %d\"\n", os.Getpid())
		bufio.NewReader(os.Stdin).ReadString('\n') // until the test closes stdin
		return "released", nil
	}
}

// waitRunning waits until the task has been restarted n times and its
// new worker has published a cycle.
func waitRunning(ctx context.Context, sup *Supervisor, n int) error {
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && ctx.Err() == nil; time.Sleep(5 * time.Millisecond) {
		t := sup.Tasks()[0]
		if t.Restarts == n && t.Running && t.PID != 0 {
			if s := t.Snapshot(nil); s != nil && s.Cycles() > 0 {
				return nil
			}
		}
	}
	return fmt.Errorf("task not running after %d restarts", n)
}

// TestProgramRaceRestarts: polling Tasks and snapshots from the non-RT
// side while the watchdog restarts the task is race-free (the test binary,
// and so the supervisor child, is built with -race in CI) and ends with
// the right count.
func TestProgramRaceRestarts(t *testing.T) {
	out, code := runProgramChild(t, "restartpoll")
	if strings.Contains(out, "DATA RACE") {
		t.Fatalf("the race detector found a race:\n%s", out)
	}
	if !strings.Contains(out, "POLLED restarts=3") {
		t.Fatalf("no three restarts:\n%s", out)
	}
	if code != ExitViolations {
		t.Errorf("exit %d, want %d (the watchdog fired and restarted)", code, ExitViolations)
	}
}

// TestProgramSupervisorKilled: when the supervisor dies by SIGKILL, the
// kernel kills every worker (the parent-death signal of the fork's
// thread, which lives as long as the supervisor).
func TestProgramSupervisorKilled(t *testing.T) {
	rttest.LeaseCPU(t, lastCPU())
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envProgram+"=forever")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var pids []int
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(20 * time.Second)
	for pids == nil {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the program ended before its workers ran")
			}
			if f := strings.Fields(l); len(f) == 3 && f[0] == "WORKERS" {
				for _, s := range f[1:] {
					p, _ := strconv.Atoi(s)
					pids = append(pids, p)
				}
			}
		case <-timeout:
			t.Fatal("the workers did not start in 20 s")
		}
	}
	killedAt := time.Now()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	for _, pid := range pids {
		for !rttest.ProcessGone(pid) {
			if time.Since(killedAt) > time.Second {
				t.Fatalf("worker %d still alive %v after the supervisor was killed", pid, time.Since(killedAt))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	t.Logf("workers %v gone %v after the supervisor's SIGKILL", pids, time.Since(killedAt).Round(time.Millisecond))
}

// TestProgramNonRTFails: a non-RT side that returns an error makes the
// program fail with ExitFailed and the error, not exit 0.
func TestProgramNonRTFails(t *testing.T) {
	out, code := runProgramChild(t, "nonrtfail")
	if code != ExitFailed || !strings.Contains(out, "non-real-time side: listening on 127.0.0.1:8080: address already in use") {
		t.Fatalf("exit %d, want %d with the non-RT side's error:\n%s", code, ExitFailed, out)
	}
}

// TestProgramLeaseBusy: a program whose task is pinned to a CPU that
// another process (not an ancestor) leases refuses to start, naming the
// holder, with ExitConfig; with ShareCPUs it would run.
func TestProgramLeaseBusy(t *testing.T) {
	// The holder waits for the lease while another test holds CPU 0;
	// this process holds none, so that the program below, the holder's
	// sibling, is refused.
	holder := exec.Command(os.Args[0], "-test.run=^$")
	holder.Env = append(os.Environ(), envChild+"=holdlease")
	stdin, _ := holder.StdinPipe()
	stdout, _ := holder.StdoutPipe()
	holder.Stderr = os.Stderr
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); holder.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.Contains(line, "HELD") {
		t.Fatalf("lease holder: %q, %v", line, err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envProgram+"=leased")
	out, err := cmd.CombinedOutput()
	code := cmd.ProcessState.ExitCode()
	want := fmt.Sprintf("CPU 0 is leased by pid %d", holder.Process.Pid)
	if code != ExitConfig || !strings.Contains(string(out), want) {
		t.Fatalf("exit %d (%v), want %d with %q:\n%s", code, err, ExitConfig, want, out)
	}
}

// TestProgramWorkerExitsEarly: a worker that exits before it runs its
// loop (a main that checks a flag first, here a shell standing in for
// it) makes the program refuse to run with ExitConfig, and the error
// carries the worker's exit status and its own stderr, whole.
func TestProgramWorkerExitsEarly(t *testing.T) {
	for _, code := range []int{1, 2} {
		var errb bytes.Buffer
		script := fmt.Sprintf("echo 'usage: ctl -addr HOST' >&2; echo 'ctl: -addr is required' >&2; exit %d", code)
		sum, err := Run(context.Background(), Program{
			ShareCPUs: true,
			Stdout:    io.Discard,
			Stderr:    &errb,
			Tasks: []Task{{
				Loop:     LoopOptions{Name: "ctl", Period: time.Millisecond, Thread: testThread()},
				Setup:    func() (CycleFunc, error) { return func(*Cycle) bool { return true }, nil },
				Watchdog: Watchdog{Restart: true},
			}},
			Worker: WorkerOptions{Path: "/bin/sh", Args: []string{"-c", script}},
		})
		want := fmt.Sprintf("task \"ctl\" could not start: exit code %d: the worker exited before its loop ran; its stderr ended:\nusage: ctl -addr HOST\nctl: -addr is required", code)
		if err == nil || err.Error() != want || sum.Code != ExitConfig {
			t.Errorf("exit %d: code %d, error:\n%v\nwant %d, error:\n%s", code, sum.Code, err, ExitConfig, want)
		}
		if !strings.Contains(errb.String(), "ctl: -addr is required") {
			t.Errorf("the worker's stderr was not passed through: %q", errb.String())
		}
		if strings.Contains(errb.String(), "restarted") {
			t.Errorf("a worker that never ran was restarted: %q", errb.String())
		}
	}
}
