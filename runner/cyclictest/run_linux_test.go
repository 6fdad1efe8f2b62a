package cyclictest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/rttest"
)

// testCPU is CPU 1, the CPU the runner uses for RT work on a 2-CPU box,
// or CPU 0 on a single-CPU box; the test holds its lease until it ends.
func testCPU(t *testing.T) int {
	cpu := 1
	if runtime.NumCPU() < 2 {
		cpu = 0
	}
	rttest.RequireCPU(t, cpu)
	// cyclictest runs a SCHED_FIFO thread there: no other package's RT
	// test may share the CPU meanwhile.
	rttest.LeaseCPU(t, cpu)
	return cpu
}

func TestRunReal(t *testing.T) {
	rttest.RequireRoot(t)
	rttest.RequireCommand(t, "cyclictest", "apt-get install -y rt-tests")
	cpu := testCPU(t)
	res, err := Run(context.Background(), Options{CPU: cpu, Priority: 90, Interval: time.Millisecond, Loops: 500, HistogramUS: 200})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Threads) != 1 {
		t.Fatalf("%d threads", len(res.Threads))
	}
	th := res.Threads[0]
	var sum uint64
	for _, c := range th.Hist {
		sum += c
	}
	if th.Cycles != 500 || len(th.Hist) != 200 || sum+th.Overflow != 500 || th.CPU != cpu || th.BinNs != 1000 {
		t.Errorf("cycles %d bins %d sum %d overflow %d cpu %d binNs %d", th.Cycles, len(th.Hist), sum, th.Overflow, th.CPU, th.BinNs)
	}
	if uint64(len(th.OverflowCycles)) > th.Overflow || (th.Overflow > 0 && len(th.OverflowCycles) == 0) {
		t.Errorf("overflow %d but %d cycle numbers", th.Overflow, len(th.OverflowCycles))
	}
	if !(th.MinNs > 0 && th.MinNs <= th.AvgNs && th.AvgNs <= th.MaxNs) {
		t.Errorf("min %d avg %d max %d", th.MinNs, th.AvgNs, th.MaxNs)
	}
	for _, want := range []string{"-p 90", "-i 1000", "-l 500", "-h 200", "-a " + string(rune('0'+cpu))} {
		if !strings.Contains(res.Cmdline, want) {
			t.Errorf("cmdline %q lacks %q", res.Cmdline, want)
		}
	}
	s, err := res.Summary()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cyclictest %s on CPU %d: %+v", res.Version, cpu, s)
}

func TestRunCancelled(t *testing.T) {
	rttest.RequireRoot(t)
	rttest.RequireCommand(t, "cyclictest", "apt-get install -y rt-tests")
	cpu := testCPU(t)
	// Long enough for cyclictest to start and run cycles on a busy box.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res, err := Run(ctx, Options{CPU: cpu, Loops: 0})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if res == nil || res.Threads[0].Cycles == 0 {
		t.Fatalf("no partial result after SIGINT: %+v", res)
	}
}

func TestRunBadCPU(t *testing.T) {
	rttest.RequireRoot(t)
	rttest.RequireCommand(t, "cyclictest", "apt-get install -y rt-tests")
	_, err := Run(context.Background(), Options{CPU: 4095, Loops: 10})
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v, want ErrFailed", err)
	}
}

// fakeCyclictest writes a shell script that stands in for cyclictest.
func fakeCyclictest(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "cyclictest")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunErrors(t *testing.T) {
	rttest.RequireCommand(t, "sh", "apt-get install -y dash")
	tests := []struct {
		name    string
		opts    Options
		wantErr error
		want    string
	}{
		{"missing binary", Options{Path: "/nonexistent/cyclictest", Loops: 1}, ErrNotInstalled, "apt-get install -y rt-tests"},
		{"exit status", Options{Path: fakeCyclictest(t, "echo 'boom: no luck' >&2; exit 3"), Loops: 1}, ErrFailed, "exit status 3: boom: no luck"},
		{"no permission", Options{Path: fakeCyclictest(t, "echo 'Unable to change scheduling policy!' >&2; exit 1"), Loops: 1}, ErrPermission, "run as root"},
		{"usage", Options{Path: fakeCyclictest(t, "echo 'Usage:'; exit 1"), Loops: 1, CPU: 7}, ErrFailed, "check that CPU 7 exists"},
		{"no files", Options{Path: fakeCyclictest(t, "exit 0"), Loops: 1}, nil, "reading cyclictest's json"},
		{"garbage json", Options{Path: fakeCyclictest(t, `for a; do case $a in --json=*) echo '{' > "${a#--json=}";; esac; done`), Loops: 1}, ErrMalformed, "parsing cyclictest json"},
		{"priority", Options{Path: "/bin/true", Priority: 100, Loops: 1}, ErrInvalid, "priority 100"},
		{"interval", Options{Path: "/bin/true", Interval: time.Nanosecond, Loops: 1}, ErrInvalid, "interval 1ns"},
		{"loops", Options{Path: "/bin/true", Loops: -1}, ErrInvalid, "loops -1"},
		{"histogram", Options{Path: "/bin/true", HistogramUS: -3, Loops: 1}, ErrInvalid, "histogram -3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.opts)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err %v does not wrap %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %q lacks %q", err, tt.want)
			}
		})
	}
}

// TestRunMergesHistfile feeds Run the real fixture files through a fake
// binary, so the overflow cycle numbers come from the histogram file.
func TestRunMergesHistfile(t *testing.T) {
	rttest.RequireCommand(t, "sh", "apt-get install -y dash")
	dir, _ := filepath.Abs("testdata")
	script := `for a; do case $a in
--json=*) cp ` + dir + `/t1-h1000.json "${a#--json=}";;
--histfile=*) cp ` + dir + `/t1-h1000.hist "${a#--histfile=}";;
esac; done`
	res, err := Run(context.Background(), Options{Path: fakeCyclictest(t, script), Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Threads[0].OverflowCycles; len(got) != 2 || got[0] != 847 {
		t.Errorf("overflow cycles %v, want [847 993]", got)
	}

	script = strings.Replace(script, "t1-h1000.hist", "t2-h30.hist", 1)
	if _, err := Run(context.Background(), Options{Path: fakeCyclictest(t, script), Loops: 1}); !errors.Is(err, ErrMalformed) ||
		!strings.Contains(err.Error(), "json has 1 threads, histogram 2") {
		t.Errorf("mismatched files: %v", err)
	}
}
