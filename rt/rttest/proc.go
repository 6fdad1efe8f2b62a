package rttest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// statFields returns the fields of /proc/PID/stat after the command name
// (state first), or nil when the process does not exist.
func statFields(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

// ProcessGone reports whether process pid has exited: there is no such
// process, or it is a zombie. A child re-parented to a PID 1 that is not
// a full init may stay a zombie for seconds, so a test that checks that
// processes died must count state Z as dead rather than use kill -0.
func ProcessGone(pid int) bool {
	f := statFields(fmt.Sprintf("/proc/%d/stat", pid))
	return len(f) == 0 || f[0] == "Z" || f[0] == "X"
}

// Children lists the processes whose parent is pid, from /proc.
func Children(pid int) []int {
	var kids []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		f := statFields(p)
		if len(f) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == pid {
			n, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			kids = append(kids, n)
		}
	}
	return kids
}

// Descendants lists every process below pid (children, their children,
// …), from one pass over /proc.
func Descendants(pid int) []int {
	kids := map[int][]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		f := statFields(p)
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		me, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		kids[ppid] = append(kids[ppid], me)
	}
	var out []int
	for q := []int{pid}; len(q) > 0; q = q[1:] {
		out = append(out, kids[q[0]]...)
		q = append(q, kids[q[0]]...)
	}
	return out
}

// Comm is a process's command name (/proc/PID/comm), or "" when it is
// gone.
func Comm(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// WaitGone waits until every process in pids is gone (ProcessGone), and
// fails the test naming those left, with what, after within.
func WaitGone(tb testing.TB, pids []int, within time.Duration, what string) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		var left []string
		for _, p := range pids {
			if !ProcessGone(p) {
				left = append(left, fmt.Sprintf("%d (%s)", p, Comm(p)))
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d processes still alive %v after %s: %s", len(left), len(pids), within, what, strings.Join(left, ", "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// LockedBuffer is a bytes.Buffer that a child process's output (through
// exec.Cmd's copying goroutine) and the test can use at once.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written so far.
func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// WaitLoad waits until at least minStressNG descendants of pid are
// stress-ng processes and one is hackbench (the load rt/load starts), and
// returns every descendant; it fails the test after within.
func WaitLoad(tb testing.TB, pid, minStressNG int, within time.Duration) []int {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		all := Descendants(pid)
		stress, hb := 0, 0
		for _, d := range all {
			switch c := Comm(d); {
			case strings.HasPrefix(c, "stress-ng"):
				stress++
			case c == "hackbench":
				hb++
			}
		}
		if stress >= minStressNG && hb > 0 {
			return all
		}
		if time.Now().After(deadline) {
			tb.Fatalf("after %v below pid %d: %d stress-ng processes (want ≥ %d), %d hackbench", within, pid, stress, minStressNG, hb)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
