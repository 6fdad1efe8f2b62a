package metrics

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt"
)

// rtResult is the result of a started loop at SCHED_FIFO with the Go
// runtime settings of an RT worker: Realtime() holds.
func rtResult() *rt.Result {
	return &rt.Result{
		Start:   time.Unix(1700000000, 0),
		Cycles:  1000,
		Runtime: rt.RuntimeSettings{GOMAXPROCS: 1, AsyncPreemptOff: true, GOGC: "off"},
		Thread:  rt.ThreadState{Policy: rt.PolicyFIFO, Priority: 80},
	}
}

func Test_verdictOf(t *testing.T) {
	started := func(mod func(d *taskData)) taskData {
		d := taskData{started: true, hasSnap: true, up: true, res: rtResult()}
		if mod != nil {
			mod(&d)
		}
		return d
	}
	good := started(nil)
	missed := started(func(d *taskData) { d.res.DeadlineMisses = 3 })
	overran := started(func(d *taskData) { d.res.Overruns = 1 })
	restarted := started(func(d *taskData) { d.restarts = 1 })
	other := started(func(d *taskData) { d.res.Thread.Policy = rt.PolicyOther })
	gcOn := started(func(d *taskData) { d.res.Runtime.GOGC = "100" })
	errored := started(func(d *taskData) { d.failed = true; d.up = false })
	killed := started(func(d *taskData) { d.exited = true; d.up = false }) // block still says running
	finished := started(func(d *taskData) { d.exited, d.done, d.up = true, true, false })
	neverStarted := taskData{exited: true} // worker gone, no block
	pending := taskData{}                  // no worker yet

	cases := []struct {
		name     string
		kernelRT bool
		tasks    []taskData
		want     Verdict
	}{
		{"no tasks", true, nil, VerdictPass},
		{"all good", true, []taskData{good, good}, VerdictPass},
		{"finished cleanly", true, []taskData{finished}, VerdictPass},
		{"pending task", true, []taskData{good, pending}, VerdictPass},
		{"deadline miss", true, []taskData{good, missed}, VerdictViolations},
		{"overrun", true, []taskData{overran}, VerdictViolations},
		{"watchdog restart", true, []taskData{restarted}, VerdictViolations},
		{"kernel not RT", false, []taskData{good}, VerdictNotRealtime},
		{"kernel not RT beats misses", false, []taskData{missed}, VerdictNotRealtime},
		{"SCHED_OTHER task", true, []taskData{good, other}, VerdictNotRealtime},
		{"GC on", true, []taskData{gcOn, missed}, VerdictNotRealtime},
		{"loop error", true, []taskData{good, errored}, VerdictFailed},
		{"worker killed", false, []taskData{other, killed}, VerdictFailed},
		{"worker never started", true, []taskData{neverStarted}, VerdictFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := verdictOf(c.tasks, c.kernelRT); got != c.want {
				t.Errorf("verdict %q, want %q", got, c.want)
			}
		})
	}
}

// verdictGauge returns the verdict whose rtcell_verdict series is 1, and
// checks that there is exactly one, with every verdict exported.
func verdictGauge(t *testing.T, c *Collector) Verdict {
	t.Helper()
	e, text := scrape(t, c)
	var one []Verdict
	for _, v := range Verdicts {
		switch must(t, e, "rtcell_verdict", "verdict", string(v)) {
		case 1:
			one = append(one, v)
		case 0:
		default:
			t.Fatalf("rtcell_verdict{verdict=%q} is neither 0 nor 1:\n%s", v, text)
		}
	}
	if len(one) != 1 {
		t.Fatalf("rtcell_verdict is 1 for %v, want exactly one:\n%s", one, text)
	}
	if v, err := c.Verdict(); err != nil || v != one[0] {
		t.Errorf("Collector.Verdict() = %q, %v; the gauge says %q", v, err, one[0])
	}
	return one[0]
}

// TestVerdictGauge scrapes real loops: at SCHED_OTHER they are judged
// not real-time whatever the kernel, a worker gone before its loop
// finished is failed, and the gauge is off unless asked for.
func TestVerdictGauge(t *testing.T) {
	ran := runTestLoop(t, "ran", 20) // SCHED_OTHER, with deadline misses
	var mu sync.Mutex
	set := []Task{{Name: "ran", Source: ran, Exited: true}}
	tasks := func() []Task {
		mu.Lock()
		defer mu.Unlock()
		return append([]Task(nil), set...)
	}

	if _, text := scrape(t, NewCollector(tasks)); strings.Contains(text, "rtcell_verdict") {
		t.Errorf("NewCollector exports rtcell_verdict, which needs CollectorOptions.Verdict:\n%s", text)
	}
	for _, kernelRT := range []bool{false, true} {
		c := NewCollectorOptions(tasks, CollectorOptions{Verdict: true, KernelRealtime: kernelRT})
		if v := verdictGauge(t, c); v != VerdictNotRealtime {
			t.Errorf("kernel RT %v, a finished SCHED_OTHER loop: verdict %q, want %q", kernelRT, v, VerdictNotRealtime)
		}
	}

	// A second task whose worker exited before its loop ran.
	mu.Lock()
	set = append(set, Task{Name: "dead", Source: idleLoop(t, 100), Exited: true})
	mu.Unlock()
	c := NewCollectorOptions(tasks, CollectorOptions{Verdict: true, KernelRealtime: true})
	if v := verdictGauge(t, c); v != VerdictFailed {
		t.Errorf("with a dead worker: verdict %q, want %q", v, VerdictFailed)
	}

	// Duplicate names fail the verdict as they fail the scrape.
	mu.Lock()
	set = append(set, Task{Name: "ran", Source: ran})
	mu.Unlock()
	if _, err := c.Verdict(); err == nil {
		t.Errorf("Verdict with two tasks named ran: no error")
	}
}

// TestREADMEListsEveryMetric: README's metrics table names every family
// a scrape exports, so that the names dashboards and alert rules depend
// on are documented.
func TestREADMEListsEveryMetric(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	ran := runTestLoop(t, "ran", 5)
	_, text := scrape(t, NewCollectorOptions(func() []Task { return []Task{{Name: "ran", Source: ran}} }, CollectorOptions{Verdict: true}))
	n := 0
	for _, line := range strings.Split(text, "\n") {
		name, ok := strings.CutPrefix(line, "# TYPE ")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, " ")
		n++
		if !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("README's metrics table lacks `%s`", name)
		}
	}
	if n < 20 {
		t.Errorf("only %d families in the scrape:\n%s", n, text)
	}
}
