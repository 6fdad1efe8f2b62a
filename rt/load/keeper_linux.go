package load

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"

	"github.com/rtcell/rtcell/rt/cpulist"
)

// The keeper is this binary re-executed by Start with envKeeper set. It
// runs from this package's init, before main and before the init of any
// package this one does not depend on, so every binary that links
// rt/load (every rt.Program does) can serve as its own keeper, test
// binaries included, with no call in main.
//
// Why a keeper: the load generators fork: stress-ng one process per
// stressor, hackbench 40 per group. rt/child gives the process it starts
// a parent-death signal and a process group, but a grandchild gets
// neither from it: if the runner is killed with SIGKILL, stress-ng dies
// and its stressors, re-parented to PID 1, keep loading the box. The
// keeper closes that gap:
//   - it is a child subreaper (PR_SET_CHILD_SUBREAPER), so every
//     descendant whose parent dies is re-parented to the keeper, never
//     to PID 1, and stays in reach;
//   - its parent-death signal is SIGTERM, which it catches, instead of
//     rt/child's SIGKILL, which it could not; it checks getppid after
//     setting it, for a parent that died before;
//   - on that signal, or a normal stop, it sends SIGTERM to every
//     descendant, SIGKILL after a grace time, reaps them all, and
//     exits when wait4 says it has no child left: since it is a
//     subreaper, that means no descendant is left.
const (
	envKeeper = "RTCELL_LOAD_KEEPER"
	// statusFD is the keeper's status pipe to Start (exec.Cmd.ExtraFiles[0]).
	statusFD = 3
	procRoot = "/proc"
	// keeperGrace is how long descendants have to exit after SIGTERM
	// before the keeper sends SIGKILL. stress-ng stops its stressors on
	// SIGTERM within a few ms here.
	keeperGrace = 500 * time.Millisecond
	// keeperPoll is how often the keeper reaps and checks its parent.
	keeperPoll = 50 * time.Millisecond
)

func init() {
	if env := os.Getenv(envKeeper); env != "" {
		os.Exit(keeperMain(env))
	}
}

// keeperSpec is what Start passes to the keeper, as JSON in envKeeper.
type keeperSpec struct {
	Parent   int       `json:"parent"`
	CPUs     []int     `json:"cpus"`
	Commands []Command `json:"commands"`
}

// status is one line the keeper writes on its status pipe: the first
// after the generators started (Ready, or Error), the last when it ends.
type status struct {
	Ready    bool            `json:"ready,omitempty"`
	Error    string          `json:"error,omitempty"`
	Commands []CommandResult `json:"commands"`
}

type generator struct {
	cmd  Command
	path string
	res  CommandResult
	pid  int // 0 while not running
	tail *tailBuffer
	errW *os.File // write end of its stderr pipe
}

type keeper struct {
	spec     keeperSpec
	gens     []*generator
	byPID    map[int]*generator
	devnull  *os.File
	env      []string
	stopping bool
}

func keeperMain(env string) int {
	// The main goroutine runs on the main thread during init; keeping it
	// there means the parent-death signal below is set on the thread the
	// kernel checks (the one rt/child's fork set it on) and every
	// generator is forked from the thread whose affinity is set.
	runtime.LockOSThread()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	syscall.CloseOnExec(statusFD) // the generators must not hold the status pipe
	out := os.NewFile(statusFD, "load-status")
	k := &keeper{byPID: map[int]*generator{}}
	if err := json.Unmarshal([]byte(env), &k.spec); err != nil {
		writeStatus(out, status{Error: fmt.Sprintf("decoding the keeper spec: %v", err)})
		return 2
	}
	if err := k.setup(); err != nil {
		writeStatus(out, status{Error: err.Error(), Commands: k.results()})
		k.cleanup()
		return 2
	}
	for _, g := range k.gens {
		k.start(g)
	}
	writeStatus(out, status{Ready: true, Commands: k.results()})
	tick := time.NewTicker(keeperPoll)
	for !k.stopping {
		select {
		case <-sigs:
			k.stopping = true
		case <-tick.C:
		}
		k.reap()
		if os.Getppid() != k.spec.Parent {
			k.stopping = true // belt and braces: the parent-death signal covers this
		}
	}
	k.cleanup()
	writeStatus(out, status{Commands: k.results()})
	return 0
}

func (k *keeper) setup() error {
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0, 0, 0); err != nil {
		return fmt.Errorf("setting the keeper's parent-death signal: %w", err)
	}
	if os.Getppid() != k.spec.Parent {
		return fmt.Errorf("parent %d exited before the load started", k.spec.Parent)
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("making the keeper a child subreaper: %w", err)
	}
	if err := confine(k.spec.CPUs); err != nil {
		return err
	}
	boost()
	var err error
	if k.devnull, err = os.OpenFile(os.DevNull, os.O_RDWR, 0); err != nil {
		return err
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envKeeper+"=") {
			k.env = append(k.env, kv)
		}
	}
	for _, c := range k.spec.Commands {
		g := &generator{cmd: c, res: CommandResult{Name: c.Name, Cmdline: c.Cmdline()}, tail: &tailBuffer{}}
		k.gens = append(k.gens, g)
		if g.path, err = exec.LookPath(c.Argv[0]); err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		g.errW = w
		go io.Copy(g.tail, r)
	}
	return nil
}

// confine sets the affinity of every thread of the keeper to cpus. The
// generators are forked from the locked main thread and inherit its
// mask, and so does everything they fork.
func confine(cpus []int) error {
	var set unix.CPUSet
	set.Zero()
	for _, c := range cpus {
		set.Set(c)
	}
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("confining the load to CPUs %s: %w", cpulist.Format(cpus), err)
	}
	tasks, _ := os.ReadDir(procRoot + "/self/task")
	for _, t := range tasks {
		if tid, err := strconv.Atoi(t.Name()); err == nil {
			unix.SchedSetaffinity(tid, &set) // the runtime's other threads; best effort, they only sleep
		}
	}
	return nil
}

// boost puts the keeper's main thread, which does all its work, above
// the load it shares the load CPUs with: SCHED_FIFO 1, or else nice -10.
// On one load CPU with forty hackbench processes and the stressors, a
// keeper at nice 0 gets a few percent of the CPU, and a scan of /proc
// in its cleanup took seconds. SCHED_FLAG_RESET_ON_FORK gives the
// generators it forks the default policy and nice 0, so the load is
// the same as without the boost. Without CAP_SYS_NICE the keeper stays
// at nice 0.
func boost() {
	attr := unix.SchedAttr{Policy: unix.SCHED_FIFO, Priority: 1, Flags: unix.SCHED_FLAG_RESET_ON_FORK}
	if unix.SchedSetAttr(0, &attr, 0) == nil {
		return
	}
	attr = unix.SchedAttr{Policy: unix.SCHED_NORMAL, Nice: -10, Flags: unix.SCHED_FLAG_RESET_ON_FORK}
	unix.SchedSetAttr(0, &attr, 0)
}

func (k *keeper) start(g *generator) {
	pid, err := syscall.ForkExec(g.path, g.cmd.Argv, &syscall.ProcAttr{
		Env:   k.env,
		Files: []uintptr{k.devnull.Fd(), k.devnull.Fd(), g.errW.Fd()},
		Sys:   &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		g.res.Error = fmt.Sprintf("starting: %v", err)
		return
	}
	g.pid = pid
	g.res.Starts++
	k.byPID[pid] = g
}

// reap reaps every child that has exited and reports whether the keeper
// has no child left.
func (k *keeper) reap() (none bool) {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.ECHILD):
			return true
		case err != nil || pid <= 0:
			return false
		}
		if g, ok := k.byPID[pid]; ok {
			delete(k.byPID, pid)
			g.pid = 0
			k.exited(g, ws)
		}
	}
}

func (k *keeper) exited(g *generator, ws syscall.WaitStatus) {
	if k.stopping {
		return
	}
	if g.cmd.Loop && ws.Exited() && ws.ExitStatus() == 0 {
		k.start(g)
		return
	}
	time.Sleep(100 * time.Millisecond) // let the stderr copier catch up
	g.res.Error = fmt.Sprintf("ended before the load was stopped: %s%s", describe(ws), g.tail.suffix())
}

func describe(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return "exit status " + strconv.Itoa(ws.ExitStatus())
}

// cleanup ends every descendant: SIGTERM once each, SIGKILL after
// keeperGrace, until the keeper has no child left. New descendants (a
// hackbench forking as it is killed) are found on the next round: an
// orphan is re-parented to the keeper, a subreaper, before its parent
// becomes a zombie.
func (k *keeper) cleanup() {
	k.stopping = true
	start := time.Now()
	termed := map[int]bool{}
	for {
		kill := time.Since(start) > keeperGrace
		for _, pid := range descendants(os.Getpid()) {
			switch {
			case kill:
				syscall.Kill(pid, syscall.SIGKILL)
			case !termed[pid]:
				termed[pid] = true
				syscall.Kill(pid, syscall.SIGTERM)
			}
		}
		if k.reap() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// descendants lists the processes below pid, from /proc.
func descendants(pid int) []int {
	fs, err := procfs.NewFS(procRoot)
	if err != nil {
		return nil
	}
	procs, err := fs.AllProcs()
	if err != nil {
		return nil
	}
	kids := map[int][]int{}
	for _, p := range procs {
		st, err := p.Stat()
		if err != nil {
			continue // exited meanwhile
		}
		kids[st.PPID] = append(kids[st.PPID], p.PID)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range kids[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

func (k *keeper) results() []CommandResult {
	rs := make([]CommandResult, len(k.gens))
	for i, g := range k.gens {
		rs[i] = g.res
	}
	return rs
}

func writeStatus(w io.Writer, s status) {
	b, _ := json.Marshal(s)
	w.Write(append(b, '\n')) // EPIPE when the parent is gone: nothing to tell
}

// tailBuffer keeps the last tailBytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailBytes = 512

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if n := len(t.buf); n > tailBytes {
		t.buf = append(t.buf[:0], t.buf[n-tailBytes:]...)
	}
	return len(p), nil
}

// suffix is ": " and the last lines of stderr, or "".
func (t *tailBuffer) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(strings.ToValidUTF8(string(t.buf), "?"))
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	return ": " + strings.Join(lines[max(0, len(lines)-3):], " | ")
}
