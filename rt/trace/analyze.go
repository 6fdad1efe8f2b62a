package trace

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Errors of Analyze.
var (
	// ErrNoBreach: the breach has no times and the trace holds no rtcell
	// marker to find it by.
	ErrNoBreach = errors.New("no breach to analyse")
	// ErrNotCovered: the trace does not hold the whole interval from the
	// release to the wake-up on the loop's CPU (the buffer was too small
	// and lost its start, or lost events inside it).
	ErrNotCovered = errors.New("trace does not cover the breach")
	// ErrMismatch: the loop's marker names another latency than the
	// breach's release and wake times give.
	ErrMismatch = errors.New("breach does not match the trace's marker")
)

// SilentKernelNs is the longest silence (no event on the CPU) that
// Analyze credits to a kernel path with no tracepoint of its own: the
// timer interrupt's delivery and entry (timer_irq) and the scheduler's
// wake-up path (wakeup). Both take single-digit µs on a healthy box, and
// a CPU that is idle or running a task with interrupts on takes its timer
// interrupt within µs of the expiry. A longer silence in them is time the
// CPU did not run the kernel at all (a hypervisor that preempted the
// vCPU, an SMI, a deep C-state's exit) and counts as unexplained. Threads,
// IRQ and softirq handlers are bracketed by events and keep their whole
// time: a thread running in user space is silent by nature.
const SilentKernelNs = 50_000

// MaxBreachNs bounds the interval Analyze keeps in memory when it must
// find the breach from the marker (Breach.TID 0): it keeps the last
// second of the CPUs' timelines, so a trace of any length is read in
// bounded memory.
const MaxBreachNs = 1_000_000_000

// MarkerPrefix starts the loop's marker line: "rtcell: task=NAME
// cycle=N latency=NNNns".
const MarkerPrefix = "rtcell: "

// Marker is the loop's trace marker of a breach.
type Marker struct {
	Task      string
	Cycle     uint64
	LatencyNs int64
}

// AppendMarker appends the loop's marker line for a breach to buf, with
// its newline, without allocating when buf has room (the RT path writes
// it to the instance's trace_marker).
func AppendMarker(buf []byte, task string, cycle uint64, latencyNs int64) []byte {
	buf = append(buf, MarkerPrefix...)
	buf = append(buf, "task="...)
	buf = append(buf, task...)
	buf = append(buf, " cycle="...)
	buf = strconv.AppendUint(buf, cycle, 10)
	buf = append(buf, " latency="...)
	buf = strconv.AppendInt(buf, latencyNs, 10)
	return append(buf, "ns\n"...)
}

// ParseMarker parses the text of the loop's marker; ok is false for any
// other print.
func ParseMarker(text string) (m Marker, ok bool) {
	t, found := strings.CutPrefix(strings.TrimSpace(text), MarkerPrefix)
	if !found {
		return m, false
	}
	v, found := fieldsAfter(t, "task=", " cycle=", " latency=")
	if !found {
		return m, false
	}
	c, err := strconv.ParseUint(v[1], 10, 64)
	if err != nil {
		return m, false
	}
	l, err := strconv.ParseInt(strings.TrimSuffix(v[2], "ns"), 10, 64)
	if err != nil || l < 0 {
		return m, false
	}
	return Marker{Task: v[0], Cycle: c, LatencyNs: l}, true
}

// frameKind is what a frame on a CPU's context stack is.
type frameKind uint8

const (
	frIRQ     frameKind = iota // hard IRQ handler
	frVector                   // x86 vector (local_timer, reschedule, …)
	frSoftIRQ                  // softirq vector
	frHRTimer                  // hrtimer expiry
	frNMI                      // NMI, from nmi_handler's delta
)

type frame struct {
	kind    frameKind
	name    string // contributor name; for frHRTimer the hrtimer's address
	id      int    // IRQ number, vector, softirq vector
	fn      string // frHRTimer: the expiry function
	entryNs int64
	parent  *frame
}

// segment is a stretch of a CPU's time between two of its events, in one
// context: the innermost frame (nil in task context) and the current
// task.
type segment struct {
	start, end int64
	top        *frame
	pid, prio  int
	comm       string
}

// waking is a sched_waking (or wakeup) seen on a CPU, with the hrtimer
// and vector frames it happened in.
type waking struct {
	ns   int64
	pid  int
	prio int
	comm string
	cpu  int
	// waker is the task current on cpu at the waking (in task
	// context, the one that woke the loop).
	wakerComm string
	wakerPID  int
	hr        *frame
	vector    *frame
}

const prioUnknown = math.MinInt32

type cpuState struct {
	started bool
	lastNs  int64
	pid     int
	comm    string
	stack   *frame // innermost frame
	segs    []segment
	// lost holds the intervals in which the buffer lost events.
	lost [][2]int64
	// lostPending: a LOST line came; the interval ends at the next event.
	lostPending bool
	// parked softirq frames of tasks switched out inside a softirq
	// (PREEMPT_RT runs softirqs in preemptible task context).
	parked map[int]*frame
}

type analyzer struct {
	b       Breach
	known   bool // b has times (else the marker decides)
	cpus    map[int]*cpuState
	prio    map[int]int // kernel prio of each PID seen
	wakings []waking
	marker  *Event
	mark    Marker
	// timerlat is the last thread sample of the timerlat tracer, the
	// breach of a trace that rtla timerlat -T stopped.
	timerlat *Event
	lastNs   int64
	events   int
	seenTID  bool // an event named b.TID (a task, a switch, a wake-up)
	// loop names the wakeup contributor: the loop's "comm:tid".
	loop string
	// slept is set when the loop was woken inside the interval; unset,
	// it was runnable or running at its release.
	slept bool
	// waker is the loop's waking when another task woke it (not its
	// timer): the loop was blocked on it.
	waker *waking
	// ranAtRelease: the loop was the CPU's current task at its release
	// and no wake-up of it came in the interval: it never slept.
	ranAtRelease bool
}

// Analyze reads a trace (the text of an ftrace instance's trace file,
// trace_clock mono) and splits the late wake-up b into contributors that
// add up to its latency, b.WakeNs − b.ReleaseNs.
//
// With b.TID 0, the breach is the one of the first rtcell marker in the
// trace or, in a trace of rtla timerlat (no marker), of the timerlat
// tracer's last thread sample, whose thread is then the loop. CPU and TID
// are the line's; the wake-up is the loop's switch-in after its hrtimer's
// last wake-up before the marker (else the marker's own time: the loop
// writes it after its clock read, µs later in a clean loop, later in one
// that blocks in between), and the release is that minus the marker's
// latency. With b.TID set and b's times zero, that TID's marker decides
// the same way. With b's times set, a marker of b.TID after the wake-up
// must name the same latency (within 2 µs and 1 %).
//
// The interval from the release to the wake-up on b.CPU is cut at every
// event on that CPU, and each piece goes to the innermost context that
// ran in it, so that nested intervals count once:
//   - timer_irq: from the release to the entry of the loop's hrtimer
//     expiry (the hrtimer_expire_entry in which the loop's sched_waking
//     happened, on any CPU; the timer's interrupt vector up to it counts
//     here too);
//   - irq, softirq, nmi: the handlers that ran, by "irq/NUM ACTION", x86
//     vector name (local_timer, reschedule, …), softirq vector name;
//   - thread: another task current on the CPU after the expiry, named
//     "comm:pid POLICY PRIO"; the task that woke the loop, when that was
//     not its timer (a lock, a futex), for the time until the waking, with
//     that task's CPU; and the loop's own thread when it was not
//     asleep at its release (no wake-up of it in the interval: its
//     previous cycle overran, or its own process held it);
//   - wakeup: the loop's own hrtimer callback, the idle task and the loop
//     itself after the expiry (the scheduler's path to running the loop
//     and its return to user space);
//   - unexplained: the part of a timer_irq or wakeup silence longer than
//     SilentKernelNs.
//
// The policy in a thread's name comes from its prio field, which is all
// the trace records: prio 0–99 is an RT task at priority 99 − prio, named
// FIFO (SCHED_RR is indistinguishable in the trace; rtcell and most RT
// code use FIFO), 100–139 is SCHED_OTHER and the number is its nice
// value, −1 is SCHED_DEADLINE. Preempted is set for an RT thread of
// higher priority than the loop.
//
// Malformed lines are skipped (Scanner reports them); Analyze fails only
// when the breach cannot be found or the trace does not cover it.
func Analyze(r io.Reader, b Breach) (*Cause, error) {
	a := &analyzer{b: b, known: b.TID != 0, cpus: map[int]*cpuState{}, prio: map[int]int{}}
	if a.known && b.WakeNs <= b.ReleaseNs {
		if b.WakeNs != 0 || b.ReleaseNs != 0 {
			return nil, fmt.Errorf("analysing breach: wake %d ns not after release %d ns: %w", b.WakeNs, b.ReleaseNs, ErrNoBreach)
		}
		a.known = false // times zero: find them from the TID's marker
	}
	sc := NewScanner(r)
	for sc.Scan() {
		a.events++
		if a.event(sc.Event()) {
			break
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !a.known && a.marker == nil && a.timerlat != nil {
		// A trace of rtla timerlat: its last thread sample is the breach.
		e := a.timerlat
		a.marker, a.mark = e, Marker{Task: "timerlat", LatencyNs: e.Timerlat.LatencyNs}
		a.b.CPU, a.b.TID = e.CPU, e.PID
		a.b.WakeNs, a.b.ReleaseNs = e.TimeNs, e.TimeNs-e.Timerlat.LatencyNs
	}
	if !a.known {
		if a.marker == nil {
			if bad, n := sc.Malformed(); n > 0 && a.events == 0 {
				return nil, fmt.Errorf("analysing trace: no event parsed (%w)", bad[0])
			}
			return nil, fmt.Errorf("analysing trace: no %q marker: %w", MarkerPrefix, ErrNoBreach)
		}
	}
	return a.resolve()
}

// inScope reports whether a segment of cpu is kept.
func (a *analyzer) inScope(cpu int, start, end int64) bool {
	if !a.known {
		return a.b.TID == 0 || cpu == a.b.CPU
	}
	return cpu == a.b.CPU && end > a.b.ReleaseNs && start < a.b.WakeNs
}

func (a *analyzer) cpu(n int) *cpuState {
	c := a.cpus[n]
	if c == nil {
		c = &cpuState{parked: map[int]*frame{}}
		a.cpus[n] = c
	}
	return c
}

// event feeds one event; it returns true when the rest of the trace is
// not needed.
func (a *analyzer) event(ev *Event) bool {
	if ev.Kind == EvLost {
		a.cpu(ev.CPU).lostPending = true
		return false
	}
	// Every CPU's contexts are followed (the loop's timer may expire on
	// another CPU, e.g. a nohz_full CPU's timer on a housekeeping CPU),
	// but only the loop's CPU keeps its timeline (inScope).
	a.lastNs = max(a.lastNs, ev.TimeNs)
	if a.b.TID != 0 && !a.seenTID {
		a.seenTID = ev.PID == a.b.TID ||
			(ev.Kind == EvSchedSwitch && (ev.Switch.PrevPID == a.b.TID || ev.Switch.NextPID == a.b.TID)) ||
			((ev.Kind == EvSchedWaking || ev.Kind == EvSchedWakeup) && ev.Wake.PID == a.b.TID)
	}
	c := a.cpu(ev.CPU)
	t := ev.TimeNs
	if c.lostPending {
		c.lost = append(c.lost, [2]int64{c.lastNs, t})
		c.lostPending = false
	}
	// The line's task is the CPU's current task (the interrupted one in
	// an interrupt).
	if !c.started {
		c.started, c.lastNs = true, t
		c.pid, c.comm = ev.PID, ev.Comm
	}
	if t > c.lastNs {
		if ev.Kind == EvNMI && ev.NMI.DeltaNs > 0 {
			nmiStart := max(c.lastNs, t-ev.NMI.DeltaNs)
			a.addSeg(ev.CPU, c, c.lastNs, nmiStart, c.stack)
			a.addSeg(ev.CPU, c, nmiStart, t, &frame{kind: frNMI, name: "nmi", entryNs: nmiStart, parent: c.stack})
		} else {
			a.addSeg(ev.CPU, c, c.lastNs, t, c.stack)
		}
		c.lastNs = t
	}
	if c.stack == nil || c.stack.kind == frSoftIRQ {
		// In task context the line names the current task; trust it
		// over a switch the buffer may have lost.
		c.pid, c.comm = ev.PID, ev.Comm
	}
	switch ev.Kind {
	case EvSchedSwitch:
		s := &ev.Switch
		a.prio[s.PrevPID], a.prio[s.NextPID] = s.PrevPrio, s.NextPrio
		// Softirq frames open in task context go with the task
		// (PREEMPT_RT); hard interrupt frames cannot span a switch.
		var park *frame
		for f := c.stack; f != nil; f = f.parent {
			if f.kind == frSoftIRQ {
				park = f
				break
			}
		}
		if park != nil {
			c.parked[s.PrevPID] = park
		} else {
			delete(c.parked, s.PrevPID)
		}
		c.stack = c.parked[s.NextPID]
		delete(c.parked, s.NextPID)
		c.pid, c.comm = s.NextPID, s.NextComm
	case EvSchedWaking, EvSchedWakeup:
		w := &ev.Wake
		a.prio[w.PID] = w.Prio
		if ev.Kind == EvSchedWaking || !a.hasWaking(w.PID, t) {
			wk := waking{ns: t, pid: w.PID, prio: w.Prio, comm: w.Comm, cpu: ev.CPU, wakerComm: ev.Comm, wakerPID: ev.PID}
			for f := c.stack; f != nil; f = f.parent {
				if f.kind == frHRTimer && wk.hr == nil {
					wk.hr = f
				}
				if f.kind == frVector && wk.vector == nil {
					wk.vector = f
				}
			}
			if a.b.TID == 0 || w.PID == a.b.TID {
				a.wakings = append(a.wakings, wk)
				a.prune()
			}
		}
	case EvIRQEntry:
		c.stack = &frame{kind: frIRQ, id: ev.IRQ.IRQ, name: fmt.Sprintf("irq/%d %s", ev.IRQ.IRQ, ev.IRQ.Name), entryNs: t, parent: c.stack}
	case EvIRQExit:
		c.pop(func(f *frame) bool { return f.kind == frIRQ && f.id == ev.IRQ.IRQ })
	case EvVectorEntry:
		c.stack = &frame{kind: frVector, id: ev.Vector.Vector, name: ev.Vector.Name, entryNs: t, parent: c.stack}
	case EvVectorExit:
		c.pop(func(f *frame) bool { return f.kind == frVector && f.name == ev.Vector.Name })
	case EvIPIEntry:
		// Kernels before 6.6 on arm64 and others without irq_vectors:
		// the IPI handler, named by its reason.
		c.stack = &frame{kind: frVector, name: "ipi " + ev.IPI.Reason, entryNs: t, parent: c.stack}
	case EvIPIExit:
		c.pop(func(f *frame) bool { return f.kind == frVector && f.name == "ipi "+ev.IPI.Reason })
	case EvSoftIRQEntry:
		name := ev.SoftIRQ.Action
		if name == "" {
			name = "vec/" + strconv.Itoa(ev.SoftIRQ.Vec)
		}
		c.stack = &frame{kind: frSoftIRQ, id: ev.SoftIRQ.Vec, name: name, entryNs: t, parent: c.stack}
	case EvSoftIRQExit:
		c.pop(func(f *frame) bool { return f.kind == frSoftIRQ && f.id == ev.SoftIRQ.Vec })
	case EvHRTimerEntry:
		c.stack = &frame{kind: frHRTimer, name: ev.HRTimer.Addr, fn: ev.HRTimer.Function, entryNs: t, parent: c.stack}
	case EvHRTimerExit:
		c.pop(func(f *frame) bool { return f.kind == frHRTimer && f.name == ev.HRTimer.Addr })
	case EvTimerlat:
		if ev.Timerlat.Context == "thread" && (a.b.TID == 0 || ev.PID == a.b.TID) {
			e := *ev
			a.timerlat = &e
		}
	case EvPrint:
		m, ok := ParseMarker(ev.Print.Text)
		if !ok || a.marker != nil {
			break
		}
		if a.b.TID != 0 && ev.PID != a.b.TID {
			break
		}
		if a.known && t < a.b.WakeNs-1000 {
			break // an earlier breach's marker
		}
		e := *ev
		a.marker, a.mark = &e, m
		if !a.known {
			a.b.CPU, a.b.TID = ev.CPU, ev.PID
			a.b.WakeNs = t
			a.b.ReleaseNs = t - m.LatencyNs
		}
		return true
	}
	return false
}

func (a *analyzer) hasWaking(pid int, t int64) bool {
	for i := len(a.wakings) - 1; i >= 0 && a.wakings[i].ns >= t-1_000_000; i-- {
		if a.wakings[i].pid == pid {
			return true
		}
	}
	return false
}

// pop removes the innermost frame that matches, and any frames inside it
// whose exits the trace lost. An exit with no matching entry (the trace
// began inside the handler) changes nothing.
func (c *cpuState) pop(match func(*frame) bool) {
	for f := c.stack; f != nil; f = f.parent {
		if match(f) {
			c.stack = f.parent
			return
		}
	}
}

func (a *analyzer) addSeg(cpu int, c *cpuState, start, end int64, top *frame) {
	if end <= start || !a.inScope(cpu, start, end) {
		return
	}
	p, ok := a.prio[c.pid]
	if !ok {
		p = prioUnknown
	}
	c.segs = append(c.segs, segment{start: start, end: end, top: top, pid: c.pid, prio: p, comm: c.comm})
	if !a.known && len(c.segs)%1024 == 0 {
		// Keep the last MaxBreachNs of the timeline.
		cut := end - MaxBreachNs
		i := sort.Search(len(c.segs), func(i int) bool { return c.segs[i].end > cut })
		if i > len(c.segs)/2 {
			c.segs = append(c.segs[:0], c.segs[i:]...)
		}
	}
}

func (a *analyzer) prune() {
	if a.known || len(a.wakings)%1024 != 0 {
		return
	}
	cut := a.wakings[len(a.wakings)-1].ns - MaxBreachNs
	i := sort.Search(len(a.wakings), func(i int) bool { return a.wakings[i].ns > cut })
	if i > len(a.wakings)/2 {
		a.wakings = append(a.wakings[:0], a.wakings[i:]...)
	}
}

// refineFromMarker moves the wake-up found by the marker back to the
// loop's switch-in after its timer's last wake-up before the marker. The
// marker is written after the clock read, but the loop may have run
// other code, or blocked, in between (a Go loop's runtime can park its
// thread); the switch-in is within µs of the clock read of a loop that
// wakes from clock_nanosleep.
func (a *analyzer) refineFromMarker() {
	c := a.cpus[a.b.CPU]
	if c == nil || a.marker == nil {
		return
	}
	// The last two timer wake-ups of the loop before the marker: this
	// cycle's and the one before.
	var wk, prev *waking
	for i := len(a.wakings) - 1; i >= 0 && prev == nil; i-- {
		if w := &a.wakings[i]; w.pid == a.b.TID && w.hr != nil && w.ns <= a.marker.TimeNs {
			if wk == nil {
				wk = w
			} else {
				prev = w
			}
		}
	}
	if wk == nil {
		return
	}
	for _, s := range c.segs {
		if s.pid == a.b.TID && s.start >= wk.ns && s.start <= a.marker.TimeNs {
			rel := s.start - a.mark.LatencyNs
			if prev != nil && rel <= prev.ns {
				// The release would precede the previous cycle's
				// expiry: that wake-up was not this breach's.
				return
			}
			a.b.WakeNs, a.b.ReleaseNs = s.start, rel
			return
		}
	}
}

// key identifies one contributor.
type key struct {
	kind Kind
	name string
	cpu  int
}

func (a *analyzer) resolve() (*Cause, error) {
	if !a.known {
		a.refineFromMarker()
	}
	b := a.b
	lat := b.WakeNs - b.ReleaseNs
	if lat <= 0 {
		return nil, fmt.Errorf("analysing breach: latency %d ns: %w", lat, ErrNoBreach)
	}
	if a.marker != nil && a.known {
		// The loop may measure its latency on another clock (RAW) than
		// the breach's MONOTONIC times: allow 2 µs and 1 %; a marker of
		// another cycle is off by far more.
		tol := 2000 + lat/100
		if d := a.mark.LatencyNs - lat; d > tol || d < -tol {
			return nil, fmt.Errorf("analysing breach: marker at line %d says latency %d ns, release and wake give %d ns: %w",
				a.marker.Line, a.mark.LatencyNs, lat, ErrMismatch)
		}
	}
	if !a.seenTID && a.marker == nil {
		return nil, fmt.Errorf("analysing breach: no event of TID %d in the trace (not the loop's thread?): %w", b.TID, ErrNotCovered)
	}
	c := a.cpus[b.CPU]
	if c == nil || len(c.segs) == 0 || c.segs[0].start > b.ReleaseNs {
		first := "no event"
		if c != nil && len(c.segs) > 0 {
			first = fmt.Sprintf("its first event at %d ns", c.segs[0].start)
		}
		return nil, fmt.Errorf("analysing breach: CPU %d has %s, release at %d ns (buffer too small?): %w", b.CPU, first, b.ReleaseNs, ErrNotCovered)
	}
	if a.lastNs < b.WakeNs && a.marker == nil {
		return nil, fmt.Errorf("analysing breach: trace ends at %d ns, before the wake-up at %d ns: %w", a.lastNs, b.WakeNs, ErrNotCovered)
	}
	for _, l := range c.lost {
		if l[1] > b.ReleaseNs && l[0] < b.WakeNs {
			return nil, fmt.Errorf("analysing breach: CPU %d lost events between %d and %d ns: %w", b.CPU, l[0], l[1], ErrNotCovered)
		}
	}
	// The CPU's timeline runs to its last event; it was in the same
	// context from there to the wake-up.
	if last := c.segs[len(c.segs)-1]; last.end < b.WakeNs && c.lastNs < b.WakeNs {
		st := c.lastNs
		p, ok := a.prio[c.pid]
		if !ok {
			p = prioUnknown
		}
		c.segs = append(c.segs, segment{start: st, end: b.WakeNs, top: c.stack, pid: c.pid, prio: p, comm: c.comm})
	}

	// The loop's expiry: its last waking before the wake-up.
	expiry := b.ReleaseNs
	a.loop = "tid " + strconv.Itoa(b.TID)
	for _, s := range c.segs {
		if s.pid == b.TID {
			a.loop = s.comm + ":" + strconv.Itoa(b.TID)
			break
		}
	}
	var loopHR, timerVec *frame
	timerName := "local_timer"
	loopPrio := prioUnknown
	if p, ok := a.prio[b.TID]; ok {
		loopPrio = p
	}
	for i := len(a.wakings) - 1; i >= 0; i-- {
		w := a.wakings[i]
		if w.pid != b.TID || w.ns > b.WakeNs {
			continue
		}
		loopPrio = w.prio
		a.loop = w.comm + ":" + strconv.Itoa(w.pid)
		if w.ns < b.ReleaseNs-1000 {
			break // woken before the release: no timer delay
		}
		a.slept = true
		switch {
		case w.hr == nil && w.vector == nil:
			// Not its timer: another task woke it (from a lock, a
			// futex): until then the loop waited on that task.
			expiry, a.waker = w.ns, &a.wakings[i]
		case w.hr != nil:
			expiry, loopHR = w.hr.entryNs, w.hr
			if w.hr.fn != "" {
				timerName = w.hr.fn
			}
			for f := w.hr.parent; f != nil; f = f.parent {
				if f.kind == frVector {
					timerVec = f
					break
				}
			}
		case w.vector != nil:
			expiry, timerVec, timerName = w.vector.entryNs, w.vector, w.vector.name
		}
		break
	}
	expiry = min(max(expiry, b.ReleaseNs), b.WakeNs)
	if !a.slept {
		for _, s := range c.segs {
			if s.start <= b.ReleaseNs && s.end > b.ReleaseNs {
				a.ranAtRelease = s.pid == b.TID
				break
			}
		}
	}

	sums := map[key]int64{}
	preempted := map[key]bool{}
	var unexplained int64
	add := func(k key, ns int64, silent bool) {
		if silent && ns > SilentKernelNs {
			unexplained += ns - SilentKernelNs
			ns = SilentKernelNs
		}
		sums[k] += ns
	}
	for _, s := range c.segs {
		lo, hi := max(s.start, b.ReleaseNs), min(s.end, b.WakeNs)
		if hi <= lo {
			continue
		}
		for _, part := range [2][2]int64{{lo, min(hi, expiry)}, {max(lo, expiry), hi}} {
			ns := part[1] - part[0]
			if ns <= 0 {
				continue
			}
			pre := part[0] < expiry
			k, silent, pre2 := a.attribute(s, pre, loopHR, timerVec, timerName, loopPrio)
			add(k, ns, silent)
			if pre2 {
				preempted[k] = true
			}
		}
	}

	cause := &Cause{UnexplainedNs: unexplained, UnexplainedPct: pct(unexplained, lat)}
	for k, ns := range sums {
		if ns == 0 {
			continue
		}
		cause.Contributors = append(cause.Contributors, Contributor{
			Kind: k.kind, Name: k.name, CPU: k.cpu, Ns: ns, Pct: pct(ns, lat), Preempted: preempted[k],
		})
	}
	sort.Slice(cause.Contributors, func(i, j int) bool {
		x, y := cause.Contributors[i], cause.Contributors[j]
		if x.Ns != y.Ns {
			return x.Ns > y.Ns
		}
		if x.Kind != y.Kind {
			return x.Kind < y.Kind
		}
		return x.Name < y.Name
	})
	if cause.Contributors == nil {
		cause.Contributors = []Contributor{}
	}
	return cause, nil
}

// attribute names the context of s: pre is true before the loop's
// expiry. silent is set for the kernel paths whose silences SilentKernelNs
// bounds; preempted for a thread of higher RT priority than the loop.
func (a *analyzer) attribute(s segment, pre bool, loopHR, timerVec *frame, timerName string, loopPrio int) (k key, silent, preempted bool) {
	for f := s.top; f != nil; f = f.parent {
		switch f.kind {
		case frHRTimer:
			if f == loopHR && !pre {
				return key{KindWakeup, a.loop, a.b.CPU}, true, false
			}
			continue // another hrtimer: its vector's time
		case frNMI:
			return key{KindNMI, f.name, a.b.CPU}, false, false
		case frVector:
			if f == timerVec && pre {
				return key{KindTimerIRQ, timerName, a.b.CPU}, true, false
			}
			return key{KindIRQ, f.name, a.b.CPU}, false, false
		case frIRQ, frSoftIRQ:
			kind := KindIRQ
			if f.kind == frSoftIRQ {
				kind = KindSoftIRQ
			}
			return key{kind, f.name, a.b.CPU}, false, false
		}
	}
	if pre && a.waker != nil {
		if s.pid == a.b.TID {
			return key{KindWakeup, a.loop, a.b.CPU}, true, false
		}
		w := a.waker
		p, ok := a.prio[w.wakerPID]
		if !ok {
			p = prioUnknown
		}
		return key{KindThread, threadName(w.wakerComm, w.wakerPID, p), w.cpu}, false, false
	}
	if pre {
		return key{KindTimerIRQ, timerName, a.b.CPU}, true, false
	}
	if s.pid == a.b.TID && a.ranAtRelease {
		// The loop itself was running at its release (its previous
		// cycle overran, or it was held in its own process): its own
		// run, named like any thread.
		return key{KindThread, threadName(s.comm, s.pid, s.prio), a.b.CPU}, false, false
	}
	if s.pid == a.b.TID || s.pid == 0 {
		return key{KindWakeup, a.loop, a.b.CPU}, true, false
	}
	return key{KindThread, threadName(s.comm, s.pid, s.prio), a.b.CPU}, false,
		s.prio != prioUnknown && loopPrio != prioUnknown && s.prio < loopPrio
}

// threadName is "comm:pid POLICY PRIO" from the kernel prio (see Analyze).
func threadName(comm string, pid, prio int) string {
	n := comm + ":" + strconv.Itoa(pid)
	switch {
	case prio == prioUnknown:
		return n
	case prio < 0:
		return n + " DEADLINE"
	case prio < 100:
		return n + " FIFO " + strconv.Itoa(99-prio)
	default:
		return n + " OTHER " + strconv.Itoa(prio-120)
	}
}

func pct(ns, lat int64) float64 {
	return math.Round(float64(ns)*10000/float64(lat)) / 100
}
