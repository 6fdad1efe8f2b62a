package rt

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/child"
	"github.com/rtcell/rtcell/rt/load"
	"github.com/rtcell/rtcell/rt/rttest"
)

func init() {
	// load: one task under stress-ng and hackbench on the other CPUs.
	loadProgram := func(cycles uint64, hbLoops string) func() Program {
		return func() Program {
			return Program{
				IgnoreMisses: true, // misses under load on a shared VM are not what this tests
				Tasks: []Task{{Loop: progLoop("loaded", cycles), Setup: func() (CycleFunc, error) {
					return func(*Cycle) bool { return true }, nil
				}}},
				Load: &load.Spec{StressNG: true, StressNGArgs: []string{"--cpu", "1", "--switch", "1"}, Hackbench: true,
					HackbenchArgs: []string{"-P", "-g", "1", "-l", hbLoops}},
				NonRT: func(ctx context.Context, sup *Supervisor) error {
					fmt.Println("RUNNING")
					<-ctx.Done()
					return nil
				},
			}
		}
	}
	programs["load"] = loadProgram(1500, "200")
	programs["loadlong"] = loadProgram(60000, "100000")
}

func requireLoadTools(t *testing.T) {
	t.Helper()
	rttest.RequireCommand(t, load.StressNG, "make deps (apt-get install -y stress-ng)")
	rttest.RequireCommand(t, load.Hackbench, "make deps (apt-get install -y rt-tests)")
	if lastCPU() == 0 {
		t.Skip("needs two CPUs: one for the task, one for the load")
	}
}

func TestProgramLoad(t *testing.T) {
	requireLoadTools(t)
	out, code := runProgramChild(t, "load")
	if code != ExitOK {
		t.Fatalf("exit %d, want 0\n%s", code, out)
	}
	i := strings.Index(out, "load on CPUs ")
	if i < 0 {
		t.Fatalf("no account of the load:\n%s", out)
	}
	acct := out[i:]
	if !strings.Contains(acct, "stress-ng --cpu 1 --switch 1 (started 1×)") || !strings.Contains(acct, "hackbench -P -g 1 -l 200 (started ") {
		t.Errorf("load account lacks the commands as run:\n%s", acct)
	}
	if strings.Contains(acct, "ended before") || strings.Contains(out, "stopping the load") {
		t.Errorf("the load failed:\n%s", out)
	}
	if strings.Contains(acct, fmt.Sprintf("CPUs %d:", lastCPU())) || strings.Contains(acct, fmt.Sprintf("-%d:", lastCPU())) {
		t.Errorf("the load ran on the task's CPU %d:\n%s", lastCPU(), acct)
	}
}

// TestProgramLoadSIGKILL kills a Program mid-load with SIGKILL: within
// 2 s no process it started is left, the load's grandchildren included.
func TestProgramLoadSIGKILL(t *testing.T) {
	requireLoadTools(t)
	rttest.LeaseCPU(t, lastCPU())
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envProgram+"=loadlong")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := child.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "RUNNING" {
	}
	procs := rttest.WaitLoad(t, p.PID(), 3, 10*time.Second)
	if err := syscall.Kill(p.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	rttest.WaitGone(t, procs, 2*time.Second, "SIGKILL of the program")
}
