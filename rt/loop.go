package rt

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/rtcell/rtcell/rt/internal/telemetry"
	"github.com/rtcell/rtcell/rt/stats"
	"github.com/rtcell/rtcell/rt/trace"
)

// Wake is how a loop waits for its next release.
type Wake string

// Wake strategies.
const (
	// WakeSleep sleeps in clock_nanosleep(TIMER_ABSTIME) until the release,
	// exactly like cyclictest. Wake latency is the kernel's.
	WakeSleep Wake = "sleep"
	// WakeHybrid sleeps until the release minus a margin, then spins on the
	// vDSO clock until the release. Release jitter drops below 1 µs for
	// the price of spinning for the margin every cycle.
	WakeHybrid Wake = "hybrid"
	// WakeBusy never sleeps: it spins for the whole period. Only for a
	// dedicated isolated CPU; it uses 100 % of it.
	WakeBusy Wake = "busy"
)

// OverrunPolicy says what happens to releases that pass while a cycle is
// still running.
type OverrunPolicy string

// Overrun policies.
const (
	// OverrunSkip drops the releases that passed and waits for the next one
	// in the future, as cyclictest does (but rtcell counts them).
	OverrunSkip OverrunPolicy = "skip"
	// OverrunCatchup runs a cycle for every release, late and back to back,
	// until the loop is on time again.
	OverrunCatchup OverrunPolicy = "catchup"
)

// Cycle is what a cycle function is told about the current cycle.
type Cycle struct {
	// N counts executed cycles from 0.
	N uint64
	// Release is this cycle's nominal release time and Wake the moment the
	// loop woke for it, both CLOCK_MONOTONIC nanoseconds (see Nanotime).
	Release int64
	Wake    int64
	// Missed is how many releases were skipped just before this one.
	Missed uint64
}

// CycleFunc is the user's cycle. It runs on the loop's locked SCHED_FIFO
// thread once per release. It must not allocate, block, or take locks
// shared with non-real-time code, and it should return well within the
// deadline. Return false to stop the loop after this cycle.
type CycleFunc func(c *Cycle) bool

// LoopOptions configures a periodic loop.
type LoopOptions struct {
	// Name labels the loop in reports. While the loop runs, its OS thread
	// carries the name too (its comm, cut to 15 bytes), so that ps -L,
	// top and a trace show the loop by name.
	Name string
	// Period between releases; at least 10 µs.
	Period time.Duration
	// Deadline is the longest allowed time from release to the end of the
	// cycle function; 0 means the period.
	Deadline time.Duration
	// Thread sets CPU, policy and priority (see ThreadOptions).
	Thread ThreadOptions
	// Wake strategy; the zero value is WakeSleep.
	Wake Wake
	// Margin is the hybrid spin margin; 0 calibrates it from the observed
	// sleep latency (see WakeHybrid).
	Margin time.Duration
	// Overrun policy; the zero value is OverrunSkip.
	Overrun OverrunPolicy
	// Cycles stops the loop after this many cycles; 0 means no limit.
	Cycles uint64
	// Duration stops the loop at the first release at or after start +
	// Duration; 0 means no limit.
	Duration time.Duration
	// HistogramUS is the range of the 1 µs latency histogram (cyclictest's
	// -h); default 1000.
	HistogramUS int
	// Window is the width of the windows whose maximum latency is kept;
	// default 1 s.
	Window time.Duration
	// AllowRuntime lets the loop start although the Go runtime settings it
	// needs (RuntimeSettings.OK) are not in effect. The result records
	// what was in effect.
	AllowRuntime bool
	// noYield turns off the scheduler yield, for tests that show why it
	// is there.
	noYield bool `json:"-"`
}

const (
	minPeriod = 10 * time.Microsecond
	// yieldEvery bounds the time between two scheduler yields. sysmon
	// marks a goroutine for preemption once its P has run the same
	// goroutine for forcePreemptNS (10 ms); yielding more often than that
	// means it never does. See Loop.
	yieldEvery = 4 * time.Millisecond
	// defaultMargin is the hybrid margin before calibration.
	defaultMargin = 100 * time.Microsecond
)

func (o *LoopOptions) normalize() error {
	if o.Period < minPeriod {
		return fmt.Errorf("period %v is below %v: %w", o.Period, minPeriod, ErrInvalid)
	}
	if o.Deadline == 0 {
		o.Deadline = o.Period
	}
	if o.Deadline < 0 {
		return fmt.Errorf("deadline %v: want > 0: %w", o.Deadline, ErrInvalid)
	}
	switch o.Wake {
	case "":
		o.Wake = WakeSleep
	case WakeSleep, WakeHybrid, WakeBusy:
	default:
		return fmt.Errorf("wake %q: want sleep, hybrid or busy: %w", o.Wake, ErrInvalid)
	}
	if o.Margin < 0 || (o.Margin > 0 && o.Margin >= o.Period) {
		return fmt.Errorf("margin %v: want 0 (auto) or less than the period %v: %w", o.Margin, o.Period, ErrInvalid)
	}
	switch o.Overrun {
	case "":
		o.Overrun = OverrunSkip
	case OverrunSkip, OverrunCatchup:
	default:
		return fmt.Errorf("overrun %q: want skip or catchup: %w", o.Overrun, ErrInvalid)
	}
	if o.HistogramUS == 0 {
		o.HistogramUS = 1000
	}
	if o.HistogramUS < 1 || o.HistogramUS > 1_000_000 {
		return fmt.Errorf("histogram range %d µs: want 1–1000000: %w", o.HistogramUS, ErrInvalid)
	}
	if o.Window == 0 {
		o.Window = time.Second
	}
	if o.Window < o.Period {
		return fmt.Errorf("window %v is shorter than the period %v: %w", o.Window, o.Period, ErrInvalid)
	}
	if o.Thread.Policy == "" {
		o.Thread.Policy = PolicyFIFO
	}
	if o.Thread.auto() {
		o.Thread.CPU, o.Thread.Pin = autoCPU(nil), true
	}
	return o.Thread.validate()
}

// Loop is a periodic real-time loop. Create it with NewLoop, start it with
// Run, and stop it from anywhere with Stop.
//
// How the loop keeps off the Go scheduler. The loop runs on a goroutine
// locked to its OS thread (runtime.LockOSThread), because SCHED_FIFO and
// the CPU affinity are attributes of the thread. It sleeps with a raw
// clock_nanosleep, so the goroutine never leaves the running state and its
// P is never handed away. That alone is not enough: sysmon sees a P that
// has run the same goroutine for 10 ms and marks it for preemption, and
// with asyncpreemptoff the mark is taken at the next function prologue,
// inside the user's cycle. For a locked goroutine that preemption parks
// the RT thread on a futex and needs an ordinary SCHED_OTHER thread to
// pick the goroutine up and hand it back: a priority inversion that costs
// milliseconds (measured: stalls of 5–10 ms, and futex calls rising from
// 29 to about 1,000 per 5,000 cycles). The loop prevents the mark instead.
// At least every 4 ms, between cycles and never between a wake-up and the
// cycle function, it unlocks the goroutine, calls runtime.Gosched and locks it
// again. Gosched reschedules the goroutine, which bumps the P's schedtick,
// so sysmon never sees 10 ms on one tick. Because the process has one P
// (GOMAXPROCS=1) and this thread holds it throughout, the goroutine is
// rescheduled on the same thread with no futex and no other thread
// involved; the loop checks the thread ID after each yield and restores
// the scheduling attributes if the goroutine ever did move (counted as a
// migration). The loop yields only when GOMAXPROCS is 1; with more Ps
// it stays locked and lets sysmon hand it off. Long sleeps are cut into pieces shorter than 4 ms for the
// same reason. Other goroutines that are runnable run during the yield,
// on this thread; an RT worker process should have none.
type Loop struct {
	opts LoopOptions
	fn   CycleFunc
	tel  *telemetry.Block
	stop atomic.Bool
	ran  atomic.Bool
	// noYield is set for the run when the loop must not yield.
	noYield bool
	// ts is the running loop's thread set-up; every yield checks it.
	ts *threadSetup
	// trig, when set, is fired on the first cycle whose wake latency
	// exceeds traceNs (see setTrace).
	trig    *trace.Trigger
	traceNs int64
}

// setTrace arms trace on threshold: on the first cycle whose wake
// latency exceeds thresholdNs the loop fires trig (a marker and a write
// of 0 to the instance's tracing_on) and publishes the breach in its
// telemetry block. Call it before Run.
func (l *Loop) setTrace(trig *trace.Trigger, thresholdNs int64) {
	l.trig, l.traceNs = trig, thresholdNs
}

// breach fires the trace trigger for cycle n and publishes the breach:
// the CPU is the one the loop is pinned to or, unpinned, the one it ran
// on (read after the trigger). It allocates nothing.
func (l *Loop) breach(n uint64, lat, rel, wake int64) {
	e1, e2 := l.trig.Fire(n, lat)
	cpu := l.opts.Thread.CPU
	if !l.opts.Thread.Pin || cpu < 0 {
		cpu = currentCPU()
	}
	l.tel.Breach(n, lat, rel, wake, int64(cpu), int64(l.ts.tid), uint64(e1), uint64(e2))
}

// NewLoop checks opts and prepares a loop that calls fn once per period,
// in this process. A program with non-real-time work too runs its loops
// as Tasks of a Program instead, each in a process of its own.
func NewLoop(opts LoopOptions, fn CycleFunc) (*Loop, error) {
	return newLoop(opts, fn, nil)
}

// newLoop is NewLoop publishing into tel (a worker's shared block), or
// into a private block when tel is nil.
func newLoop(opts LoopOptions, fn CycleFunc, tel *telemetry.Block) (*Loop, error) {
	if fn == nil {
		return nil, fmt.Errorf("cycle function is nil: %w", ErrInvalid)
	}
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	if tel == nil {
		tel = telemetry.New(opts.HistogramUS)
	} else if tel.HistogramUS() != opts.HistogramUS {
		return nil, fmt.Errorf("telemetry block has a %d µs histogram, loop wants %d: %w", tel.HistogramUS(), opts.HistogramUS, ErrInvalid)
	}
	return &Loop{opts: opts, fn: fn, tel: tel}, nil
}

// Options returns the loop's options with defaults filled in.
func (l *Loop) Options() LoopOptions { return l.opts }

// Snapshot copies the loop's live statistics into dst (allocating it when
// nil) and returns it. It may be called from any goroutine while the loop
// runs and never blocks the loop; in a GOMAXPROCS=1 process the calling
// goroutine runs only when the loop yields.
func (l *Loop) Snapshot(dst *Snapshot) *Snapshot {
	if dst == nil {
		dst = &Snapshot{}
	}
	l.tel.Snapshot(&dst.s)
	return dst
}

// Stop asks the loop to stop after its current cycle. It is safe to call
// from any goroutine, any number of times. In a GOMAXPROCS=1 process the
// calling goroutine runs only when the loop yields (at least every 4 ms);
// a Program's supervisor stops a worker's loop through shared memory
// instead.
func (l *Loop) Stop() { l.stop.Store(true) }

// Run runs the loop to its end and returns its result. It blocks the
// calling goroutine; the loop itself runs on a fresh goroutine locked to
// its OS thread, which it sets up as ThreadOptions say (CAP_SYS_NICE for
// fifo and rr, CAP_IPC_LOCK for mlockall, which is process-wide) and
// restores afterwards. It refuses to start unless GOMAXPROCS=1,
// GODEBUG=asyncpreemptoff=1 and GOGC=off are in effect (see Reexec), or
// LoopOptions.AllowRuntime is set. A loop runs once.
func (l *Loop) Run() (*Result, error) {
	if !l.ran.CompareAndSwap(false, true) {
		return nil, errors.New("running loop: a Loop runs once")
	}
	settings := CurrentRuntimeSettings()
	if !settings.OK() && !l.opts.AllowRuntime {
		return nil, fmt.Errorf("starting loop %q: %w: %v; start the process with rt.Reexec or RTEnviron",
			l.opts.Name, ErrRuntimeSettings, settings.Missing())
	}
	type out struct {
		res *Result
		err error
	}
	ch := make(chan out, 1)
	go func() {
		// A fresh goroutine, so that the lock count is ours alone: the
		// yield must fully unlock the goroutine.
		res, err := l.runLocked(settings)
		ch <- out{res, err}
	}()
	o := <-ch
	return o.res, o.err
}

// readGC returns the process's count of GC cycles and of heap objects
// allocated. It reads runtime.MemStats, which first flushes every P's
// allocation cache: runtime/metrics' /gc/heap/allocs:objects counts an
// object only once the cached span it came from is refilled or flushed,
// so a loop that allocated a few small objects could read 0 there. The
// read stops the world briefly; it runs only before and after the loop.
func readGC(ms *runtime.MemStats) (cycles, allocs uint64) {
	runtime.ReadMemStats(ms)
	return uint64(ms.NumGC), ms.Mallocs
}

func (l *Loop) runLocked(settings RuntimeSettings) (*Result, error) {
	runtime.LockOSThread()
	ts, err := setupThread(l.opts.Thread)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("setting up the loop thread: %w", err)
	}
	restoreName := nameThread(l.opts.Name)
	warmHandoff()
	ms := new(runtime.MemStats)
	tel := l.tel
	if len(ts.state.Warnings) > 0 {
		tel.SetWarnings(ts.state.Warnings)
	}
	// The thread's fault and context-switch counts are taken around the
	// loop, on its own thread, so that they are the loop's alone.
	base, counted := threadCounters()
	tel.SetCounterBase(base)
	beginTelemetry(tel, l.opts, settings, ts.state)
	// The cycle function gets a pointer to the Cycle, so the Cycle
	// escapes to the heap: it is allocated here, before the count starts.
	c := new(Cycle)
	gc0, alloc0 := readGC(ms)

	reason := l.cycles(ts, c)

	gc1, alloc1 := readGC(ms)
	if end, ok := threadCounters(); ok && counted {
		tel.SetCounters(end.Sub(base))
	}
	tel.Finish(gc1-gc0, alloc1-alloc0, indexOf(stopReasons, reason))
	restoreName()
	restored := ts.undo()
	if restored {
		runtime.UnlockOSThread()
	}
	res := l.Snapshot(nil).Result()
	res.Thread = ts.state
	return res, nil
}

// warmHandoff makes the runtime create, before the loop, the thread it
// needs when the locked loop goroutine is handed off. A host stall longer
// than 10 ms (sysmon's preemption threshold) that falls between two
// yields lets sysmon mark the goroutine for preemption; with
// asyncpreemptoff it then yields at its next function call, and because
// it is locked to its thread the runtime parks that thread and passes
// the P to another thread, which passes it back. When no idle thread
// exists, the runtime creates one there (about 7 heap objects: the M,
// its g0 and signal goroutine), inside the loop. Here the calling
// goroutine, locked, waits for a goroutine it has just started: the
// same hand-off, so that any thread it needs is created now and is then
// left idle for later hand-offs, which reuse it without allocating.
// The runtime never ends idle threads.
func warmHandoff() {
	done := make(chan struct{})
	go func() { close(done) }()
	<-done
}

// cycles is the loop proper, passing c to the cycle function. It
// allocates nothing.
func (l *Loop) cycles(ts *threadSetup, c *Cycle) string {
	o := &l.opts
	tel := l.tel
	period := int64(o.Period)
	deadline := int64(o.Deadline)
	yieldNs := int64(yieldEvery)
	skip := o.Overrun == OverrunSkip
	var margin int64
	var cal marginCalibrator
	if o.Wake == WakeHybrid {
		margin = int64(o.Margin)
		if margin == 0 {
			margin = cal.init(period)
		}
	}
	l.ts = ts
	// The yield keeps the goroutine on its thread only when this thread
	// holds the only P. With more Ps another thread could take the
	// goroutine, so there the loop stays locked and accepts sysmon's
	// hand-offs: a GOMAXPROCS>1 process is not real-time anyway.
	noYield := o.noYield || runtime.GOMAXPROCS(0) != 1
	l.noYield = noYield

	start := nanotime()
	rel := start + period
	var stopAt int64 = -1
	if o.Duration > 0 {
		stopAt = start + int64(o.Duration)
	}
	lastYield := start
	// Trace on threshold costs one compare per cycle: unarmed (or once
	// fired) the threshold is the largest latency, which no cycle
	// exceeds.
	traceAt := int64(math.MaxInt64)
	if l.trig != nil && l.traceNs > 0 {
		traceAt = l.traceNs
	}
	var prevRel, prevRaw int64
	var missedNext uint64
	reason := "completed"
	for n := uint64(0); ; n++ {
		// Wait for the release. wake is CLOCK_MONOTONIC read right after
		// the wake-up, as cyclictest reads it: latency is wake - rel.
		var wake int64
		switch o.Wake {
		case WakeSleep:
			wake, lastYield = l.sleepUntil(rel, lastYield, yieldNs)
		case WakeHybrid:
			target := rel - margin
			if target > nanotime() {
				var w int64
				w, lastYield = l.sleepUntil(target, lastYield, yieldNs)
				if cal.on {
					cal.observe(w - target)
				}
			}
			wake = spinTo(rel)
		case WakeBusy:
			wake, lastYield = l.spinUntil(rel, lastYield, yieldNs)
		}
		// The jitter clock is read second, so that its cost is not part
		// of the latency.
		raw := rawNow()
		lat := wake - rel
		if lat > traceAt {
			// The first breach: freeze the trace now, before the cycle
			// function runs, so that the trace ends at the late wake-up.
			l.breach(n, lat, rel, wake)
			traceAt = math.MaxInt64
		}

		c.N, c.Release, c.Wake, c.Missed = n, rel, wake, missedNext
		more := l.fn(c)
		end := nanotime()

		var jit int64
		if n > 0 {
			jit = (raw - prevRaw) - (rel - prevRel)
		}
		prevRaw, prevRel = raw, rel
		next, overrun, missed := account(rel, end, period, skip)
		missedNext = missed
		tel.Record(n, wake, lat, jit, end-wake, end-rel > deadline, overrun, missed, margin)
		rel = next
		if cal.on && cal.due() {
			margin = cal.recalibrate()
		}

		if !more {
			reason = "stopped by the cycle function"
			break
		}
		if o.Cycles > 0 && n+1 >= o.Cycles {
			break
		}
		if stopAt >= 0 && rel >= stopAt {
			break
		}
		if l.stop.Load() || tel.StopRequested() {
			reason = "stop requested"
			break
		}
		// Yield now, between cycles, if the wait for the next release
		// would otherwise have to be cut to yield in the middle of it.
		if !noYield && rel-lastYield > yieldNs {
			lastYield = l.yield()
		}
	}
	return reason
}

// account does the overrun bookkeeping for a cycle released at rel that
// ended at end. A cycle overruns when it ends after the next release
// (strictly). The releases that passed before it ended are missed: under
// skip all of them are dropped and the next release is the first one
// after end; under catchup only the next one is counted as missed (it
// runs late, and each later one is counted when it comes up).
func account(rel, end, period int64, skip bool) (next int64, overrun bool, missed uint64) {
	next = rel + period
	if end <= next {
		return next, false, 0 // on time: the common case, no division
	}
	late := (end - rel - 1) / period // releases after rel strictly before end
	switch {
	case late == 0:
		return next, false, 0
	case skip:
		return rel + (late+1)*period, true, uint64(late)
	default:
		return next, true, 1
	}
}

// sleepUntil sleeps until t, in pieces no longer than the yield interval,
// yielding between pieces (see Loop). It returns CLOCK_MONOTONIC read
// right after the last wake-up (sleepWake) and the time of the last
// yield.
func (l *Loop) sleepUntil(t, lastYield, yieldNs int64) (wake, lastYieldNs int64) {
	if !l.noYield {
		for t-lastYield > yieldNs {
			sleepAbs(lastYield + yieldNs)
			lastYield = l.yield()
		}
	}
	return sleepWake(t), lastYield
}

// spinUntil spins until t, yielding when the yield interval has passed and
// at least 100 µs remain. It returns the first clock reading at or after t
// and the time of the last yield.
func (l *Loop) spinUntil(t, lastYield, yieldNs int64) (wake, lastYieldNs int64) {
	for {
		now := nanotime()
		if now >= t {
			return now, lastYield
		}
		if !l.noYield && now-lastYield > yieldNs && t-now > 100_000 {
			lastYield = l.yield()
		}
	}
}

// spinTo spins on the clock until t and returns the first reading at or
// after t. It is nosplit, so that the spin has no preemption point.
//
//go:nosplit
func spinTo(t int64) int64 {
	for {
		if now := nanotime(); now >= t {
			return now
		}
	}
}

// yield lets the scheduler run once without leaving this thread (see
// Loop), then checks that the goroutine is still on its thread.
func (l *Loop) yield() int64 {
	runtime.UnlockOSThread()
	runtime.Gosched()
	runtime.LockOSThread()
	if now := currentTID(); now != l.ts.tid {
		// The goroutine moved (it should not with one P): give the old
		// thread back its attributes and this one the RT ones.
		if l.ts.moveTo(now) == nil {
			l.tel.Migrated()
		}
	}
	return nanotime()
}

// marginCalibrator sets the hybrid margin from the wake-up tail that
// matters: how late the sleep before the spin wakes, measured from its
// target. A wake-up later than the margin is a cycle released late, and
// the bar is on the p99 of release jitter, so the margin is the 99.5th
// percentile of that lateness plus a guard of 5 µs, between 10 µs and half
// the period: about 0.5 % of cycles are released late, half of what p99
// tolerates. A higher percentile buys little and costs a lot: the spin
// takes about the margin out of every period (on a loaded 2-vCPU VM a
// margin chasing p99.9 sat near the cap of half the period, spinning
// 30–50 % of a CPU, with no better p99 than a smaller margin).
//
// Lateness goes into histograms of 512 bins of 1 µs, the last one
// open-ended: one for the current round of 1024 wake-ups and one for the
// round before, and the percentile is taken over both. The margin so
// reflects the last 1024 to 2048 wake-ups, and an old tail is forgotten
// two rounds (about 2 s at 1 kHz) after it ended. (Halving the counts
// each round instead would keep an old tail above 0.1 % of the weight for
// about ten rounds.) The tail moves with the host's load, so the
// calibrator keeps recalibrating:
//   - after the first 256 wake-ups, so the default margin is soon replaced
//     by a measured one (the percentile is then the second largest, so one
//     outlier does not set it);
//   - at the end of every round;
//   - at once, within the round, on the sixth wake-up in the round that
//     came later than the margin: the tail allows about five per round,
//     so a sixth means the tail has risen, and waiting for the round's
//     end would release up to a thousand cycles late.
//
// observe only counts; the loop calls recalibrate after the cycle, when
// due says so, so that the 512-bin scan never delays a late release.
type marginCalibrator struct {
	on       bool
	maxNs    int64
	marginNs int64 // the margin in use, to count wake-ups later than it
	n        int   // observations in this round
	late     int   // of which later than the margin
	calls    int   // recalibrations so far
	cur      int   // index of the current round's histogram
	counts   [2][512]uint32
}

const (
	calWarmup    = 256
	calRound     = 1024
	calPerMille  = 5 // the percentile: 1000-calPerMille per mille (p99.5)
	calGuardNs   = 5_000
	calMinNs     = 10_000
	calLateLimit = 6 // later-than-margin wake-ups in a round that force a recalibration
)

// init turns the calibrator on for a loop with the given period and
// returns the margin to start with.
func (m *marginCalibrator) init(period int64) int64 {
	m.on = true
	m.maxNs = period / 2
	m.marginNs = max(min(int64(defaultMargin), m.maxNs), 0)
	return m.marginNs
}

// observe counts one wake-up that came lateNs after the sleep's target.
//
//go:nosplit
func (m *marginCalibrator) observe(lateNs int64) {
	b := lateNs / 1000
	if b < 0 {
		b = 0
	}
	if b >= int64(len(m.counts[0])) {
		b = int64(len(m.counts[0])) - 1
	}
	m.counts[m.cur][b]++
	m.n++
	if lateNs > m.marginNs {
		m.late++
	}
}

// due reports whether recalibrate should run now.
//
//go:nosplit
func (m *marginCalibrator) due() bool {
	return m.n >= calRound || m.late >= calLateLimit || (m.calls == 0 && m.n >= calWarmup)
}

// recalibrate computes the margin from this round's and the last round's
// counts and returns it. At the end of a round it starts a new one, which
// forgets the round before last.
func (m *marginCalibrator) recalibrate() int64 {
	a, b := &m.counts[0], &m.counts[1]
	var total uint64
	for i := range a {
		total += uint64(a[i]) + uint64(b[i])
	}
	want := total - total*calPerMille/1000 // observations at or below the percentile
	var cum uint64
	p := int64(len(a) - 1)
	for i := range a {
		cum += uint64(a[i]) + uint64(b[i])
		if cum >= want {
			p = int64(i)
			break
		}
	}
	if m.n >= calRound {
		m.cur ^= 1
		clear(m.counts[m.cur][:])
		m.n = 0
	}
	m.late = 0
	m.calls++
	// The bin's upper edge, plus the guard.
	m.marginNs = max(min((p+1)*1000+calGuardNs, m.maxNs), min(calMinNs, m.maxNs))
	return m.marginNs
}

// Names of the enumerations the telemetry block stores as indices.
var (
	wakeNames    = []Wake{WakeSleep, WakeHybrid, WakeBusy}
	overrunNames = []OverrunPolicy{OverrunSkip, OverrunCatchup}
	policyNames  = []Policy{PolicyOther, PolicyFIFO, PolicyRR}
	stopReasons  = []string{"", "completed", "stopped by the cycle function", "stop requested"}
)

func indexOf[T comparable](list []T, v T) uint64 {
	for i, x := range list {
		if x == v {
			return uint64(i)
		}
	}
	return 0
}

// beginTelemetry describes the run in the block's header.
func beginTelemetry(tel *telemetry.Block, o LoopOptions, rs RuntimeSettings, st ThreadState) {
	window := int64(o.Window)
	if window <= 0 {
		window = stats.DefaultWindowNs
	}
	tel.Begin(nanotime(), window, func(h *telemetry.Header) {
		telemetry.SetName(h, o.Name)
		h.PeriodNs, h.DeadlineNs = int64(o.Period), int64(o.Deadline)
		h.Wake, h.Overrun = indexOf(wakeNames, o.Wake), indexOf(overrunNames, o.Overrun)
		h.CPU, h.Priority, h.Policy = int64(o.Thread.CPU), int64(o.Thread.Priority), int64(indexOf(policyNames, o.Thread.Policy))
		h.PID = int64(pid())
		h.GOMAXPROCS = int64(rs.GOMAXPROCS)
		h.AsyncPreemptOff = b2u(rs.AsyncPreemptOff)
		h.GCPercent = -1
		if pct, err := strconv.ParseInt(rs.GOGC, 10, 64); err == nil {
			h.GCPercent = pct
		}
		h.MemoryLimit = rs.MemoryLimit
		h.TID = int64(st.TID)
		h.ThreadPolicy = int64(indexOf(policyNames, st.Policy))
		h.ThreadPriority = int64(st.Priority)
		h.ThreadCPUs = [4]uint64{}
		for _, c := range st.CPUs {
			if c >= 0 && c < 256 {
				h.ThreadCPUs[c/64] |= 1 << (c % 64)
			}
		}
		h.MemLocked, h.DMALatency = b2u(st.MemLocked), b2u(st.DMALatency)
	})
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
