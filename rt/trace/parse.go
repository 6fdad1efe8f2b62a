package trace

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// EventKind is the kind of one trace line that Scanner understood.
type EventKind uint8

// The event kinds the cause analysis reads. Every other event is
// KindUnknown and keeps its name and raw fields.
const (
	EvUnknown      EventKind = iota
	EvSchedSwitch            // sched_switch: Switch
	EvSchedWaking            // sched_waking: Wake
	EvSchedWakeup            // sched_wakeup, sched_wakeup_new: Wake
	EvIRQEntry               // irq_handler_entry: IRQ
	EvIRQExit                // irq_handler_exit: IRQ (Ret set)
	EvSoftIRQEntry           // softirq_entry: SoftIRQ
	EvSoftIRQExit            // softirq_exit: SoftIRQ
	EvSoftIRQRaise           // softirq_raise: SoftIRQ
	EvVectorEntry            // irq_vectors:*_entry (local_timer, reschedule, …): Vector
	EvVectorExit             // irq_vectors:*_exit: Vector
	EvHRTimerEntry           // hrtimer_expire_entry: HRTimer
	EvHRTimerExit            // hrtimer_expire_exit: HRTimer
	EvIPIRaise               // ipi_raise (up to 6.5): IPI
	EvIPIEntry               // ipi_entry (up to 6.5): IPI
	EvIPIExit                // ipi_exit (up to 6.5): IPI
	EvIPISend                // ipi_send_cpu, ipi_send_cpumask (6.6 on): IPI
	EvWorkStart              // workqueue_execute_start: Work
	EvWorkEnd                // workqueue_execute_end: Work
	EvNMI                    // nmi_handler: NMI
	EvNoise                  // osnoise irq_noise, softirq_noise, thread_noise, nmi_noise: Noise
	EvPrint                  // a trace_marker write (tracing_mark_write) or trace_printk: Print
	EvLost                   // "CPU:N [LOST M EVENTS]": Lost
	EvTimerlat               // the timerlat tracer's sample (rtla timerlat): Timerlat
)

// Switch is a sched_switch. Prio fields are the kernel's prio: 0–99 for
// RT tasks (99 − rt_priority), 100–139 for SCHED_OTHER (120 + nice), −1
// for SCHED_DEADLINE.
type Switch struct {
	PrevComm  string
	PrevPID   int
	PrevPrio  int
	PrevState string // R, R+, S, D, I, …
	NextComm  string
	NextPID   int
	NextPrio  int
}

// Wake is a sched_waking or sched_wakeup.
type Wake struct {
	Comm      string
	PID       int
	Prio      int
	TargetCPU int
}

// IRQ is an irq_handler_entry (Name set) or irq_handler_exit (Ret set).
type IRQ struct {
	IRQ  int
	Name string
	Ret  string
}

// SoftIRQ is a softirq_entry, softirq_exit or softirq_raise. Action is
// the vector's name (TIMER, NET_RX, RCU, …), from the line or, where the
// kernel prints only the number, from the kernel's fixed vector table.
type SoftIRQ struct {
	Vec    int
	Action string
}

// Vector is an x86 irq_vectors entry or exit: Name is the event's name
// without _entry or _exit (local_timer, reschedule, call_function, …).
type Vector struct {
	Name   string
	Vector int
}

// HRTimer is an hrtimer_expire_entry (NowNs and Function set) or
// hrtimer_expire_exit. Addr is the hashed pointer that pairs them.
type HRTimer struct {
	Addr     string
	NowNs    int64
	Function string
}

// IPI is an inter-processor interrupt event: Target is the cpu= or
// cpumask= or target_mask= value, Reason ipi_raise's and ipi_entry's text
// (6.5 and older), Callsite and Callback ipi_send_*'s (6.6 on).
type IPI struct {
	Target   string
	Reason   string
	Callsite string
	Callback string
}

// Work is a workqueue_execute_start or _end.
type Work struct {
	Work     string
	Function string
}

// NMI is an nmi_handler event, written when the handler returns.
type NMI struct {
	Handler string
	DeltaNs int64
	Handled int
}

// Noise is one osnoise event (irq_noise, softirq_noise, thread_noise,
// nmi_noise): what ran (Name, with the IRQ vector, softirq vector or PID
// in ID), from StartNs for DurationNs. The osnoise and timerlat tracers
// write them.
type Noise struct {
	Name       string
	ID         int
	StartNs    int64
	DurationNs int64
}

// Timerlat is one sample of the timerlat tracer (what rtla timerlat
// records): "#SEQ context irq|thread|user-ret timer_latency N ns". Its
// thread sample is written by the timerlat/CPU thread when it wakes.
type Timerlat struct {
	Seq       int
	Context   string
	LatencyNs int64
}

// Print is a trace_marker write or a trace_printk: Text without the
// trailing newline.
type Print struct {
	Text string
}

// Event is one parsed line of a trace file. Comm and PID are the task
// that was current on CPU when the event was recorded (in an interrupt,
// the task it interrupted). Exactly one of the kind-specific fields is
// set, as the comment of the Kind says.
type Event struct {
	Line   int    // 1-based line number in the file
	Comm   string // "<idle>" for the idle task, "<...>" when the comm was not saved
	PID    int
	CPU    int
	Flags  string // the irqs-off/need-resched/hardirq/… columns, "" if the trace has none
	TimeNs int64  // the timestamp, in ns on the instance's trace clock
	Name   string // the event's name as printed (sched_switch, tracing_mark_write, …)
	Fields string // the rest of the line after "NAME: "
	Kind   EventKind

	Switch   Switch
	Wake     Wake
	IRQ      IRQ
	SoftIRQ  SoftIRQ
	Vector   Vector
	HRTimer  HRTimer
	IPI      IPI
	Work     Work
	NMI      NMI
	Noise    Noise
	Print    Print
	Timerlat Timerlat
	Lost     int64 // EvLost: the number of events lost
}

// IRQsOff reports whether the line's flags say interrupts were disabled
// ('d', or 'D' for interrupts and bottom halves disabled).
func (e *Event) IRQsOff() bool {
	return len(e.Flags) > 0 && (e.Flags[0] == 'd' || e.Flags[0] == 'D')
}

// Context returns the flags' hardirq/softirq column: 'h' hard IRQ, 's'
// softirq, 'H' hard IRQ inside a softirq, 'z' NMI, 'Z' NMI inside a hard
// IRQ, '.' task context, 0 when the trace has no flags. The column's
// place differs between kernels (6.1 RT kernels add need-resched-lazy
// and preempt-lazy-depth columns), but its letters appear in no other
// column.
func (e *Event) Context() byte {
	if e.Flags == "" {
		return 0
	}
	for i := 1; i < len(e.Flags); i++ {
		switch c := e.Flags[i]; c {
		case 'h', 's', 'H', 'z', 'Z':
			return c
		}
	}
	return '.'
}

// LineError is a line Scanner could not parse.
type LineError struct {
	Line int
	Text string // the line, cut to 200 bytes
	Err  error
}

func (e *LineError) Error() string {
	return fmt.Sprintf("trace line %d: %v: %q", e.Line, e.Err, e.Text)
}

func (e *LineError) Unwrap() error { return e.Err }

// ErrMalformed is the error of every LineError.
var ErrMalformed = errors.New("malformed trace line")

// maxLineErrors bounds the LineErrors a Scanner keeps; it counts the rest.
const maxLineErrors = 100

// maxLineBytes bounds one line. Longer lines are malformed (the kernel's
// own limit for one printed event is a page).
const maxLineBytes = 64 << 10

// Scanner reads a trace file (the text of an ftrace instance's `trace`)
// one event at a time, in bounded memory: it holds one line, the last
// event, and at most maxLineErrors malformed lines.
//
// Comment lines (the header), blank lines and stack-trace lines (" => …")
// are skipped. A line that is not an event is kept as a LineError with
// its number; scanning goes on.
type Scanner struct {
	r        *bufio.Reader
	line     int
	ev       Event
	err      error
	bad      []*LineError
	badCount int
}

// NewScanner returns a Scanner reading r.
func NewScanner(r io.Reader) *Scanner {
	return &Scanner{r: bufio.NewReaderSize(r, 64<<10)}
}

// Scan advances to the next event. It returns false at the end of the
// input or on a read error (see Err).
func (s *Scanner) Scan() bool {
	for s.err == nil {
		line, err := s.readLine()
		if err != nil {
			if err != io.EOF {
				s.err = fmt.Errorf("reading trace: %w", err)
			}
			return false
		}
		s.line++
		if skipLine(line) {
			continue
		}
		s.ev = Event{Line: s.line}
		if lerr := parseLine(line, &s.ev); lerr != nil {
			s.badCount++
			if len(s.bad) < maxLineErrors {
				if len(line) > 200 {
					line = line[:200]
				}
				s.bad = append(s.bad, &LineError{Line: s.line, Text: line, Err: lerr})
			}
			continue
		}
		return true
	}
	return false
}

// readLine returns the next line without its newline. A line longer than
// maxLineBytes is returned cut (and will be malformed).
func (s *Scanner) readLine() (string, error) {
	frag, err := s.r.ReadSlice('\n')
	if err == nil || (err == io.EOF && len(frag) > 0) {
		return string(trimEOL(frag)), nil // the common case: one copy
	}
	if err != bufio.ErrBufferFull {
		return "", err
	}
	b := append([]byte(nil), frag...)
	for {
		frag, err := s.r.ReadSlice('\n')
		if len(b)+len(frag) <= maxLineBytes {
			b = append(b, frag...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && err != io.EOF {
			return "", err
		}
		return string(trimEOL(b)), nil
	}
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// Event returns the event of the last successful Scan. Its fields are
// overwritten by the next Scan.
func (s *Scanner) Event() *Event { return &s.ev }

// Err returns the read error that ended the scan, nil at EOF.
func (s *Scanner) Err() error { return s.err }

// Malformed returns the first malformed lines (at most 100) and the
// count of all of them.
func (s *Scanner) Malformed() ([]*LineError, int) { return s.bad, s.badCount }

// Lines returns the number of lines read so far.
func (s *Scanner) Lines() int { return s.line }

func skipLine(line string) bool {
	t := strings.TrimSpace(line)
	return t == "" || t[0] == '#' || strings.HasPrefix(t, "=>") || t == "<stack trace>" || t == "<user stack trace>"
}

func perr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, a...)...)
}

// parseLine parses one event line:
//
//	COMM-PID [CPU] FLAGS SECONDS.FRACTION: NAME: FIELDS
//
// COMM may hold spaces and dashes (the PID is the digits after the last
// dash before " [CPU]"); FLAGS is absent when the instance's irq-info
// option is off; the timestamp has µs (or, on some clocks, ns) digits,
// or is a plain count on the counter and x86-tsc clocks. It also parses
// the buffer's "CPU:N [LOST M EVENTS]" lines.
func parseLine(line string, ev *Event) error {
	if t := strings.TrimSpace(line); strings.HasPrefix(t, "CPU:") && strings.HasSuffix(t, "EVENTS]") {
		return parseLost(t, ev)
	}
	// Find " [NNN] " whose left side ends in "-PID".
	i := 0
	for {
		j := strings.Index(line[i:], "[")
		if j < 0 {
			return perr("no [CPU] column")
		}
		j += i
		k := strings.IndexByte(line[j:], ']')
		if k > 1 && j > 0 && line[j-1] == ' ' {
			cpu, err := strconv.Atoi(line[j+1 : j+k])
			head := strings.TrimRight(line[:j], " ")
			dash := strings.LastIndexByte(head, '-')
			if err == nil && dash > 0 && dash < len(head)-1 {
				pid, perr2 := strconv.Atoi(head[dash+1:])
				if perr2 == nil {
					ev.Comm = strings.TrimLeft(head[:dash], " ")
					ev.PID = pid
					ev.CPU = cpu
					i = j + k + 1
					break
				}
			}
		}
		i = j + 1
	}
	rest := strings.TrimLeft(line[i:], " ")
	tok, after, ok := strings.Cut(rest, " ")
	if !ok {
		return perr("no timestamp")
	}
	if !strings.HasSuffix(tok, ":") {
		ev.Flags = tok
		rest = strings.TrimLeft(after, " ")
		tok, after, ok = strings.Cut(rest, " ")
		if !ok {
			return perr("no timestamp")
		}
	}
	ts, err := parseTimestamp(strings.TrimSuffix(tok, ":"))
	if err != nil || !strings.HasSuffix(tok, ":") {
		return perr("bad timestamp %q", tok)
	}
	ev.TimeNs = ts
	after = strings.TrimLeft(after, " ")
	if strings.HasPrefix(after, "#") {
		return parseTimerlat(after, ev)
	}
	name, fields, ok := strings.Cut(after, ": ")
	if !ok {
		if strings.HasSuffix(after, ":") && !strings.Contains(after, " ") {
			name, fields = strings.TrimSuffix(after, ":"), ""
		} else {
			return perr("no event name")
		}
	}
	if name == "" || strings.ContainsAny(name, " \t") {
		return perr("bad event name %q", name)
	}
	ev.Name, ev.Fields = name, fields
	return parseFields(ev)
}

func parseLost(t string, ev *Event) error {
	// CPU:1 [LOST 123 EVENTS]
	cpuStr, rest, _ := strings.Cut(strings.TrimPrefix(t, "CPU:"), " ")
	cpu, err := strconv.Atoi(cpuStr)
	if err != nil {
		return perr("bad CPU in lost-events line")
	}
	f := strings.Fields(rest)
	if len(f) != 3 || f[0] != "[LOST" {
		return perr("bad lost-events line")
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return perr("bad lost-events count")
	}
	ev.Kind, ev.CPU, ev.Lost, ev.Name, ev.PID = EvLost, cpu, n, "lost", -1
	return nil
}

// parseTimestamp reads "SECONDS.FRACTION" (any number of fraction digits
// up to 9) as ns, or a plain integer as it is.
func parseTimestamp(s string) (int64, error) {
	sec, frac, dot := strings.Cut(s, ".")
	secs, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || secs < 0 {
		return 0, perr("bad timestamp")
	}
	if !dot {
		return secs, nil
	}
	if len(frac) == 0 || len(frac) > 9 {
		return 0, perr("bad timestamp fraction")
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil || f < 0 {
		return 0, perr("bad timestamp fraction")
	}
	for n := len(frac); n < 9; n++ {
		f *= 10
	}
	if secs > (1<<63-1-f)/1e9 {
		return 0, perr("timestamp out of range")
	}
	return secs*1e9 + f, nil
}

// softirqNames is the kernel's softirq vector table (include/linux/
// interrupt.h), stable since 2.6.
var softirqNames = [...]string{"HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU"}

// fieldsAfter returns the values of the keys in text, in order: the
// first key ("comm=") starts text or follows a space, each later key
// (" pid=", with its leading space) is searched after the previous one,
// and a value runs to the next key, so values may hold spaces (comms
// do). The last value runs to the next space.
func fieldsAfter(text string, keys ...string) ([]string, bool) {
	vals := make([]string, len(keys))
	pos := 0
	for n, k := range keys {
		var j int
		if n == 0 {
			if strings.HasPrefix(text, k) {
				j = 0
			} else if j = strings.Index(text, " "+k); j < 0 {
				return nil, false
			} else {
				j++
			}
		} else {
			if j = strings.Index(text[pos:], k); j < 0 {
				return nil, false
			}
			j += pos
			vals[n-1] = text[pos:j]
		}
		pos = j + len(k)
	}
	last := text[pos:]
	if sp := strings.IndexByte(last, ' '); sp >= 0 {
		last = last[:sp]
	}
	vals[len(keys)-1] = last
	return vals, true
}

// kv splits "a=1 b=2 c=x" into its pairs (values without spaces), in any
// order.
func kv(text string, want func(k, v string) error) error {
	for _, f := range strings.Fields(text) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		if err := want(k, v); err != nil {
			return err
		}
	}
	return nil
}

func atoi(field, s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, perr("bad %s %q", field, s)
	}
	return n, nil
}

func parseFields(ev *Event) error {
	name, f := ev.Name, ev.Fields
	var err error
	switch {
	case name == "sched_switch":
		ev.Kind = EvSchedSwitch
		// The next_* half may hold spaces in next_comm, so split at " ==> ".
		prev, next, ok := strings.Cut(f, " ==> ")
		if !ok {
			return perr("sched_switch without ==>")
		}
		p, ok := fieldsAfter(prev, "prev_comm=", " prev_pid=", " prev_prio=", " prev_state=")
		if !ok {
			return perr("sched_switch prev fields")
		}
		n, ok := fieldsAfter(next, "next_comm=", " next_pid=", " next_prio=")
		if !ok {
			return perr("sched_switch next fields")
		}
		s := &ev.Switch
		s.PrevComm, s.PrevState, s.NextComm = p[0], p[3], n[0]
		if s.PrevPID, err = atoi("prev_pid", p[1]); err != nil {
			return err
		}
		if s.PrevPrio, err = atoi("prev_prio", p[2]); err != nil {
			return err
		}
		if s.NextPID, err = atoi("next_pid", n[1]); err != nil {
			return err
		}
		if s.NextPrio, err = atoi("next_prio", n[2]); err != nil {
			return err
		}
	case name == "sched_waking" || name == "sched_wakeup" || name == "sched_wakeup_new":
		ev.Kind = EvSchedWaking
		if name != "sched_waking" {
			ev.Kind = EvSchedWakeup
		}
		// comm=C pid=N prio=N [success=1] target_cpu=NNN
		v, ok := fieldsAfter(f, "comm=", " pid=", " prio=")
		if !ok {
			return perr("%s fields", name)
		}
		w := &ev.Wake
		w.Comm = v[0]
		if w.PID, err = atoi("pid", v[1]); err != nil {
			return err
		}
		if w.Prio, err = atoi("prio", v[2]); err != nil {
			return err
		}
		w.TargetCPU = -1
		if i := strings.Index(f, " target_cpu="); i >= 0 {
			t := f[i+len(" target_cpu="):]
			if sp := strings.IndexByte(t, ' '); sp >= 0 {
				t = t[:sp]
			}
			if w.TargetCPU, err = atoi("target_cpu", t); err != nil {
				return err
			}
		}
	case name == "irq_handler_entry":
		ev.Kind = EvIRQEntry
		v, ok := fieldsAfter(f, "irq=", " name=")
		if !ok {
			return perr("irq_handler_entry fields")
		}
		if ev.IRQ.IRQ, err = atoi("irq", v[0]); err != nil {
			return err
		}
		// The action name runs to the end of the line.
		ev.IRQ.Name = f[strings.Index(f, " name=")+len(" name="):]
	case name == "irq_handler_exit":
		ev.Kind = EvIRQExit
		v, ok := fieldsAfter(f, "irq=", " ret=")
		if !ok {
			return perr("irq_handler_exit fields")
		}
		if ev.IRQ.IRQ, err = atoi("irq", v[0]); err != nil {
			return err
		}
		ev.IRQ.Ret = v[1]
	case name == "softirq_entry" || name == "softirq_exit" || name == "softirq_raise":
		switch name {
		case "softirq_entry":
			ev.Kind = EvSoftIRQEntry
		case "softirq_exit":
			ev.Kind = EvSoftIRQExit
		default:
			ev.Kind = EvSoftIRQRaise
		}
		// vec=7 [action=SCHED]
		vs, rest, _ := strings.Cut(strings.TrimPrefix(f, "vec="), " ")
		if !strings.HasPrefix(f, "vec=") {
			return perr("%s without vec=", name)
		}
		if ev.SoftIRQ.Vec, err = atoi("vec", vs); err != nil {
			return err
		}
		if a, ok := strings.CutPrefix(strings.TrimSpace(rest), "[action="); ok {
			ev.SoftIRQ.Action = strings.TrimSuffix(a, "]")
		} else if ev.SoftIRQ.Vec >= 0 && ev.SoftIRQ.Vec < len(softirqNames) {
			ev.SoftIRQ.Action = softirqNames[ev.SoftIRQ.Vec]
		}
	case strings.HasPrefix(name, "hrtimer_expire_"):
		if name == "hrtimer_expire_entry" {
			ev.Kind = EvHRTimerEntry
		} else if name == "hrtimer_expire_exit" {
			ev.Kind = EvHRTimerExit
		} else {
			return nil
		}
		// hrtimer=P function=F now=N, read in any order.
		err = kv(f, func(k, v string) error {
			var err error
			switch k {
			case "hrtimer":
				ev.HRTimer.Addr = v
			case "function":
				ev.HRTimer.Function = v
			case "now":
				ev.HRTimer.NowNs, err = strconv.ParseInt(v, 10, 64)
				if err != nil {
					err = perr("bad hrtimer now %q", v)
				}
			}
			return err
		})
		if err == nil && ev.HRTimer.Addr == "" {
			err = perr("%s without hrtimer=", name)
		}
		return err
	case strings.HasSuffix(name, "_entry") && strings.HasPrefix(f, "vector="),
		strings.HasSuffix(name, "_exit") && strings.HasPrefix(f, "vector="):
		// irq_vectors: local_timer_entry: vector=236
		ev.Kind = EvVectorEntry
		vname := strings.TrimSuffix(name, "_entry")
		if strings.HasSuffix(name, "_exit") {
			ev.Kind, vname = EvVectorExit, strings.TrimSuffix(name, "_exit")
		}
		ev.Vector.Name = vname
		vs := strings.TrimPrefix(f, "vector=")
		if sp := strings.IndexByte(vs, ' '); sp >= 0 {
			vs = vs[:sp]
		}
		if ev.Vector.Vector, err = atoi("vector", vs); err != nil {
			return err
		}
	case name == "ipi_raise":
		// target_mask=00000000,00000002 (Rescheduling interrupts)
		ev.Kind = EvIPIRaise
		t, reason, _ := strings.Cut(strings.TrimPrefix(f, "target_mask="), " ")
		ev.IPI.Target, ev.IPI.Reason = t, strings.Trim(reason, "()")
	case name == "ipi_entry" || name == "ipi_exit":
		ev.Kind = EvIPIEntry
		if name == "ipi_exit" {
			ev.Kind = EvIPIExit
		}
		ev.IPI.Reason = strings.Trim(strings.TrimSpace(f), "()")
	case name == "ipi_send_cpu" || name == "ipi_send_cpumask":
		ev.Kind = EvIPISend
		err = kv(f, func(k, v string) error {
			switch k {
			case "cpu", "cpumask":
				ev.IPI.Target = v
			case "callsite":
				ev.IPI.Callsite = v
			case "callback":
				ev.IPI.Callback = v
			}
			return nil
		})
	case name == "workqueue_execute_start" || name == "workqueue_execute_end":
		ev.Kind = EvWorkStart
		if name == "workqueue_execute_end" {
			ev.Kind = EvWorkEnd
		}
		// work struct 000000000bcbae00: function delayed_vfree_work
		w, fn, _ := strings.Cut(strings.TrimPrefix(f, "work struct "), ":")
		if !strings.HasPrefix(f, "work struct ") {
			return perr("%s fields", name)
		}
		ev.Work.Work = strings.TrimSpace(w)
		ev.Work.Function = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(fn), "function"))
	case name == "nmi_handler":
		// handler=perf_event_nmi_handler+0x0/0x30 delta_ns=2345 handled=1
		ev.Kind = EvNMI
		err = kv(f, func(k, v string) error {
			var err error
			switch k {
			case "handler":
				ev.NMI.Handler = v
			case "delta_ns":
				ev.NMI.DeltaNs, err = strconv.ParseInt(v, 10, 64)
			case "handled":
				ev.NMI.Handled, err = strconv.Atoi(v)
			}
			if err != nil {
				err = perr("bad nmi_handler %s %q", k, v)
			}
			return err
		})
	case name == "irq_noise" || name == "softirq_noise" || name == "thread_noise" || name == "nmi_noise":
		ev.Kind = EvNoise
		return parseNoise(ev)
	case name == "tracing_mark_write" || strings.HasPrefix(name, "tracing_mark_write+"):
		ev.Kind = EvPrint
		ev.Print.Text = strings.TrimRight(f, "\n")
	}
	return err
}

// parseNoise parses the osnoise events' "NAME:ID start S.NNNNNNNNN
// duration D ns" (nmi_noise has no NAME:ID).
func parseNoise(ev *Event) error {
	f := strings.TrimSpace(ev.Fields)
	head, tail, ok := strings.Cut(f, "start ")
	if !ok {
		return perr("%s without start", ev.Name)
	}
	if head = strings.TrimSpace(head); head != "" {
		c := strings.LastIndexByte(head, ':')
		if c < 0 {
			return perr("%s without NAME:ID", ev.Name)
		}
		id, err := atoi("noise id", head[c+1:])
		if err != nil {
			return err
		}
		ev.Noise.Name, ev.Noise.ID = strings.TrimSpace(head[:c]), id
	}
	g := strings.Fields(tail)
	if len(g) < 3 || g[1] != "duration" {
		return perr("%s fields", ev.Name)
	}
	start, err := parseTimestamp(g[0])
	if err != nil {
		return perr("bad %s start %q", ev.Name, g[0])
	}
	d, err := strconv.ParseInt(g[2], 10, 64)
	if err != nil {
		return perr("bad %s duration %q", ev.Name, g[2])
	}
	ev.Noise.StartNs, ev.Noise.DurationNs = start, d
	return nil
}

// parseTimerlat parses the timerlat tracer's sample, which has no event
// name: "#1020  context thread timer_latency     12345 ns".
func parseTimerlat(text string, ev *Event) error {
	f := strings.Fields(text)
	if len(f) != 6 || f[1] != "context" || f[3] != "timer_latency" || f[5] != "ns" {
		return perr("bad timerlat sample")
	}
	seq, err := atoi("timerlat seq", strings.TrimPrefix(f[0], "#"))
	if err != nil {
		return err
	}
	lat, err := strconv.ParseInt(f[4], 10, 64)
	if err != nil || lat < 0 {
		return perr("bad timer_latency %q", f[4])
	}
	ev.Kind, ev.Name, ev.Fields = EvTimerlat, "timerlat", text
	ev.Timerlat = Timerlat{Seq: seq, Context: f[2], LatencyNs: lat}
	return nil
}
