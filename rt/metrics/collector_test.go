package metrics

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt"
)

// spin busy-waits for d on CLOCK_MONOTONIC.
func spin(d time.Duration) {
	end := rt.Nanotime() + int64(d)
	for rt.Nanotime() < end {
	}
}

// testLoop is a real rt.Loop, at SCHED_OTHER so that it runs without
// privileges: 1 ms period, 100 µs deadline, and every 10th cycle spins
// 200 µs, so at least cycles/10 cycles miss their deadline.
func testLoop(t testing.TB, name string, cycles uint64) *rt.Loop {
	t.Helper()
	l, err := rt.NewLoop(rt.LoopOptions{
		Name:         name,
		Period:       time.Millisecond,
		Deadline:     100 * time.Microsecond,
		Cycles:       cycles,
		AllowRuntime: true,
		Thread:       rt.ThreadOptions{CPU: -1, Policy: rt.PolicyOther, NoMlock: true, NoDMALatency: true},
	}, func(c *rt.Cycle) bool {
		if c.N%10 == 5 {
			spin(200 * time.Microsecond)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// runTestLoop runs a test loop to its end and returns it.
func runTestLoop(t testing.TB, name string, cycles uint64) *rt.Loop {
	t.Helper()
	l := testLoop(t, name, cycles)
	if _, err := l.Run(); err != nil {
		t.Fatal(err)
	}
	return l
}

// idleLoop is a loop that is never run: a fresh block, whose loop has
// not started (and so has published no name).
func idleLoop(t testing.TB, histUS int) *rt.Loop {
	t.Helper()
	l, err := rt.NewLoop(rt.LoopOptions{
		Period:       time.Millisecond,
		HistogramUS:  histUS,
		AllowRuntime: true,
		Thread:       rt.ThreadOptions{CPU: -1, Policy: rt.PolicyOther, NoMlock: true, NoDMALatency: true},
	}, func(*rt.Cycle) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func scrape(t testing.TB, c *Collector) (*exposition, string) {
	t.Helper()
	var b bytes.Buffer
	if err := c.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	e, err := parseExposition(b.String())
	if err != nil {
		t.Fatalf("invalid exposition: %v\n%s", err, b.String())
	}
	return e, b.String()
}

func static(tasks ...Task) *Collector {
	return NewCollector(func() []Task { return tasks })
}

// must returns the value of a series and fails the test if it is absent.
func must(t *testing.T, e *exposition, name string, kv ...string) float64 {
	t.Helper()
	v, ok := e.value(name, kv...)
	if !ok {
		t.Fatalf("no series %s%v", name, kv)
	}
	return v
}

// TestScrapeMatchesResult runs a real loop, then checks every exported
// figure against the rt.Result computed from the same block.
func TestScrapeMatchesResult(t *testing.T) {
	const cycles = 200
	loop := runTestLoop(t, "loop", cycles)
	res := loop.Snapshot(nil).Result()
	if res.DeadlineMisses < cycles/10 {
		t.Fatalf("test loop has %d deadline misses, want at least %d: the workload did not run", res.DeadlineMisses, cycles/10)
	}
	e, text := scrape(t, static(Task{Name: "conveyor \"A\"", Source: loop}))
	task := []string{"task", "conveyor \"A\""}

	counters := map[string]uint64{
		"rtcell_task_cycles_total":          res.Cycles,
		"rtcell_task_deadline_misses_total": res.DeadlineMisses,
		"rtcell_task_overruns_total":        res.Overruns,
		"rtcell_task_missed_releases_total": res.MissedReleases,
		"rtcell_task_migrations_total":      res.Migrations,
		"rtcell_task_gc_cycles_total":       res.GCCycles,
		"rtcell_task_heap_allocs_total":     res.HeapAllocs,
	}
	for name, want := range counters {
		if got := must(t, e, name, task...); got != float64(want) {
			t.Errorf("%s = %v, want %d", name, got, want)
		}
		if e.byName[name].typ != "counter" {
			t.Errorf("%s has type %s", name, e.byName[name].typ)
		}
	}

	// Histogram: every bucket within the 1 µs range equals the latencies
	// below le, counted from the result's histogram.
	const lat = "rtcell_task_wake_latency_seconds"
	for _, us := range latencyBucketsUS {
		le := strconv.FormatFloat(float64(us)/1e6, 'g', -1, 64)
		got := must(t, e, lat+"_bucket", append(task, "le", le)...)
		if us <= int64(len(res.Histogram)) {
			var want uint64
			for _, c := range res.Histogram[:us] {
				want += c
			}
			if got != float64(want) {
				t.Errorf("bucket le=%s: %v, want %d", le, got, want)
			}
		}
	}
	if inf := must(t, e, lat+"_bucket", append(task, "le", "+Inf")...); inf != cycles {
		t.Errorf("+Inf bucket %v, want %d cycles", inf, cycles)
	}
	if n := must(t, e, lat+"_count", task...); n != cycles {
		t.Errorf("_count %v, want %d cycles", n, cycles)
	}
	// The sum is exact; the result's mean is truncated to whole ns.
	sum := must(t, e, lat+"_sum", task...)
	if lo, hi := float64(res.Latency.Avg)*cycles/1e9, float64(res.Latency.Avg+1)*cycles/1e9; sum < lo || sum > hi {
		t.Errorf("_sum %v s, want within [%v, %v] from the mean %d ns", sum, lo, hi, res.Latency.Avg)
	}

	for _, q := range quantiles {
		got := must(t, e, "rtcell_task_wake_latency_quantile_seconds", append(task, "quantile", q.label)...)
		if want := float64(q.get(&res.Latency)) / 1e9; got != want {
			t.Errorf("latency quantile %s = %v, want %v", q.label, got, want)
		}
		if got, want := must(t, e, "rtcell_task_exec_seconds", append(task, "quantile", q.label)...), float64(q.get(&res.Exec))/1e9; got != want {
			t.Errorf("exec quantile %s = %v, want %v", q.label, got, want)
		}
		if got, want := must(t, e, "rtcell_task_jitter_seconds", append(task, "quantile", q.label)...), float64(q.get(&res.Jitter))/1e9; got != want {
			t.Errorf("jitter quantile %s = %v, want %v", q.label, got, want)
		}
	}
	gauges := map[string]float64{
		"rtcell_task_wake_latency_max_seconds": float64(res.Latency.Max) / 1e9,
		"rtcell_task_exec_max_seconds":         float64(res.Exec.Max) / 1e9,
		"rtcell_task_jitter_max_seconds":       float64(res.Jitter.Max) / 1e9,
		"rtcell_task_period_seconds":           0.001,
		"rtcell_task_deadline_seconds":         0.0001,
		"rtcell_task_up":                       0, // finished
		"rtcell_task_failed":                   0,
		"rtcell_task_realtime":                 0, // SCHED_OTHER
		"rtcell_task_start_time_seconds":       float64(res.Start.UnixNano()) / 1e9,
	}
	for name, want := range gauges {
		if got := must(t, e, name, task...); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if n := must(t, e, "rtcell_task_exec_seconds_count", task...); n != float64(res.Exec.Count) {
		t.Errorf("exec _count %v, want %d", n, res.Exec.Count)
	}
	if n := must(t, e, "rtcell_task_jitter_seconds_count", task...); n != cycles-1 {
		t.Errorf("jitter _count %v, want %d (no jitter for the first cycle)", n, cycles-1)
	}
	// The 200 µs spin shows in the exec sum: at least 20 × 200 µs.
	if s := must(t, e, "rtcell_task_exec_seconds_sum", task...); s < cycles/10*200e-6 {
		t.Errorf("exec _sum %v s, want at least %v", s, cycles/10*200e-6)
	}
	if age := must(t, e, "rtcell_task_last_cycle_age_seconds", task...); !(age >= 0) {
		t.Errorf("last cycle age %v", age)
	}
	info := []string{"task", "conveyor \"A\"", "cpu", cpuLabel(res), "policy", "other", "priority", "0", "wake", "sleep"}
	if v := must(t, e, "rtcell_task_info", info...); v != 1 {
		t.Errorf("info = %v", v)
	}
	// Every family carries the task label, and only rtcell_task_info
	// carries more than task (and le / quantile).
	for _, f := range e.families {
		for _, s := range f.samples {
			if s.labels["task"] != "conveyor \"A\"" {
				t.Errorf("%s lacks the task label: %v", s.name, s.labels)
			}
			for k := range s.labels {
				if k != "task" && k != "le" && k != "quantile" && f.name != "rtcell_task_info" {
					t.Errorf("%s has label %s: keep per-task families to the task label", s.name, k)
				}
			}
		}
	}
	if t.Failed() {
		t.Logf("exposition:\n%s", text)
	}
}

// TestScrapeWhileRunning scrapes from several goroutines while the loop
// runs: every scrape is valid and self-consistent, and the task is up.
func TestScrapeWhileRunning(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 300 ms loop")
	}
	if raceEnabled {
		t.Skip("the race detector flags rt's seqlock copy of a live block (a race by design); TestConcurrentScrapes covers the collector under -race")
	}
	l := testLoop(t, "live", 300)
	tasks := []Task{{Name: "live", Source: l}, {Name: "dead", Source: l, Exited: true}}
	c := static(tasks...)
	done := make(chan error, 1)
	go func() { _, err := l.Run(); done <- err }()

	// Wait for the loop to have run some cycles, without a time limit of
	// our own: the test's timeout covers a loop that never starts.
	for l.Snapshot(nil).Cycles() < 20 {
		time.Sleep(time.Millisecond)
	}
	e, _ := scrape(t, c)
	if up := must(t, e, "rtcell_task_up", "task", "live"); up != 1 && l.Snapshot(nil).Running() {
		t.Errorf("running task has up %v", up)
	}
	if up := must(t, e, "rtcell_task_up", "task", "dead"); up != 0 {
		t.Errorf("task whose process exited has up %v, want 0", up)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var prev float64
			for i := 0; i < 20; i++ {
				var b bytes.Buffer
				if err := c.WriteText(&b); err != nil {
					errs <- err
					return
				}
				e, err := parseExposition(b.String())
				if err != nil {
					errs <- fmt.Errorf("scrape %d: %w\n%s", i, err, b.String())
					return
				}
				// One snapshot per task and scrape: the histogram count
				// is the cycle counter of the same scrape.
				cyc, _ := e.value("rtcell_task_cycles_total", "task", "live")
				cnt, _ := e.value("rtcell_task_wake_latency_seconds_count", "task", "live")
				if cyc != cnt || cyc < prev {
					errs <- fmt.Errorf("scrape %d: cycles %v, histogram count %v, previous cycles %v", i, cyc, cnt, prev)
					return
				}
				prev = cyc
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentScrapes: scrapes from many goroutines at once, of one
// block and of a set of tasks that changes, give the same valid
// exposition (run it with -race).
func TestConcurrentScrapes(t *testing.T) {
	loop := runTestLoop(t, "a", 20)
	var mu sync.Mutex
	set := []Task{{Name: "a", Source: loop}, {Name: "b"}}
	c := NewCollector(func() []Task {
		mu.Lock()
		defer mu.Unlock()
		return append([]Task(nil), set...)
	})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				var b bytes.Buffer
				if err := c.WriteText(&b); err != nil {
					errs <- err
					return
				}
				e, err := parseExposition(b.String())
				if err != nil {
					errs <- err
					return
				}
				if n, ok := e.value("rtcell_task_cycles_total", "task", "a"); !ok || n != 20 {
					errs <- fmt.Errorf("scrape %d: cycles of a = %v, %v", i, n, ok)
					return
				}
			}
		}()
	}
	// Meanwhile the "watchdog" gives b a new block, again and again, and
	// a task that has none at the moment.
	for i := 0; i < 20; i++ {
		var src Source = idleLoop(t, 50)
		if i%2 == 1 {
			src = rt.TaskInfo{Name: "b"} // no worker: no block
		}
		mu.Lock()
		set[1].Source = src
		mu.Unlock()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestTaskStates: tasks without a block, with a block whose loop never
// started, and the set of tasks changing between scrapes.
func TestTaskStates(t *testing.T) {
	ran := runTestLoop(t, "ran", 20)
	var mu sync.Mutex
	set := []Task{{Name: "b-pending"}, {Name: "a-new", Source: idleLoop(t, 100)}}
	c := NewCollector(func() []Task {
		mu.Lock()
		defer mu.Unlock()
		return append([]Task(nil), set...)
	})

	e, text := scrape(t, c)
	for _, name := range []string{"a-new", "b-pending"} {
		if up := must(t, e, "rtcell_task_up", "task", name); up != 0 {
			t.Errorf("%s: up %v, want 0", name, up)
		}
		if _, ok := e.value("rtcell_task_cycles_total", "task", name); ok {
			t.Errorf("%s: a task whose loop never started exports counters:\n%s", name, text)
		}
	}
	if _, ok := e.value("rtcell_task_failed", "task", "b-pending"); ok {
		t.Errorf("a task without a block exports rtcell_task_failed")
	}
	if i, j := strings.Index(text, `task="a-new"`), strings.Index(text, `task="b-pending"`); i < 0 || j < 0 || i > j {
		t.Errorf("tasks are not sorted by name:\n%s", text)
	}

	// The watchdog "restarted" b-pending with a block that ran.
	mu.Lock()
	set[0].Source = ran
	mu.Unlock()
	e, _ = scrape(t, c)
	if n := must(t, e, "rtcell_task_cycles_total", "task", "b-pending"); n != 20 {
		t.Errorf("after the restart: cycles %v, want 20", n)
	}

	// Deterministic: two scrapes of a finished task are identical but for
	// the heartbeat age.
	stable := static(Task{Name: "x", Source: ran})
	var a, b bytes.Buffer
	if err := stable.WriteText(&a); err != nil {
		t.Fatal(err)
	}
	if err := stable.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	dropAge := func(s string) string {
		var keep []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.HasPrefix(l, "rtcell_task_last_cycle_age_seconds{") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	if dropAge(a.String()) != dropAge(b.String()) {
		t.Errorf("two scrapes of a finished task differ")
	}
}

func TestCollectorErrors(t *testing.T) {
	loop := runTestLoop(t, "published-name", 5)
	cases := []struct {
		name  string
		tasks []Task
		want  error
	}{
		{"duplicate names", []Task{{Name: "a", Source: loop}, {Name: "b"}, {Name: "a"}}, ErrDuplicateTask},
		{"duplicate via the published name", []Task{{Source: loop}, {Name: "published-name"}}, ErrDuplicateTask},
		{"no name anywhere", []Task{{Name: ""}}, ErrInvalid},
		{"no name and a block that never ran", []Task{{Source: idleLoop(t, 10)}}, ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			err := static(c.tasks...).WriteText(&b)
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			if b.Len() != 0 {
				t.Errorf("a failed scrape wrote %d bytes", b.Len())
			}
		})
	}
	// The published name stands in for an empty Task.Name.
	e, _ := scrape(t, static(Task{Source: loop}))
	if n := must(t, e, "rtcell_task_cycles_total", "task", "published-name"); n != 5 {
		t.Errorf("cycles %v, want 5", n)
	}
}

func TestCPULabel(t *testing.T) {
	cases := []struct {
		name string
		r    rt.Result
		want string
	}{
		{"one CPU", rt.Result{Thread: rt.ThreadState{CPUs: []int{1}}}, "1"},
		{"range", rt.Result{Thread: rt.ThreadState{CPUs: []int{0, 1, 2, 3}}}, "0-3"},
		{"ranges and singles", rt.Result{Thread: rt.ThreadState{CPUs: []int{0, 2, 3, 4, 7, 9, 10}}}, "0,2-4,7,9-10"},
		{"unknown, requested", rt.Result{CPU: 3}, "3"},
		{"unknown, not pinned", rt.Result{CPU: -1}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := cpuLabel(&c.r); got != c.want {
				t.Errorf("cpuLabel = %q, want %q", got, c.want)
			}
		})
	}
}

// TestNaNBeforeSamples: after one cycle there is no jitter sample yet, and
// its quantiles and max are NaN, not a (wrong) 0.
func TestNaNBeforeSamples(t *testing.T) {
	loop := runTestLoop(t, "one", 1)
	e, _ := scrape(t, static(Task{Name: "one", Source: loop}))
	if v := must(t, e, "rtcell_task_jitter_max_seconds", "task", "one"); !math.IsNaN(v) {
		t.Errorf("jitter max %v, want NaN", v)
	}
	for _, q := range quantiles {
		if v := must(t, e, "rtcell_task_jitter_seconds", "task", "one", "quantile", q.label); !math.IsNaN(v) {
			t.Errorf("jitter quantile %s = %v, want NaN", q.label, v)
		}
		if v := must(t, e, "rtcell_task_wake_latency_quantile_seconds", "task", "one", "quantile", q.label); math.IsNaN(v) {
			t.Errorf("latency quantile %s is NaN after a cycle", q.label)
		}
	}
	if n := must(t, e, "rtcell_task_jitter_seconds_count", "task", "one"); n != 0 {
		t.Errorf("jitter count %v, want 0", n)
	}
}

// TestSourceWithoutBlock: a Source that has no block at the moment (a
// Program's task without a worker) exports only rtcell_task_up 0, like a
// nil Source.
func TestSourceWithoutBlock(t *testing.T) {
	e, text := scrape(t, static(Task{Name: "restarting", Source: rt.TaskInfo{Name: "restarting"}}, Task{Name: "none"}))
	for _, name := range []string{"restarting", "none"} {
		if up := must(t, e, "rtcell_task_up", "task", name); up != 0 {
			t.Errorf("%s: up %v, want 0", name, up)
		}
		for _, f := range e.families {
			for _, s := range f.samples {
				if s.labels["task"] == name && s.name != "rtcell_task_up" {
					t.Errorf("%s: a task without a block exports %s:\n%s", name, s.name, text)
				}
			}
		}
	}
}
