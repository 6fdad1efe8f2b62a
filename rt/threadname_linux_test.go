package rt

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestLoopThreadName: while the loop runs, its thread carries the loop's
// name (cut to the kernel's 15 bytes), and gets its old name back after.
func TestLoopThreadName(t *testing.T) {
	const name = "scan-with-a-long-name"
	comm := func(tid int) string {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/comm", tid))
		return strings.TrimSpace(string(b))
	}
	var tid int
	var during string
	l := newTestLoop(t, LoopOptions{Name: name, Period: time.Millisecond, Cycles: 50}, func(c *Cycle) bool {
		if c.N == 10 {
			tid = unix.Gettid()
			during = comm(tid) // allocates: fine in a test
		}
		return true
	})
	before := comm(unix.Gettid())
	if _, err := l.Run(); err != nil {
		t.Fatal(err)
	}
	if want := name[:15]; during != want {
		t.Errorf("loop thread's comm = %q, want %q", during, want)
	}
	if after := comm(tid); after == name[:15] {
		t.Errorf("thread %d still named %q after the loop (was %q)", tid, after, before)
	}
}
