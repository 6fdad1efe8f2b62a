package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/rttest"
)

var summaryRE = regexp.MustCompile(`(?m)^SUMMARY produced=(\d+) dropped=(\d+) left=(\d+) received=(\d+) lost=(\d+) missing=(\d+) ordered=(\w+) corrupt=(\d+) balanced=(\w+) reconnects=(\d+)$`)

type summary struct {
	produced, dropped, left, received, lost, missing, corrupt uint64
	reconnects                                                uint64
	ordered, balanced                                         bool
}

func parseSummary(t *testing.T, out string) summary {
	t.Helper()
	m := summaryRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no SUMMARY line:\n%s", out)
	}
	n := func(i int) uint64 {
		v, err := strconv.ParseUint(m[i], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	return summary{produced: n(1), dropped: n(2), left: n(3), received: n(4), lost: n(5), missing: n(6),
		ordered: m[7] == "true", corrupt: n(8), balanced: m[9] == "true", reconnects: n(10)}
}

// TestGateway runs the example: at nominal load nothing is lost and the
// order is kept; with a slow collector the ring drops samples, counts
// them, and every sample is accounted for.
func TestGateway(t *testing.T) {
	rttest.RequireRoot(t)
	if testing.Short() {
		t.Skip("runs the example for a few seconds; skipped with -short")
	}
	// CPU 0: the other packages' RT tests, which go test may run at the
	// same time, use the last CPU at the same priority. The lease keeps
	// other tests from measuring on CPU 0 until every subtest has ended;
	// the examples run under it.
	rttest.LeaseCPU(t, 0)
	goTool := rttest.RequireCommand(t, "go", "the test builds the example with the go tool")
	bin := filepath.Join(t.TempDir(), "sensorgw")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building sensorgw: %v\n%s", err, out)
	}
	run := func(t *testing.T, args ...string) (string, summary) {
		// CPU 0, leased: the subtests take turns on it, and no other
		// package's RT test runs there meanwhile (most use the last CPU).
		rttest.LeaseCPU(t, 0)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append([]string{"-cpu", "0"}, args...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		t.Logf("sensorgw %v:\n%s%s", args, out.String(), errb.String())
		if err != nil {
			t.Fatalf("sensorgw %v: %v", args, err)
		}
		// The sampler ran to its end with no GC cycle and no heap
		// allocation in its process.
		m := regexp.MustCompile(`(?m)^sampler: \d+ cycles, period.*\n(?:.*\n){3}  deadline misses \d+, overruns \d+, missed releases \d+, GC cycles (\d+), heap allocs (\d+), `).FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("no final sampler statistics")
		}
		if m[1] != "0" || m[2] != "0" {
			t.Errorf("sampler: %s GC cycles, %s heap allocations; want 0, 0", m[1], m[2])
		}
		return out.String(), parseSummary(t, out.String())
	}

	t.Run("nominal", func(t *testing.T) {
		t.Parallel()
		_, s := run(t, "-duration", "2s")
		if s.produced < 1000 {
			t.Fatalf("produced %d samples in 2 s at 2 kHz: the sampler hardly ran", s.produced)
		}
		if s.lost != 0 || s.received != s.produced || s.dropped != 0 || s.left != 0 || s.missing != 0 {
			t.Errorf("nominal load: %+v; want every sample received", s)
		}
		if !s.ordered || s.corrupt != 0 || !s.balanced || s.reconnects != 0 {
			t.Errorf("nominal load: %+v; want ordered, intact, balanced, no reconnection", s)
		}
	})
	for _, policy := range []string{"drop-newest", "overwrite-oldest"} {
		t.Run("slow collector "+policy, func(t *testing.T) {
			t.Parallel()
			// ≤ 8 samples per 100 ms reach the collector, 2000/s are taken.
			_, s := run(t, "-duration", "3s", "-policy", policy, "-collector-delay", "100ms", "-batch", "8", "-drain", "200ms")
			if s.dropped == 0 {
				t.Fatalf("slow collector: nothing dropped: %+v", s)
			}
			if s.produced != s.received+s.dropped+s.left || s.lost != s.produced-s.received || !s.balanced {
				t.Errorf("slow collector: %+v; want produced = received + dropped + left", s)
			}
			if !s.ordered || s.corrupt != 0 || s.missing > s.dropped {
				t.Errorf("slow collector: %+v; want what arrived ordered and intact, no more gaps than drops", s)
			}
			if policy == "overwrite-oldest" && s.missing == 0 {
				t.Errorf("overwrite-oldest: no gap in what arrived: %+v; the oldest samples should have been overwritten", s)
			}
		})
	}
	t.Run("collector restarts", func(t *testing.T) {
		t.Parallel()
		rttest.LeaseCPU(t, 0)
		// A free port for the collector, which is killed and started
		// again on the same address while the gateway runs.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		startCollector := func() (*exec.Cmd, *bytes.Buffer) {
			var out bytes.Buffer
			c := exec.Command(bin, "-collect", addr)
			c.Stdout, c.Stderr = &out, &out
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			// Until it listens: the gateway's first dial must succeed.
			for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
				if conn, err := net.Dial("tcp", addr); err == nil {
					conn.Close()
					return c, &out
				}
			}
			c.Process.Kill()
			c.Wait()
			t.Fatalf("the collector did not listen on %s: %s", addr, out.String())
			return nil, nil
		}
		stopCollector := func(c *exec.Cmd) {
			c.Process.Signal(os.Interrupt)
			c.Wait()
		}
		coll, collOut := startCollector()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		gw := exec.CommandContext(ctx, bin, "-cpu", "0", "-duration", "4s", "-collector", addr)
		sampling := make(chan struct{})
		var out bytes.Buffer
		var errb bytes.Buffer
		gw.Stdout, gw.Stderr = &watchWriter{w: &out, want: "sensorgw: sampling at", seen: sampling}, &errb
		if err := gw.Start(); err != nil {
			t.Fatal(err)
		}
		// Once sampling has run 1 s, the collector dies and comes back
		// 500 ms later.
		restarted := make(chan *exec.Cmd, 1)
		gwDone := make(chan struct{})
		go func() {
			select {
			case <-sampling:
			case <-gwDone: // the gateway ended without sampling
				stopCollector(coll)
				restarted <- nil
				return
			}
			time.Sleep(time.Second)
			stopCollector(coll)
			time.Sleep(500 * time.Millisecond)
			c, _ := startCollectorQuiet(bin, addr)
			restarted <- c
		}()
		err = gw.Wait()
		close(gwDone)
		if c := <-restarted; c != nil {
			defer stopCollector(c)
		}
		t.Logf("sensorgw:\n%s%s\nfirst collector:\n%s", out.String(), errb.String(), collOut.String())
		if err != nil {
			t.Fatalf("sensorgw: %v", err)
		}
		s := parseSummary(t, out.String())
		if s.reconnects < 1 {
			t.Fatalf("the collector died and came back, but the gateway did not reconnect: %+v", s)
		}
		if !s.balanced || s.lost != s.dropped || s.left != 0 || s.corrupt != 0 {
			t.Errorf("after a collector restart: %+v; want balanced, every sample not dropped by the ring received", s)
		}
	})
}

// watchWriter writes to w and closes seen once the output contains want.
type watchWriter struct {
	w    io.Writer
	want string
	seen chan struct{}
	buf  []byte
	done bool
}

func (ww *watchWriter) Write(p []byte) (int, error) {
	if !ww.done {
		ww.buf = append(ww.buf, p...)
		if bytes.Contains(ww.buf, []byte(ww.want)) {
			ww.done = true
			close(ww.seen)
		}
	}
	return ww.w.Write(p)
}

// startCollectorQuiet starts `sensorgw -collect addr`, retrying while the
// address is still held by the collector just stopped.
func startCollectorQuiet(bin, addr string) (*exec.Cmd, error) {
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c := exec.Command(bin, "-collect", addr)
		if err := c.Start(); err != nil {
			return nil, err
		}
		time.Sleep(100 * time.Millisecond)
		if c.ProcessState == nil {
			if conn, err := net.Dial("tcp", addr); err == nil {
				conn.Close()
				return c, nil
			}
		}
		c.Process.Kill()
		c.Wait()
		if time.Now().After(end) {
			return nil, fmt.Errorf("the collector did not listen on %s again", addr)
		}
	}
}
