package cpulease

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The multi-process tests re-execute the test binary in a role:
//   - hold: lease CPULEASE_CPUS (with Wait if CPULEASE_WAIT is set), print
//     "held", optionally run a "try" child and print its line, then hold
//     until stdin closes;
//   - try: Acquire CPULEASE_CPUS once and print the outcome.
const envRole = "CPULEASE_ROLE"

func TestMain(m *testing.M) {
	switch os.Getenv(envRole) {
	case "":
		os.Exit(m.Run())
	case "hold":
		os.Exit(roleHold())
	case "try":
		fmt.Println(tryLine(Acquire(envCPUs())))
		os.Exit(0)
	default:
		fmt.Fprintln(os.Stderr, "unknown role", os.Getenv(envRole))
		os.Exit(3)
	}
}

func envCPUs() []int {
	var cpus []int
	for _, s := range strings.Split(os.Getenv("CPULEASE_CPUS"), ",") {
		n, err := strconv.Atoi(s)
		if err != nil {
			panic(err)
		}
		cpus = append(cpus, n)
	}
	return cpus
}

// tryLine describes the outcome of Acquire in one line.
func tryLine(l *Lease, err error) string {
	var busy *BusyError
	switch {
	case errors.As(err, &busy):
		return fmt.Sprintf("busy cpu=%d pid=%d", busy.CPU, busy.PID)
	case err != nil:
		return "error " + err.Error()
	}
	defer l.Release()
	return fmt.Sprintf("granted held=%v shared=%v", l.CPUs(), l.Shared())
}

func roleHold() int {
	var l *Lease
	var err error
	if os.Getenv("CPULEASE_WAIT") != "" {
		l, err = Wait(context.Background(), envCPUs())
	} else {
		l, err = Acquire(envCPUs())
	}
	if err != nil {
		fmt.Println(tryLine(l, err))
		return 1
	}
	fmt.Printf("held pid=%d\n", os.Getpid())
	if os.Getenv("CPULEASE_SPAWN") != "" {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envRole+"=try")
		out, err := cmd.Output()
		if err != nil {
			fmt.Println("child failed:", err)
			return 1
		}
		fmt.Printf("child: %s", out)
	}
	io.Copy(io.Discard, os.Stdin)
	if err := l.Release(); err != nil {
		fmt.Println("release:", err)
		return 1
	}
	return 0
}

// child is a process of the test binary in a role.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// start runs the test binary in role with CPULEASE_CPUS=cpus and env.
func start(t *testing.T, role, cpus string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), envRole+"="+role, "CPULEASE_CPUS="+cpus), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	t.Cleanup(func() { c.cmd.Process.Kill(); c.cmd.Wait() })
	return c
}

// line reads the child's next line of output.
func (c *child) line(t *testing.T) string {
	t.Helper()
	s, err := c.out.ReadString('\n')
	if err != nil {
		t.Fatalf("child %d: reading its output: %v (got %q)", c.cmd.Process.Pid, err, s)
	}
	return strings.TrimSpace(s)
}

// hold starts a holder of cpus and waits until it holds them.
func hold(t *testing.T, cpus string, env ...string) *child {
	t.Helper()
	c := start(t, "hold", cpus, env...)
	if got, want := c.line(t), fmt.Sprintf("held pid=%d", c.cmd.Process.Pid); got != want {
		t.Fatalf("holder says %q, want %q", got, want)
	}
	return c
}

// stop closes the holder's stdin and waits for its clean exit.
func (c *child) stop(t *testing.T) {
	t.Helper()
	c.stdin.Close()
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("holder %d: %v", c.cmd.Process.Pid, err)
	}
}

// lockDir points the leases of this test and its children at a fresh
// directory, so that the test neither meets nor disturbs real leases.
func lockDir(t *testing.T) string {
	d := t.TempDir()
	t.Setenv("RTCELL_LOCK_DIR", d)
	return d
}

func TestAcquireRelease(t *testing.T) {
	dir := lockDir(t)
	l, err := Acquire([]int{3, 1, 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(l.CPUs(), l.Shared()); got != "[1 3] []" {
		t.Errorf("held, shared = %s; want [1 3] []", got)
	}
	b, err := os.ReadFile(filepath.Join(dir, "rtcell-cpu3.lock"))
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("lock file holds %q (%v), want this PID %d", b, err, os.Getpid())
	}
	// The lock files are close-on-exec: no child inherits the lease.
	for _, f := range l.files {
		flags, err := fcntlGetfd(f)
		if err != nil || flags&syscall.FD_CLOEXEC == 0 {
			t.Errorf("%s: fd flags %#x (%v), want FD_CLOEXEC", f.Name(), flags, err)
		}
	}
	// A child is granted a shared sub-lease (TestRefusedNamesHolder has
	// the processes that are refused).
	if got, want := start(t, "try", "1").line(t), "granted held=[] shared=[1]"; got != want {
		t.Errorf("child of the holder: %q, want %q", got, want)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Errorf("second Release: %v, want nil", err)
	}
	if got := start(t, "try", "1,3").line(t); got != "granted held=[1 3] shared=[]" {
		t.Errorf("after Release, another process: %q, want granted", got)
	}
	var zero *Lease
	if err := zero.Release(); err != nil {
		t.Errorf("Release on nil: %v", err)
	}
	if _, err := Acquire([]int{-1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Acquire(-1): %v, want ErrInvalid", err)
	}
}

func fcntlGetfd(f *os.File) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), syscall.F_GETFD, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// TestRefusedNamesHolder: while one process holds CPU 1, this process
// (its parent) and a sibling are refused, each told the holder's PID;
// CPUs it does not hold stay free.
func TestRefusedNamesHolder(t *testing.T) {
	dir := lockDir(t)
	h := hold(t, "1")
	_, err := Acquire([]int{0, 1})
	var busy *BusyError
	if !errors.As(err, &busy) || !errors.Is(err, ErrBusy) {
		t.Fatalf("Acquire while held: %v, want a *BusyError", err)
	}
	t.Logf("refused: %v", err)
	want := BusyError{CPU: 1, PID: h.cmd.Process.Pid, Path: filepath.Join(dir, "rtcell-cpu1.lock")}
	if *busy != want {
		t.Errorf("refused with %+v, want %+v", *busy, want)
	}
	if got, want := start(t, "try", "1").line(t), fmt.Sprintf("busy cpu=%d pid=%d", 1, h.cmd.Process.Pid); got != want {
		t.Errorf("sibling: %q, want %q", got, want)
	}
	// The refused Acquire released CPU 0, which it had taken first.
	if got := start(t, "try", "0").line(t); got != "granted held=[0] shared=[]" {
		t.Errorf("CPU 0 after the refusal: %q, want granted", got)
	}
	h.stop(t)
}

// TestChildOfHolderGranted: a child of the holder is granted the CPU as a
// shared sub-lease, and so is the holder itself asking again.
func TestChildOfHolderGranted(t *testing.T) {
	lockDir(t)
	h := hold(t, "1,2", "CPULEASE_SPAWN=1")
	if got := h.line(t); got != "child: granted held=[] shared=[1 2]" {
		t.Errorf("child of the holder: %q, want a shared grant of [1 2]", got)
	}
	h.stop(t)

	l, err := Acquire([]int{2})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	again, err := Acquire([]int{1, 2})
	if err != nil {
		t.Fatalf("the holder asking again: %v", err)
	}
	if got := fmt.Sprint(again.CPUs(), again.Shared()); got != "[1] [2]" {
		t.Errorf("held, shared = %s; want [1] [2]", got)
	}
	again.Release()
	again.Release()
	// Releasing the sub-lease left the outer lease in place: a child is
	// still granted CPU 2 only as a share.
	if got := start(t, "try", "2").line(t); got != "granted held=[] shared=[2]" {
		t.Errorf("after the sub-lease's release: %q, want CPU 2 still held by this process", got)
	}
}

// TestWaitReturnsWhenHolderExits: Wait blocks while another process holds
// the CPU and returns the lease once it exits; a Wait whose context ends
// first names the holder and wraps the context's error.
func TestWaitReturnsWhenHolderExits(t *testing.T) {
	dir := lockDir(t)
	h := hold(t, "1")

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err := Wait(ctx, []int{1})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", h.cmd.Process.Pid)) {
		t.Errorf("Wait past its deadline: %v; want DeadlineExceeded and ErrBusy naming pid %d", err, h.cmd.Process.Pid)
	}

	type result struct {
		l   *Lease
		err error
	}
	got := make(chan result, 1)
	go func() {
		l, err := Wait(context.Background(), []int{1})
		got <- result{l, err}
	}()
	// The holder holds until told: Wait must not return meanwhile.
	select {
	case r := <-got:
		t.Fatalf("Wait returned while the CPU was held: %v, %v", r.l, r.err)
	case <-time.After(200 * time.Millisecond):
	}
	h.stop(t)
	select {
	case r := <-got:
		if r.err != nil {
			t.Fatal(r.err)
		}
		defer r.l.Release()
		if b, _ := os.ReadFile(filepath.Join(dir, "rtcell-cpu1.lock")); strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
			t.Errorf("lock file holds %q after Wait, want this PID", b)
		}
	case <-time.After(time.Minute):
		t.Fatal("Wait did not return a minute after the holder exited")
	}
}

// TestHolderKilled: a holder killed with SIGKILL leaves no stale lease.
func TestHolderKilled(t *testing.T) {
	lockDir(t)
	h := hold(t, "1")
	h.cmd.Process.Kill()
	h.cmd.Wait()
	l, err := Acquire([]int{1})
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	l.Release()
}

// TestWaitOppositeOrders: waiters for {1,2} and {2,1} all get their
// lease in turn; none deadlocks holding one CPU and waiting for the other.
func TestWaitOppositeOrders(t *testing.T) {
	lockDir(t)
	for round := range 3 {
		var cs []*child
		for i := range 4 {
			cpus := "1,2"
			if i%2 == 1 {
				cpus = "2,1"
			}
			cs = append(cs, start(t, "hold", cpus, "CPULEASE_WAIT=1"))
		}
		for _, c := range cs {
			c.stdin.Close() // each releases as soon as it holds
		}
		done := make(chan error, len(cs))
		for _, c := range cs {
			go func() { done <- c.cmd.Wait() }()
		}
		for range cs {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("round %d: a waiter failed: %v", round, err)
				}
			case <-time.After(2 * time.Minute):
				t.Fatalf("round %d: waiters on {1,2} and {2,1} did not all finish in 2 minutes", round)
			}
		}
	}
}

// TestDir: $RTCELL_LOCK_DIR wins; without it, /run/lock or the temporary
// directory.
func TestDir(t *testing.T) {
	t.Setenv("RTCELL_LOCK_DIR", "/x/y")
	if got := Path(7); got != "/x/y/rtcell-cpu7.lock" {
		t.Errorf("Path(7) = %q", got)
	}
	t.Setenv("RTCELL_LOCK_DIR", "")
	if got := Dir(); got != "/run/lock" && got != os.TempDir() {
		t.Errorf("Dir() = %q, want /run/lock or %s", got, os.TempDir())
	}
}

// TestOtherUsersLockFile: a lock file created by root (mode 0644) is still
// a lease for user nobody, who can open it only read-only: nobody is
// refused while a root process holds it, told its PID, and granted once
// it is free.
func TestOtherUsersLockFile(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skipf("needs root to run a child as user nobody (euid is %d)", os.Geteuid())
	}
	// A directory nobody can enter, holding a copy of the test binary:
	// t.TempDir and the go build cache may be private to root.
	dir, err := os.MkdirTemp("", "rtcell-cpulease-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "cpulease.test")
	data, err := os.ReadFile(os.Args[0])
	if err == nil {
		err = os.WriteFile(bin, data, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("RTCELL_LOCK_DIR", dir)
	asNobody := func() string {
		cmd := exec.Command(bin, "-test.run=^$")
		cmd.Env = append(os.Environ(), envRole+"=try", "CPULEASE_CPUS=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child as nobody: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	h := hold(t, "1")
	if fi, err := os.Stat(filepath.Join(dir, "rtcell-cpu1.lock")); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("lock file: %v, %v; want mode 0644", fi, err)
	}
	if got, want := asNobody(), fmt.Sprintf("busy cpu=1 pid=%d", h.cmd.Process.Pid); got != want {
		t.Errorf("nobody while root holds: %q, want %q", got, want)
	}
	h.stop(t)
	if got := asNobody(); got != "granted held=[1] shared=[]" {
		t.Errorf("nobody once free: %q, want granted through the read-only file", got)
	}
}
