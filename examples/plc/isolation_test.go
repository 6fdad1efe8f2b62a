package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/rttest"
)

var (
	isolation       = flag.Bool("isolation", false, "run the isolation benchmark: A B A B rounds of the scan task and of cyclictest, the HMI idle and flooded")
	isolationRounds = flag.Int("isolation.rounds", 4, "isolation benchmark: rounds")
	isolationRound  = flag.Duration("isolation.round", 20*time.Second, "isolation benchmark: length of each run (4 runs a round)")
)

// The benchmark's CPUs: the load generator, the HMI and the control
// server share the housekeeping CPU; the scan task and cyclictest run on
// the RT CPU at the same SCHED_FIFO priority and period.
const (
	housekeepingCPU = 0
	rtCPU           = 1
	floodClients    = 4
)

// isoRun is one run's wake-latency figures.
type isoRun struct {
	p50, p99 float64 // µs
	reqs     int     // GET answered during the run
	gc       int     // GC cycles of the serving process (the supervisor's, from gctrace)
	// the scan task's worker only
	workerGC, workerAllocs int
}

// TestIsolation is the isolation benchmark: the promise that the non-RT
// side cannot delay a loop, measured. Each round runs examples/plc's scan
// task with its HMI idle (A) and flooded with GET /image over loopback
// (B), then the control: cyclictest in place of the scan task, with the
// same load generator aimed at an unrelated HTTP server in this process
// (A idle, B flooded). What a busy housekeeping vCPU does to any RT
// thread on its sibling cancels out in (B/A scan) / (B/A control). It
// reports the figures and checks that the worker allocated nothing and
// ran no GC in every round; the latency ratios are reported, not
// asserted (this box is shared and noisy).
//
//	go test ./examples/plc -run TestIsolation -isolation -v -timeout 30m
func TestIsolation(t *testing.T) {
	if !*isolation {
		t.Skip("the isolation benchmark runs with -isolation (16 runs of -isolation.round, 20 s by default)")
	}
	rttest.RequireRoot(t)
	rttest.RequireCPU(t, rtCPU)
	rttest.LeaseCPU(t, rtCPU) // no other test measures on the RT CPU meanwhile
	cyclictest := rttest.RequireCommand(t, "cyclictest", "the control runs cyclictest (Debian: apt install rt-tests)")
	taskset := rttest.RequireCommand(t, "taskset", "the load generator is pinned with taskset (util-linux)")
	// Every thread of this process (load generator, control server) and
	// every process it starts (the PLC's supervisor, cyclictest's main
	// thread) on the housekeeping CPU; the RT threads pin themselves.
	if out, err := exec.Command(taskset, "-a", "-c", "-p", strconv.Itoa(housekeepingCPU), strconv.Itoa(os.Getpid())).CombinedOutput(); err != nil {
		t.Fatalf("pinning the test process to CPU %d: %v\n%s", housekeepingCPU, err, out)
	}
	rttest.LeaseCPU(t, rtCPU)
	bin := buildExample(t, "plc")
	d := *isolationRound

	// The control's server does the same kind of work as the HMI: a JSON
	// image encoded for every request.
	var img ImageView
	ctl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(&img)
	}))
	defer ctl.Close()

	var scanA, scanB, ctlA, ctlB []isoRun
	for r := range *isolationRounds {
		for _, flooded := range []bool{false, true} {
			s := runScan(t, bin, d, flooded)
			c := runControl(t, cyclictest, ctl.URL, d, flooded)
			t.Logf("round %d %s: scan p50 %.1f µs p99 %.1f µs (worker GC %d, allocs %d; supervisor GC %d, %d GET /image); cyclictest p50 %.0f µs p99 %.0f µs (%d GET)",
				r+1, ab(flooded), s.p50, s.p99, s.workerGC, s.workerAllocs, s.gc, s.reqs, c.p50, c.p99, c.reqs)
			if s.workerGC != 0 || s.workerAllocs != 0 {
				t.Errorf("round %d %s: the worker ran %d GC cycles and allocated %d heap objects; want 0, 0", r+1, ab(flooded), s.workerGC, s.workerAllocs)
			}
			if flooded {
				scanB, ctlB = append(scanB, s), append(ctlB, c)
				for _, x := range []struct {
					what string
					n    int
				}{{"HMI", s.reqs}, {"control server", c.reqs}} {
					if rate := float64(x.n) / d.Seconds(); rate < 2000 {
						t.Logf("round %d: the %s got %.0f requests/s, under the 2,000/s the benchmark wants", r+1, x.what, rate)
					}
				}
			} else {
				scanA, ctlA = append(scanA, s), append(ctlA, c)
			}
		}
	}
	for _, q := range []struct {
		name string
		get  func(isoRun) float64
	}{{"p50", func(r isoRun) float64 { return r.p50 }}, {"p99", func(r isoRun) float64 { return r.p99 }}} {
		var rel []float64
		var rows []string
		for i := range scanA {
			rs := q.get(scanB[i]) / q.get(scanA[i])
			rc := q.get(ctlB[i]) / q.get(ctlA[i])
			rel = append(rel, rs/rc)
			rows = append(rows, fmt.Sprintf("%.2f/%.2f=%.2f", rs, rc, rs/rc))
		}
		m := median(rel)
		verdict := "met"
		if m > 1.10 {
			verdict = "NOT met"
		}
		t.Logf("%s: (B/A scan)/(B/A cyclictest) per round %s; median %.2f, bar ≤ 1.10 %s", q.name, strings.Join(rows, " "), m, verdict)
	}
}

func ab(flooded bool) string {
	if flooded {
		return "B (flooded)"
	}
	return "A (idle)"
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

var (
	scanLatency = regexp.MustCompile(`(?m)^  latency  min +\S+µs  avg +\S+µs  p50 +(\S+)µs  p99 +(\S+)µs`)
	scanHeap    = regexp.MustCompile(`(?m)^  deadline misses \d+, overruns \d+, missed releases \d+, GC cycles (\d+), heap allocs (\d+), `)
	gcTrace     = regexp.MustCompile(`(?m)^gc \d+ @`)
)

// runScan runs the PLC for d with its scan task on the RT CPU, the HMI
// flooded or idle, and returns the scan task's figures.
func runScan(t *testing.T, bin string, d time.Duration, flooded bool) isoRun {
	t.Helper()
	cmd := exec.Command(bin, "-http", "127.0.0.1:0", "-duration", d.String(), "-cpu", strconv.Itoa(rtCPU), "-max-misses", "0", "-stall", "2s")
	// gctrace shows the supervisor's GC cycles; the worker runs with
	// the GC off.
	cmd.Env = append(os.Environ(), "GODEBUG=gctrace=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := &output{}
	readDone := make(chan struct{})
	go func() { out.read(stdout); close(readDone) }()
	addr := out.wait(t, `HMI on http://(\S+) `)[1]
	var run isoRun
	if flooded {
		// The flood ends before the run does, so that it never meets a
		// closing server.
		run.reqs = flood("http://"+addr+"/image", floodClients, d-500*time.Millisecond)
	}
	<-readDone
	if err := cmd.Wait(); err != nil {
		t.Fatalf("plc: %v\n%s\n%s", err, out, stderr.String())
	}
	all := out.String()
	lat := scanLatency.FindStringSubmatch(all)
	heap := scanHeap.FindStringSubmatch(all)
	if lat == nil || heap == nil {
		t.Fatalf("plc: no scan statistics in its output:\n%s", all)
	}
	run.p50, _ = strconv.ParseFloat(lat[1], 64)
	run.p99, _ = strconv.ParseFloat(lat[2], 64)
	run.workerGC, _ = strconv.Atoi(heap[1])
	run.workerAllocs, _ = strconv.Atoi(heap[2])
	run.gc = len(gcTrace.FindAllString(stderr.String(), -1))
	return run
}

// runControl runs cyclictest for d on the RT CPU at the scan task's
// priority and period, with the control server flooded or idle.
func runControl(t *testing.T, cyclictest, url string, d time.Duration, flooded bool) isoRun {
	t.Helper()
	cmd := exec.Command(cyclictest, "-m", "-p", "80", "-i", "1000", "-h", "20000", "-q", "-t", "1",
		"-a", strconv.Itoa(rtCPU), "-D", strconv.Itoa(int(d.Seconds())))
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var run isoRun
	var wg sync.WaitGroup
	if flooded {
		wg.Go(func() { run.reqs = flood(url, floodClients, d-500*time.Millisecond) })
	}
	err := cmd.Wait()
	wg.Wait()
	if err != nil {
		t.Fatalf("cyclictest: %v\n%s", err, stderr.String())
	}
	hist, err := parseHistogram(stdout.String())
	if err != nil {
		t.Fatal(err)
	}
	run.p50, run.p99 = percentile(hist, 0.50), percentile(hist, 0.99)
	return run
}

// parseHistogram reads cyclictest's -h output for one thread: counts per
// µs bin, the overflows as one last bin.
func parseHistogram(s string) ([]uint64, error) {
	var hist []uint64
	var over uint64
	for _, l := range strings.Split(s, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 2 && !strings.HasPrefix(l, "#"):
			n, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("cyclictest histogram line %q: %w", l, err)
			}
			hist = append(hist, n)
		case strings.HasPrefix(l, "# Histogram Overflows:") && len(f) == 4:
			over, _ = strconv.ParseUint(f[3], 10, 64)
		}
	}
	if len(hist) == 0 {
		return nil, fmt.Errorf("no histogram in cyclictest's output:\n%.500s", s)
	}
	return append(hist, over), nil
}

// percentile returns the bin (µs) at which the cumulative count reaches q.
func percentile(hist []uint64, q float64) float64 {
	var total uint64
	for _, n := range hist {
		total += n
	}
	want := uint64(q*float64(total) + 0.5)
	var cum uint64
	for i, n := range hist {
		cum += n
		if cum >= want {
			return float64(i)
		}
	}
	return float64(len(hist) - 1)
}
