package rt

import (
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/rtcell/rtcell/rt/stats"
)

// Telemetry is the block a loop publishes its statistics to, once per
// cycle, without locks or syscalls. It lives either in private memory
// (NewTelemetry) or in shared memory that a supervisor process maps too
// (NewSharedTelemetry, OpenTelemetry).
//
// The block is a fixed, pointer-free layout of 64-bit words (version
// TelemetryVersion): a header with counters and statistics, followed by
// the 1 µs histogram. The loop is its only writer. It brackets each
// cycle's update with a sequence counter (a seqlock): odd while writing,
// even when consistent. Readers copy the block and retry while the counter
// was odd or changed (Snapshot), so they never block the loop and the loop
// never waits for them.
type Telemetry struct {
	h       *telemHeader
	hist    stats.Histogram
	histMem []uint64
	words   []uint64 // the whole block
	unmap   func() error
}

// TelemetryVersion is the layout version; a reader refuses other versions.
const TelemetryVersion = 1

const telemMagic = 0x31_6c_6c_65_63_74_72_00 // "\0rtcell1" little-endian

// Telemetry states (telemHeader.State).
const (
	stateNew     = 0
	stateRunning = 1
	stateDone    = 2
)

// stopReason codes (telemHeader.StopReason).
var stopReasons = []string{"", "completed", "stopped by the cycle function", "stop requested"}

// telemHeader is the wire layout. Only int64/uint64 fields and arrays of
// them: the same bytes on amd64, arm64 and arm.
type telemHeader struct {
	Magic    uint64
	Version  uint64
	Words    uint64 // size of the block in 8-byte words
	HistBins uint64

	Seq   uint64 // seqlock, written with atomics
	Stop  uint64 // set to 1 by a reader to ask the loop to stop
	State uint64 // stateNew, stateRunning, stateDone

	Name                  [8]uint64 // up to 64 bytes, NUL-padded
	PeriodNs, DeadlineNs  int64
	Wake, Overrun         uint64 // index into wakeNames / overrunNames
	CPU, Priority, Policy int64  // requested; Policy indexes policyNames
	StartNs               int64  // CLOCK_MONOTONIC when the loop started
	PID                   int64

	// In effect, read back by the loop itself.
	GOMAXPROCS      int64
	AsyncPreemptOff uint64
	GCPercent       int64 // -1: off
	MemoryLimit     int64
	TID             int64
	ThreadPolicy    int64
	ThreadPriority  int64
	ThreadCPUs      [4]uint64 // bitmask of CPUs 0–255
	MemLocked       uint64
	DMALatency      uint64

	Cycles         uint64
	DeadlineMisses uint64
	Overruns       uint64
	MissedReleases uint64
	Migrations     uint64
	GCCycles       uint64
	HeapAllocs     uint64
	MarginNs       int64
	ConsecMisses   uint64 // deadline misses in a row, up to the last cycle
	MaxConsecMiss  uint64 // the longest such run
	JitterMinNs    int64  // signed extremes; Stats.Jitter holds |jitter|
	JitterMaxNs    int64
	LastWakeNs     int64 // heartbeat: CLOCK_MONOTONIC of the last cycle
	StopReason     uint64
	StartUnixNs    int64      // wall clock, for reports
	EndUnixNs      int64      // wall clock; 0 while running
	Error          [32]uint64 // why the loop could not run, up to 256 bytes

	Stats stats.Task
}

var (
	wakeNames    = []Wake{WakeSleep, WakeHybrid, WakeBusy}
	overrunNames = []OverrunPolicy{OverrunSkip, OverrunCatchup}
	policyNames  = []Policy{PolicyOther, PolicyFIFO, PolicyRR}
)

const headerWords = int(unsafe.Sizeof(telemHeader{}) / 8)

// TelemetryWords is the size in 8-byte words of a block whose histogram
// has histUS 1 µs bins.
func TelemetryWords(histUS int) int { return headerWords + stats.HistogramWords(histUS) }

// NewTelemetry allocates a private block with a histogram of histUS bins.
func NewTelemetry(histUS int) *Telemetry {
	words := make([]uint64, TelemetryWords(histUS))
	t, err := attachTelemetry(words, true, histUS)
	if err != nil {
		panic(err) // the layout is ours; cannot fail
	}
	return t
}

// attachTelemetry lays a Telemetry over words, initialising the header
// when init is set and checking it otherwise.
func attachTelemetry(words []uint64, init bool, histUS int) (*Telemetry, error) {
	if len(words) < headerWords+2 {
		return nil, fmt.Errorf("attaching telemetry: block of %d words is smaller than the header: %w", len(words), ErrInvalid)
	}
	h := (*telemHeader)(unsafe.Pointer(&words[0]))
	if init {
		clear(words)
		h.Magic, h.Version, h.Words, h.HistBins = telemMagic, TelemetryVersion, uint64(len(words)), uint64(histUS)
	} else {
		switch {
		case h.Magic != telemMagic:
			return nil, fmt.Errorf("attaching telemetry: bad magic %#x, not an rtcell telemetry block: %w", h.Magic, ErrInvalid)
		case h.Version != TelemetryVersion:
			return nil, fmt.Errorf("attaching telemetry: layout version %d, this build reads %d: %w", h.Version, TelemetryVersion, ErrInvalid)
		case h.Words != uint64(len(words)) || TelemetryWords(int(h.HistBins)) != len(words):
			return nil, fmt.Errorf("attaching telemetry: block of %d words does not match its header (%d words, %d bins): %w",
				len(words), h.Words, h.HistBins, ErrInvalid)
		}
	}
	histMem := words[headerWords:]
	hist, err := stats.NewHistogram(histMem)
	if err != nil {
		return nil, fmt.Errorf("attaching telemetry: %w", err)
	}
	return &Telemetry{h: h, hist: hist, histMem: histMem, words: words}, nil
}

// HistogramUS is the number of 1 µs bins in the block's histogram.
func (t *Telemetry) HistogramUS() int { return int(t.h.HistBins) }

// Close unmaps a shared block. It is a no-op for a private one.
func (t *Telemetry) Close() error {
	if t.unmap == nil {
		return nil
	}
	u := t.unmap
	t.unmap = nil
	return u()
}

// RequestStop asks the loop writing this block to stop after its current
// cycle. It is how a supervisor stops a worker process.
func (t *Telemetry) RequestStop() { atomic.StoreUint64(&t.h.Stop, 1) }

func (t *Telemetry) stopRequested() bool { return atomic.LoadUint64(&t.h.Stop) != 0 }

// Heartbeat returns the CLOCK_MONOTONIC time of the last recorded cycle,
// or of the loop's start, and whether the loop has finished. A watchdog
// compares it with Nanotime.
func (t *Telemetry) Heartbeat() (lastNs int64, done bool) {
	last := atomic.LoadInt64(&t.h.LastWakeNs)
	if last == 0 {
		last = atomic.LoadInt64(&t.h.StartNs)
	}
	return last, atomic.LoadUint64(&t.h.State) == stateDone
}

func indexOf[T comparable](list []T, v T) uint64 {
	for i, x := range list {
		if x == v {
			return uint64(i)
		}
	}
	return 0
}

// begin fills the header's description of the run.
func (t *Telemetry) begin(o LoopOptions, rs RuntimeSettings, st ThreadState) {
	h := t.h
	atomic.AddUint64(&h.Seq, 1)
	nameBytes := (*[64]byte)(unsafe.Pointer(&h.Name))
	clear(nameBytes[:])
	copy(nameBytes[:63], o.Name)
	h.PeriodNs, h.DeadlineNs = int64(o.Period), int64(o.Deadline)
	h.Wake, h.Overrun = indexOf(wakeNames, o.Wake), indexOf(overrunNames, o.Overrun)
	h.CPU, h.Priority, h.Policy = int64(o.Thread.CPU), int64(o.Thread.Priority), int64(indexOf(policyNames, o.Thread.Policy))
	h.PID = int64(pid())
	h.GOMAXPROCS = int64(rs.GOMAXPROCS)
	h.AsyncPreemptOff = b2u(rs.AsyncPreemptOff)
	h.GCPercent = -1
	if rs.GOGC != "off" {
		fmt.Sscan(rs.GOGC, &h.GCPercent)
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
	window := int64(o.Window)
	if window <= 0 {
		window = stats.DefaultWindowNs
	}
	now := nanotime()
	h.Stats.Init(window, now)
	h.StartNs = now
	h.StartUnixNs = time.Now().UnixNano()
	atomic.StoreUint64(&h.State, stateRunning)
	atomic.AddUint64(&h.Seq, 1)
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// record publishes one cycle. Called by the loop only; allocation-free.
func (t *Telemetry) record(n uint64, wake, lat, jit, exec int64, miss, overrun bool, missed uint64, margin int64) {
	h := t.h
	atomic.AddUint64(&h.Seq, 1)
	h.Cycles = n + 1
	st := &h.Stats
	st.Latency.Record(lat)
	if n > 0 {
		// The first cycle has no previous wake-up to measure from.
		if n == 1 || jit < h.JitterMinNs {
			h.JitterMinNs = jit
		}
		if n == 1 || jit > h.JitterMaxNs {
			h.JitterMaxNs = jit
		}
		if jit < 0 {
			jit = -jit
		}
		st.Jitter.Record(jit)
	}
	st.Exec.Record(exec)
	if t.hist.Record(lat) {
		st.Overflows.Add(n)
	}
	st.Worst.Record(n, wake, lat, exec)
	st.Windows.Record(wake, lat)
	if miss {
		h.DeadlineMisses++
		h.ConsecMisses++
		h.MaxConsecMiss = max(h.MaxConsecMiss, h.ConsecMisses)
	} else {
		h.ConsecMisses = 0
	}
	if overrun {
		h.Overruns++
	}
	h.MissedReleases += missed
	h.MarginNs = margin
	h.LastWakeNs = wake
	atomic.AddUint64(&h.Seq, 1)
}

// migrated counts a move of the loop's goroutine to another thread.
func (t *Telemetry) migrated() {
	atomic.AddUint64(&t.h.Seq, 1)
	t.h.Migrations++
	atomic.AddUint64(&t.h.Seq, 1)
}

// finish records the end of the run.
func (t *Telemetry) finish(gcCycles, heapAllocs uint64, reason string) {
	h := t.h
	atomic.AddUint64(&h.Seq, 1)
	h.GCCycles, h.HeapAllocs = gcCycles, heapAllocs
	h.StopReason = indexOf(stopReasons, reason)
	h.EndUnixNs = time.Now().UnixNano()
	atomic.StoreUint64(&h.State, stateDone)
	atomic.AddUint64(&h.Seq, 1)
}

// setError records why the loop could not run, for the supervisor.
func (t *Telemetry) setError(msg string) {
	h := t.h
	atomic.AddUint64(&h.Seq, 1)
	b := (*[256]byte)(unsafe.Pointer(&h.Error))
	clear(b[:])
	copy(b[:255], msg)
	atomic.StoreUint64(&h.State, stateDone)
	atomic.AddUint64(&h.Seq, 1)
}

// Snapshot is a consistent copy of a telemetry block.
type Snapshot struct {
	h    telemHeader
	hist []uint64
	// Torn is set when no consistent copy could be had: the writer died in
	// the middle of an update. The copy may then be off by one cycle.
	Torn bool
}

// Snapshot copies the block under its seqlock into s (allocating s when
// nil) and returns it. It never blocks the writer: it retries while an
// update is in progress, up to a bound, and marks the copy Torn if it
// never got a clean one.
func (t *Telemetry) Snapshot(s ...*Snapshot) *Snapshot {
	var dst *Snapshot
	if len(s) > 0 && s[0] != nil {
		dst = s[0]
	} else {
		dst = &Snapshot{}
	}
	if len(dst.hist) != len(t.histMem) {
		dst.hist = make([]uint64, len(t.histMem))
	}
	for try := 0; ; try++ {
		s1 := atomic.LoadUint64(&t.h.Seq)
		dst.h = *t.h
		copy(dst.hist, t.histMem)
		// An atomic read-modify-write is a full barrier on amd64 and
		// arm64, so the copy above completes before it; 32-bit ARM needs
		// a fence first (loadFence).
		loadFence(&t.h.Seq)
		s2 := atomic.AddUint64(&t.h.Seq, 0)
		if s1 == s2 && s1%2 == 0 {
			dst.Torn = false
			return dst
		}
		if try >= 10000 {
			dst.Torn = true
			return dst
		}
		if try > 100 {
			time.Sleep(10 * time.Microsecond)
		}
	}
}

// Err is the error the loop reported instead of running, or "".
func (s *Snapshot) Err() string { return cString((*[256]byte)(unsafe.Pointer(&s.h.Error))[:]) }

func cString(b []byte) string {
	n := 0
	for n < len(b) && b[n] != 0 {
		n++
	}
	return string(b[:n])
}

// Cycles is the number of completed cycles in the snapshot.
func (s *Snapshot) Cycles() uint64 { return s.h.Cycles }

// Name is the loop's name.
func (s *Snapshot) Name() string { return cString((*[64]byte)(unsafe.Pointer(&s.h.Name))[:]) }

// Running reports whether the loop has started and not finished.
func (s *Snapshot) Running() bool { return s.h.State == stateRunning }

// Done reports whether the loop has finished.
func (s *Snapshot) Done() bool { return s.h.State == stateDone }

// Latency, Jitter (absolute) and Exec give the live series, for status
// lines and metrics.
func (s *Snapshot) Latency() *stats.Series { return &s.h.Stats.Latency }

// Jitter is the series of absolute period jitter.
func (s *Snapshot) Jitter() *stats.Series { return &s.h.Stats.Jitter }

// Exec is the series of execution times.
func (s *Snapshot) Exec() *stats.Series { return &s.h.Stats.Exec }

// DeadlineMisses is the count so far.
func (s *Snapshot) DeadlineMisses() uint64 { return s.h.DeadlineMisses }

// ConsecutiveMisses is the number of deadline misses in a row up to the
// last cycle (0 if the last cycle met its deadline).
func (s *Snapshot) ConsecutiveMisses() uint64 { return s.h.ConsecMisses }

// PeriodNs is the loop's period.
func (s *Snapshot) PeriodNs() int64 { return s.h.PeriodNs }

// ThreadPriority is the priority in effect on the loop's thread.
func (s *Snapshot) ThreadPriority() int { return int(s.h.ThreadPriority) }

// TID is the loop thread's ID.
func (s *Snapshot) TID() int { return int(s.h.TID) }
