package metrics

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"sync"

	"github.com/rtcell/rtcell/rt"
	"github.com/rtcell/rtcell/rt/cpulist"
	"github.com/rtcell/rtcell/rt/stats"
)

// Source is where a task's statistics come from: anything that copies a
// loop's live statistics into a snapshot without blocking the loop.
// rt.TaskInfo (a Program's task, from Supervisor.Tasks) and *rt.Loop (a
// loop in this process) are Sources. Snapshot fills dst (allocating it
// when nil) and returns it, or returns nil when there is no statistics
// block at the moment (a task that has no worker yet).
type Source interface {
	Snapshot(dst *rt.Snapshot) *rt.Snapshot
}

var (
	_ Source = rt.TaskInfo{}
	_ Source = (*rt.Loop)(nil)
)

// Task is one RT task as its supervisor sees it.
type Task struct {
	// Name is the task label. When empty, the name the loop published is
	// used. Names must be unique within a collector.
	Name string
	// Source gives the task's statistics, usually the rt.TaskInfo that
	// Supervisor.Tasks returned for it. A nil Source, or one that returns
	// a nil snapshot, means the task has no block at the moment (not
	// started yet): only rtcell_task_up 0 is exported for it.
	Source Source
	// Exited is set by a supervisor that knows the task's process has
	// exited (rt.TaskInfo.Running is false). A worker killed by a signal
	// leaves its block saying "running" forever; Exited makes
	// rtcell_task_up 0 for it, and the verdict failed unless the loop
	// finished.
	Exited bool
	// Restarts is how often a watchdog restarted the task
	// (rt.TaskInfo.Restarts); any restart makes the verdict violations.
	Restarts int
}

// Collector exports the statistics of a supervisor's RT tasks in the
// Prometheus text format. It takes a snapshot of each task afresh on
// every scrape (a lock-free copy that never blocks the loop) and computes
// the summaries from the copy, on the scraping goroutine: a scrape costs
// tens of µs per task and allocates, which is fine in the supervisor and
// must never happen in an RT process.
//
// WriteText may be called from any number of goroutines at once: rt
// serialises the copies of one block, and a Program's blocks stay mapped
// until the process exits, so no block is ever unmapped under a scrape.
type Collector struct {
	tasks func() []Task
	opts  CollectorOptions
	snaps sync.Pool // *rt.Snapshot
	bufs  sync.Pool // *[]byte
}

// NewCollector returns a collector over the tasks that tasks returns. It
// is called once per scrape, from the scraping goroutine, so it must be
// safe for concurrent use; the set of tasks and their Sources may change
// between calls (a watchdog restarting a worker): a supervisor's tasks
// function simply calls Supervisor.Tasks each time.
func NewCollector(tasks func() []Task) *Collector {
	return &Collector{tasks: tasks}
}

// NewCollectorOptions is NewCollector with options: o.Verdict adds the
// rtcell_verdict gauge, judged with o.KernelRealtime.
func NewCollectorOptions(tasks func() []Task, o CollectorOptions) *Collector {
	return &Collector{tasks: tasks, opts: o}
}

// taskData is what a scrape keeps of one task.
type taskData struct {
	name     string
	label    label // task="name"
	hasSnap  bool  // the task had a block (a snapshot was taken)
	started  bool  // the loop began (its description is valid)
	up       bool
	failed   bool
	exited   bool // the supervisor says the worker is gone
	done     bool // the loop finished (its block says done)
	restarts int
	res      *rt.Result
	ageNs    int64 // heartbeat age; -1 when the loop never published one

	latSum   float64 // exact Σ latency, seconds
	jitSum   float64 // exact Σ |jitter|, seconds
	execSum  float64 // exact Σ execution time, seconds
	latTotal uint64  // +Inf bucket
	buckets  [len(latencyBucketsUS)]uint64
}

// gather copies every task's block and computes what the exposition needs.
func (c *Collector) gather() ([]taskData, error) {
	tasks := c.tasks()
	data := make([]taskData, len(tasks))
	snaps := make([]*rt.Snapshot, len(tasks))
	for i, t := range tasks {
		data[i] = taskData{name: t.Name, ageNs: -1, exited: t.Exited, restarts: t.Restarts}
		if t.Source == nil {
			continue
		}
		s, _ := c.snaps.Get().(*rt.Snapshot)
		snaps[i] = t.Source.Snapshot(s)
		if snaps[i] == nil {
			if s != nil {
				c.snaps.Put(s)
			}
			continue
		}
		if last := snaps[i].HeartbeatNs(); last > 0 {
			data[i].ageNs = max(rt.Nanotime()-last, 0)
		}
		data[i].hasSnap = true
		data[i].up = snaps[i].Running() && !t.Exited
		data[i].done = snaps[i].Done()
	}

	defer func() {
		for _, s := range snaps {
			if s != nil {
				c.snaps.Put(s)
			}
		}
	}()
	for i := range data {
		d := &data[i]
		s := snaps[i]
		if s == nil {
			continue
		}
		if d.name == "" {
			d.name = s.Name()
		}
		r := s.Result()
		d.res = r
		d.started = !r.Start.IsZero()
		d.failed = r.Error != ""
		lat := s.Latency()
		d.latSum = sumSeconds(lat)
		d.jitSum, d.execSum = sumSeconds(s.Jitter()), sumSeconds(s.Exec())
		d.latTotal = latencyBuckets(r.Histogram, r.Overflow, lat, &d.buckets)
	}
	for i := range data {
		if data[i].name == "" {
			return nil, fmt.Errorf("collecting task %d: it has no name, and its loop published none: set Task.Name: %w", i, ErrInvalid)
		}
	}
	for i := range data {
		data[i].label = newLabel("task", data[i].name)
	}
	slices.SortStableFunc(data, func(a, b taskData) int { return cmp.Compare(a.name, b.name) })
	for i := 1; i < len(data); i++ {
		if data[i].name == data[i-1].name {
			return nil, fmt.Errorf("collecting task %q: the name is used twice; task names must be unique: %w", data[i].name, ErrDuplicateTask)
		}
	}
	return data, nil
}

// The summary quantiles, as label values, and how to read them from a
// stats.Summary.
var quantiles = []struct {
	label string
	get   func(*stats.Summary) int64
}{
	{"0.5", func(s *stats.Summary) int64 { return s.P50 }},
	{"0.9", func(s *stats.Summary) int64 { return s.P90 }},
	{"0.99", func(s *stats.Summary) int64 { return s.P99 }},
	{"0.999", func(s *stats.Summary) int64 { return s.P999 }},
	{"0.9999", func(s *stats.Summary) int64 { return s.P9999 }},
}

// WriteText writes the exposition of every task, in the Prometheus text
// format 0.0.4: families in a fixed order, tasks sorted by name. It
// writes nothing when it fails (duplicate or missing task names).
func (c *Collector) WriteText(w io.Writer) error {
	data, err := c.gather()
	if err != nil {
		return err
	}
	bp, _ := c.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	tw := textWriter{b: (*bp)[:0]}
	if c.opts.Verdict {
		writeVerdict(&tw, verdictOf(data, c.opts.KernelRealtime))
	}
	writeFamilies(&tw, data)
	_, err = w.Write(tw.b)
	*bp = tw.b
	c.bufs.Put(bp)
	if err != nil {
		return fmt.Errorf("writing metrics: %w", err)
	}
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// nanOrSeconds is ns in seconds, or NaN when there were no samples: a
// quantile of nothing is not 0.
func nanOrSeconds(ns int64, count uint64) float64 {
	if count == 0 {
		return math.NaN()
	}
	return seconds(ns)
}

func writeFamilies(w *textWriter, data []taskData) {
	var lbuf [1]label
	task := func(d *taskData) []label {
		lbuf[0] = d.label
		return lbuf[:]
	}
	// each runs fn for the tasks whose loop has started.
	each := func(fn func(d *taskData, r *rt.Result)) {
		for i := range data {
			if d := &data[i]; d.started {
				fn(d, d.res)
			}
		}
	}
	gauge := func(name, help string, v func(d *taskData, r *rt.Result) float64) {
		w.family(name, typeGauge, help)
		each(func(d *taskData, r *rt.Result) { w.sample(name, task(d), v(d, r)) })
	}
	counter := func(name, help string, v func(r *rt.Result) uint64) {
		w.family(name, typeCounter, help)
		each(func(d *taskData, r *rt.Result) { w.sampleUint(name, task(d), v(r)) })
	}

	w.family("rtcell_task_info", typeGauge, "Description of an RT task, always 1: the CPUs its thread may run on, its scheduling policy and priority in effect, its wake strategy.")
	each(func(d *taskData, r *rt.Result) {
		w.sample("rtcell_task_info", []label{
			d.label,
			newLabel("cpu", cpuLabel(r)),
			newLabel("policy", string(r.Thread.Policy)),
			newLabel("priority", strconv.Itoa(r.Thread.Priority)),
			newLabel("wake", string(r.Wake)),
		}, 1)
	})
	w.family("rtcell_task_up", typeGauge, "1 while the task's loop is running, 0 when it finished, failed, was killed or has not started.")
	for i := range data {
		w.sample("rtcell_task_up", task(&data[i]), b2f(data[i].up))
	}
	w.family("rtcell_task_failed", typeGauge, "1 when the task's loop reported that it could not run (see the runner's log or report for why).")
	for i := range data {
		if d := &data[i]; d.hasSnap {
			w.sample("rtcell_task_failed", task(d), b2f(d.failed))
		}
	}
	gauge("rtcell_task_realtime", "1 when the loop's thread has an RT policy (fifo, rr) and the Go runtime settings an RT loop needs are in effect; 0 means its figures say nothing about real-time behaviour.",
		func(_ *taskData, r *rt.Result) float64 { return b2f(r.Realtime()) })
	gauge("rtcell_task_start_time_seconds", "When the task's loop started, in seconds since the Unix epoch; it changes when a watchdog restarts the task.",
		func(_ *taskData, r *rt.Result) float64 { return float64(r.Start.UnixNano()) / 1e9 })
	w.family("rtcell_task_last_cycle_age_seconds", typeGauge, "Time since the task's last completed cycle (its heartbeat), or since its start before the first cycle. It keeps growing after the loop ends; a watchdog alerts on it while rtcell_task_up is 1.")
	for i := range data {
		if d := &data[i]; d.started && d.ageNs >= 0 {
			w.sample("rtcell_task_last_cycle_age_seconds", task(d), seconds(d.ageNs))
		}
	}
	gauge("rtcell_task_period_seconds", "The task's release period.",
		func(_ *taskData, r *rt.Result) float64 { return seconds(r.PeriodNs) })
	gauge("rtcell_task_deadline_seconds", "The task's relative deadline: a cycle that ends later than this after its release is a deadline miss.",
		func(_ *taskData, r *rt.Result) float64 { return seconds(r.DeadlineNs) })

	counter("rtcell_task_cycles_total", "Cycles the task's loop has run.",
		func(r *rt.Result) uint64 { return r.Cycles })
	counter("rtcell_task_deadline_misses_total", "Cycles that ended later than the deadline after their release.",
		func(r *rt.Result) uint64 { return r.DeadlineMisses })
	counter("rtcell_task_overruns_total", "Cycles that ended after the next release.",
		func(r *rt.Result) uint64 { return r.Overruns })
	counter("rtcell_task_missed_releases_total", "Releases that passed while a cycle was still running (skipped or run late, per the overrun policy).",
		func(r *rt.Result) uint64 { return r.MissedReleases })
	counter("rtcell_task_migrations_total", "Times the loop's goroutine was found on another OS thread and its RT attributes were re-applied.",
		func(r *rt.Result) uint64 { return r.Migrations })
	counter("rtcell_task_gc_cycles_total", "Go GC cycles in the task's process during the loop; must be 0. Counted when the loop ends, 0 while it runs.",
		func(r *rt.Result) uint64 { return r.GCCycles })
	counter("rtcell_task_heap_allocs_total", "Heap allocations in the task's process during the loop. Counted when the loop ends, 0 while it runs.",
		func(r *rt.Result) uint64 { return r.HeapAllocs })
	counter("rtcell_task_minor_page_faults_total", "Minor page faults of the task's loop thread since the loop started (first touches of memory; a clean loop has none after its first cycles).",
		func(r *rt.Result) uint64 { return r.ThreadCounters.MinorFaults })
	counter("rtcell_task_major_page_faults_total", "Major page faults (waits for the disk) of the task's loop thread since the loop started; must be 0.",
		func(r *rt.Result) uint64 { return r.ThreadCounters.MajorFaults })
	counter("rtcell_task_involuntary_context_switches_total", "Times the task's loop thread was preempted since the loop started.",
		func(r *rt.Result) uint64 { return r.ThreadCounters.InvoluntarySwitches })
	counter("rtcell_task_voluntary_context_switches_total", "Times the task's loop thread blocked since the loop started (its sleeps between cycles included).",
		func(r *rt.Result) uint64 { return r.ThreadCounters.VoluntarySwitches })

	const lat = "rtcell_task_wake_latency_seconds"
	w.family(lat, typeHistogram, "Wake latency per cycle: wake-up time minus release time, as cyclictest measures it. Buckets up to the 1 µs histogram's range count latencies below le exactly; beyond it they are within 1/128 of le.")
	each(func(d *taskData, r *rt.Result) {
		l := task(d)
		for i, le := range leLabels {
			w.bucket(lat+"_bucket", l, le, d.buckets[i])
		}
		w.bucket(lat+"_bucket", l, "+Inf", d.latTotal)
		w.sample(lat+"_sum", l, d.latSum)
		w.sampleUint(lat+"_count", l, d.latTotal)
	})
	w.family("rtcell_task_wake_latency_quantile_seconds", typeGauge, "Wake-latency quantiles since the loop started (nearest rank, within 0.4 %); NaN before the first cycle.")
	each(func(d *taskData, r *rt.Result) {
		for _, q := range quantiles {
			w.quantile("rtcell_task_wake_latency_quantile_seconds", task(d), q.label, nanOrSeconds(q.get(&r.Latency), r.Latency.Count))
		}
	})
	gauge("rtcell_task_wake_latency_max_seconds", "Largest wake latency since the loop started; NaN before the first cycle.",
		func(_ *taskData, r *rt.Result) float64 { return nanOrSeconds(r.Latency.Max, r.Latency.Count) })

	summary := func(name, help string, get func(r *rt.Result) *stats.Summary, sum func(d *taskData) float64) {
		w.family(name, typeSummary, help)
		each(func(d *taskData, r *rt.Result) {
			s := get(r)
			for _, q := range quantiles {
				w.quantile(name, task(d), q.label, nanOrSeconds(q.get(s), s.Count))
			}
			w.sample(name+"_sum", task(d), sum(d))
			w.sampleUint(name+"_count", task(d), s.Count)
		})
	}
	summary("rtcell_task_jitter_seconds", "Absolute period jitter per cycle: the CLOCK_MONOTONIC_RAW interval between two wake-ups minus the nominal interval between their releases. Quantiles since the loop started (within 0.4 %); _sum is exact.",
		func(r *rt.Result) *stats.Summary { return &r.Jitter }, func(d *taskData) float64 { return d.jitSum })
	gauge("rtcell_task_jitter_max_seconds", "Largest absolute period jitter since the loop started; NaN before the second cycle.",
		func(_ *taskData, r *rt.Result) float64 { return nanOrSeconds(r.Jitter.Max, r.Jitter.Count) })
	summary("rtcell_task_exec_seconds", "Execution time of the cycle function per cycle. Quantiles since the loop started (within 0.4 %); _sum is exact.",
		func(r *rt.Result) *stats.Summary { return &r.Exec }, func(d *taskData) float64 { return d.execSum })
	gauge("rtcell_task_exec_max_seconds", "Longest execution time of the cycle function since the loop started; NaN before the first cycle.",
		func(_ *taskData, r *rt.Result) float64 { return nanOrSeconds(r.Exec.Max, r.Exec.Count) })
}

// cpuLabel formats the CPUs the loop's thread may run on as a CPU list
// ("1", "0-3,6"), or the requested CPU when the thread state is unknown.
// Bounded: it follows the task's configuration.
func cpuLabel(r *rt.Result) string {
	cpus := r.Thread.CPUs
	if len(cpus) == 0 {
		if r.CPU < 0 {
			return ""
		}
		return strconv.Itoa(r.CPU)
	}
	return cpulist.Format(cpus)
}
