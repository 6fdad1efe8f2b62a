package child_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/child"
	"github.com/rtcell/rtcell/rt/rttest"
)

// TestMain doubles as the parent of TestParentKilled: with
// RTCELL_CHILD_TEST_PARENT set, it starts a shell that starts a sleep in
// the background, prints both PIDs and waits to be killed.
func TestMain(m *testing.M) {
	if os.Getenv("RTCELL_CHILD_TEST_PARENT") != "" {
		cmd := exec.Command("sh", "-c", "sleep 300 & echo $$ $!; wait")
		cmd.Stdout = os.Stdout
		if _, err := child.Start(cmd); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestStopGroup(t *testing.T) {
	cmd := exec.Command("sh", "-c", "trap '' TERM; sleep 300 & echo $!; wait")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := child.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	sleeper, _ := strconv.Atoi(strings.TrimSpace(line))
	if pgid, _ := syscall.Getpgid(sleeper); pgid != p.PID() {
		t.Fatalf("grandchild's process group = %d, want the child's own (%d)", pgid, p.PID())
	}
	start := time.Now()
	p.Stop(200 * time.Millisecond) // the shell ignores SIGTERM: SIGKILL after the grace
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Stop took %v with a 200ms grace", el)
	}
	if !cmd.ProcessState.Exited() && cmd.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("child ended with %v, want SIGKILL", cmd.ProcessState)
	}
	waitGone(t, sleeper)
	select {
	case <-p.Done():
	default:
		t.Error("Done not closed after Stop")
	}
}

func TestParentKilled(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	parent := exec.Command(exe, "-test.run=^$")
	parent.Env = append(os.Environ(), "RTCELL_CHILD_TEST_PARENT=1")
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	defer parent.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var sh, sleeper int
	if _, err := fmt.Sscan(line, &sh, &sleeper); err != nil {
		t.Fatalf("parent said %q: %v", line, err)
	}
	defer syscall.Kill(-sh, syscall.SIGKILL) // a failed test leaves nothing behind
	parent.Process.Kill()
	parent.Wait()
	waitGone(t, sh) // the parent-death signal
	// The sleep is the shell's child, with no parent-death signal of its
	// own: it outlives the shell, as the package documents, but stays in
	// the group a keeper can kill.
	if pgid, err := syscall.Getpgid(sleeper); err == nil && pgid != sh {
		t.Errorf("grandchild's process group = %d, want %d", pgid, sh)
	}
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !rttest.ProcessGone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive 5s after its parent ended", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
