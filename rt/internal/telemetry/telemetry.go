// Package telemetry is the statistics block an RT loop publishes to once
// per cycle, without locks or syscalls, and that its supervisor reads
// from another process. It is plumbing of package rt: firmware reads it
// through rt.Snapshot.
//
// The block is a fixed, pointer-free layout of 64-bit words (Version): a
// Header with counters and statistics, then the 1 µs histogram. It lives
// in an rt/shm Region: a private one for a loop in its own process, a
// memfd that both processes map for a worker. The loop is its only
// writer and brackets each update with the header's sequence counter
// (shm.SeqWriteBegin/End); readers copy the block and retry while an
// update was in progress (Snapshot), so they never block the loop and the
// loop never waits for them.
package telemetry

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/rtcell/rtcell/rt/shm"
	"github.com/rtcell/rtcell/rt/stats"
)

// Version is the layout version; a reader refuses other versions.
const Version = 4

const magic = 0x31_6c_6c_65_63_74_72_00 // "\0rtcell1" little-endian

// States (Header.State).
const (
	StateNew     = 0
	StateRunning = 1
	StateDone    = 2
)

// ErrInvalid marks a block that is not a telemetry block of this layout.
var ErrInvalid = errors.New("invalid telemetry block")

// Text field sizes in bytes.
const (
	NameBytes     = 64
	ErrorBytes    = 2048
	WarningsBytes = 1024
)

// Header is the wire layout. Only int64/uint64 fields and arrays of them:
// the same bytes on amd64, arm64 and arm. Enumerations (Wake, Overrun,
// Policy, StopReason) are indices that package rt defines.
type Header struct {
	Magic    uint64
	Version  uint64
	Words    uint64 // size of the block in 8-byte words
	HistBins uint64

	Seq   uint64 // sequence counter (shm.SeqWriteBegin)
	Stop  uint64 // set to 1 by a reader to ask the loop to stop
	State uint64 // StateNew, StateRunning, StateDone

	Name                  [NameBytes / 8]uint64 // NUL-padded
	PeriodNs, DeadlineNs  int64
	Wake, Overrun         uint64
	CPU, Priority, Policy int64 // requested
	StartNs               int64 // CLOCK_MONOTONIC when the loop started
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
	StartUnixNs    int64                     // wall clock, for reports
	EndUnixNs      int64                     // wall clock; 0 while running
	Error          [ErrorBytes / 8]uint64    // why the loop could not run
	Warnings       [WarningsBytes / 8]uint64 // what was not set up, newline-separated

	// Task watchdog (see Watchdog): WdTimeNs and WdSensitivity are set
	// by the supervisor before the worker starts (0: off); the loop keeps
	// the rest.
	WdTimeNs      int64
	WdSensitivity uint64
	WdOver        uint64 // cycles in a row whose completion exceeded WdTimeNs, up to the last
	WdMaxOver     uint64 // the longest such run
	WdTripped     uint64 // 1 once the watchdog's condition held
	WdTripNs      int64  // completion time of the cycle that tripped it
	WdTripCycle   uint64 // that cycle's number (from 0)
	WdTripOver    uint64 // over-time cycles in a row when it tripped

	// Statistics reset (ResetStatistics): a reader increments ResetReq,
	// the loop honours it before recording its next cycle and copies it
	// to ResetDone.
	ResetReq    uint64
	ResetDone   uint64
	ResetNs     int64  // CLOCK_MONOTONIC of the last reset; 0: never
	ResetCycles uint64 // Cycles when the statistics were last reset

	// Counters of the loop thread, from the kernel: Base* were read by
	// the loop's thread (getrusage RUSAGE_THREAD) just before its first
	// cycle, the others are the increase since then, set at the end of
	// the run (a supervisor reads live values from /proc meanwhile).
	BaseMinFlt, BaseMajFlt, BaseVolCS, BaseInvolCS uint64
	MinFlt, MajFlt, VolCS, InvolCS                 uint64
	Counted                                        uint64 // 1 once the final counters are set

	// Trace on threshold (see Breach): TraceThresholdNs is set by the
	// supervisor before the worker starts (0: off). The loop fills the
	// Breach* fields on the first cycle whose wake latency exceeded it
	// and sets Breached last, in one update.
	TraceThresholdNs  int64
	Breached          uint64
	BreachCycle       uint64
	BreachLatencyNs   int64
	BreachReleaseNs   int64 // CLOCK_MONOTONIC
	BreachWakeNs      int64 // CLOCK_MONOTONIC
	BreachCPU         int64
	BreachTID         int64
	BreachMarkerErrno uint64 // errno of the marker write; 0: written
	BreachStopErrno   uint64 // errno of the write of 0 to tracing_on; 0: stopped

	Stats stats.Task
}

// HeaderWords is the header's size in 8-byte words.
const HeaderWords = int(unsafe.Sizeof(Header{}) / 8)

// Words is the size in 8-byte words of a block whose histogram has
// histUS 1 µs bins.
func Words(histUS int) int { return HeaderWords + stats.HistogramWords(histUS) }

// Block is a telemetry block laid over a region.
type Block struct {
	// mu serialises readers (Snapshot): their closing read is a write to
	// the sequence counter (see shm.SeqReadRetry).
	mu      sync.Mutex
	h       *Header
	hist    stats.Histogram
	histMem []uint64
	region  *shm.Region
}

// New lays a fresh block with a histogram of histUS bins over private
// memory, for a loop in its own process.
func New(histUS int) *Block {
	b, err := attach(shm.PrivateRegion(Words(histUS)*8), true, histUS)
	if err != nil {
		panic(err) // the layout is ours; cannot fail
	}
	return b
}

// NewShared creates a block in a memfd region (shm.NewRegion) and returns
// the file to pass to the worker process, which maps it with Open. Close
// the file once the worker has started; the mapping stays.
func NewShared(histUS int) (*Block, *os.File, error) {
	r, f, err := shm.NewRegion("rtcell-telemetry", Words(histUS)*8)
	if err != nil {
		return nil, nil, fmt.Errorf("creating the telemetry block: %w", err)
	}
	b, err := attach(r, true, histUS)
	if err != nil {
		r.Close()
		f.Close()
		return nil, nil, err
	}
	return b, f, nil
}

// Open maps the block in f, which another process created with
// NewShared, and checks its header.
func Open(f *os.File) (*Block, error) {
	r, err := shm.OpenRegion(f)
	if err != nil {
		return nil, fmt.Errorf("opening the telemetry block: %w", err)
	}
	b, err := attach(r, false, 0)
	if err != nil {
		r.Close()
		return nil, err
	}
	return b, nil
}

// attach lays a block over r, initialising the header when init is set
// and checking it otherwise.
func attach(r *shm.Region, init bool, histUS int) (*Block, error) {
	mem := r.Bytes()
	if len(mem) < 8*(HeaderWords+2) || len(mem)%8 != 0 {
		return nil, fmt.Errorf("attaching telemetry: block of %d bytes is smaller than the header: %w", len(mem), ErrInvalid)
	}
	words := unsafe.Slice((*uint64)(unsafe.Pointer(&mem[0])), len(mem)/8)
	h := (*Header)(unsafe.Pointer(&words[0]))
	if init {
		if Words(histUS) > len(words) {
			return nil, fmt.Errorf("attaching telemetry: %d bins do not fit %d words: %w", histUS, len(words), ErrInvalid)
		}
		words = words[:Words(histUS)]
		clear(words)
		h.Magic, h.Version, h.Words, h.HistBins = magic, Version, uint64(len(words)), uint64(histUS)
	} else {
		switch {
		case h.Magic != magic:
			return nil, fmt.Errorf("attaching telemetry: bad magic %#x, not an rtcell telemetry block: %w", h.Magic, ErrInvalid)
		case h.Version != Version:
			return nil, fmt.Errorf("attaching telemetry: layout version %d, this build reads %d: %w", h.Version, Version, ErrInvalid)
		case h.HistBins > uint64(len(words)) || h.Words != uint64(Words(int(h.HistBins))) || h.Words > uint64(len(words)):
			return nil, fmt.Errorf("attaching telemetry: block of %d words does not match its header (%d words, %d bins): %w",
				len(words), h.Words, h.HistBins, ErrInvalid)
		}
		words = words[:h.Words]
	}
	histMem := words[HeaderWords:]
	hist, err := stats.NewHistogram(histMem)
	if err != nil {
		return nil, fmt.Errorf("attaching telemetry: %w", err)
	}
	return &Block{h: h, hist: hist, histMem: histMem, region: r}, nil
}

// HistogramUS is the number of 1 µs bins in the block's histogram.
func (b *Block) HistogramUS() int { return int(b.h.HistBins) }

// Close unmaps a shared block; it is a no-op for a private one. Nobody
// may read or write the block afterwards.
func (b *Block) Close() error { return b.region.Close() }

// RequestStop asks the loop writing this block to stop after its current
// cycle. It is how a supervisor stops a worker process.
func (b *Block) RequestStop() { atomic.StoreUint64(&b.h.Stop, 1) }

// StopRequested reports whether RequestStop was called.
//
//go:nosplit
func (b *Block) StopRequested() bool { return atomic.LoadUint64(&b.h.Stop) != 0 }

// Heartbeat returns the CLOCK_MONOTONIC time of the last recorded cycle,
// or of the loop's start, and whether the loop has finished.
func (b *Block) Heartbeat() (lastNs int64, done bool) {
	last := atomic.LoadInt64(&b.h.LastWakeNs)
	if last == 0 {
		last = atomic.LoadInt64(&b.h.StartNs)
	}
	return last, atomic.LoadUint64(&b.h.State) == StateDone
}

// ConsecutiveMisses is the number of deadline misses in a row up to the
// last cycle, read without a snapshot (one word).
func (b *Block) ConsecutiveMisses() uint64 { return atomic.LoadUint64(&b.h.ConsecMisses) }

// Begin describes the run: fill sets the header's description fields
// (name, period, thread state …) inside one update; Begin then starts the
// statistics at now (CLOCK_MONOTONIC) with windows of windowNs and marks
// the loop running.
func (b *Block) Begin(now, windowNs int64, fill func(h *Header)) {
	h := b.h
	shm.SeqWriteBegin(&h.Seq)
	fill(h)
	h.Stats.Init(windowNs, now)
	h.StartNs = now
	h.StartUnixNs = time.Now().UnixNano()
	atomic.StoreUint64(&h.State, StateRunning)
	shm.SeqWriteEnd(&h.Seq)
}

// SetWatchdog arms the task watchdog's per-cycle bookkeeping: a cycle
// whose completion (release to end) exceeds timeNs is over time; the
// block trips on the sensitivity-th such cycle in a row, or on one cycle
// longer than sensitivity × timeNs. Call it before the loop starts.
func (b *Block) SetWatchdog(timeNs int64, sensitivity uint64) {
	shm.SeqWriteBegin(&b.h.Seq)
	b.h.WdTimeNs, b.h.WdSensitivity = timeNs, max(sensitivity, 1)
	shm.SeqWriteEnd(&b.h.Seq)
}

// SetTraceThreshold arms the trace trigger: the loop fires it on the
// first cycle whose wake latency exceeds thresholdNs. Call it before the
// loop starts.
func (b *Block) SetTraceThreshold(thresholdNs int64) {
	shm.SeqWriteBegin(&b.h.Seq)
	b.h.TraceThresholdNs = thresholdNs
	shm.SeqWriteEnd(&b.h.Seq)
}

// TraceThresholdNs is the threshold SetTraceThreshold set; 0: off.
func (b *Block) TraceThresholdNs() int64 { return atomic.LoadInt64(&b.h.TraceThresholdNs) }

// Breach publishes the first cycle whose wake latency exceeded the trace
// threshold: its number, latency, release and wake-up (CLOCK_MONOTONIC),
// the loop's CPU and thread, and the errnos of the trigger's two writes.
// Called by the loop only; allocation-free.
//
//go:nosplit
func (b *Block) Breach(n uint64, lat, rel, wake, cpu, tid int64, markerErrno, stopErrno uint64) {
	h := b.h
	shm.SeqWriteBegin(&h.Seq)
	h.BreachCycle, h.BreachLatencyNs, h.BreachReleaseNs, h.BreachWakeNs = n, lat, rel, wake
	h.BreachCPU, h.BreachTID = cpu, tid
	h.BreachMarkerErrno, h.BreachStopErrno = markerErrno, stopErrno
	atomic.StoreUint64(&h.Breached, 1)
	shm.SeqWriteEnd(&h.Seq)
}

// Breached reports whether the loop has published a breach, read
// without a snapshot (one word).
func (b *Block) Breached() bool { return atomic.LoadUint64(&b.h.Breached) != 0 }

// WatchdogTripped reports whether the task watchdog's condition has held,
// read without a snapshot (one word).
func (b *Block) WatchdogTripped() bool { return atomic.LoadUint64(&b.h.WdTripped) != 0 }

// RequestReset asks the loop to reset its statistics before it records
// its next cycle. It never blocks; any number of readers may call it.
func (b *Block) RequestReset() { atomic.AddUint64(&b.h.ResetReq, 1) }

// ResetsDone is the number of reset requests the loop has honoured.
func (b *Block) ResetsDone() uint64 { return atomic.LoadUint64(&b.h.ResetDone) }

// Record publishes one cycle: n counts cycles from 0, wake is the
// wake-up time, lat, jit and exec the cycle's wake latency, signed
// period jitter and execution time (so lat+exec is its completion time
// after the release). Called by the loop only; allocation-free.
func (b *Block) Record(n uint64, wake, lat, jit, exec int64, miss, overrun bool, missed uint64, margin int64) {
	h := b.h
	shm.SeqWriteBegin(&h.Seq)
	if req := atomic.LoadUint64(&h.ResetReq); req != h.ResetDone {
		b.reset(wake)
		h.ResetDone = req
	}
	h.Cycles = n + 1
	st := &h.Stats
	st.Latency.Record(lat)
	if n > 0 {
		// The first cycle has no previous wake-up to measure from; after
		// a reset, the first jitter sample sets both extremes.
		first := st.Jitter.Count == 0
		if first || jit < h.JitterMinNs {
			h.JitterMinNs = jit
		}
		if first || jit > h.JitterMaxNs {
			h.JitterMaxNs = jit
		}
		if jit < 0 {
			jit = -jit
		}
		st.Jitter.Record(jit)
	}
	st.Exec.Record(exec)
	if b.hist.Record(lat) {
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
	if h.WdTimeNs > 0 {
		b.watchdog(n, lat+exec)
	}
	h.LastWakeNs = wake
	shm.SeqWriteEnd(&h.Seq)
}

// watchdog does the task watchdog's bookkeeping for cycle n, which
// completed doneNs after its release. Over time means strictly longer
// than WdTimeNs; the one-cycle limit is strictly longer than
// WdSensitivity × WdTimeNs.
//
//go:nosplit
func (b *Block) watchdog(n uint64, doneNs int64) {
	h := b.h
	t := h.WdTimeNs
	if doneNs <= t {
		h.WdOver = 0
		return
	}
	h.WdOver++
	h.WdMaxOver = max(h.WdMaxOver, h.WdOver)
	if h.WdTripped != 0 {
		return
	}
	// doneNs > sens × t, without computing sens × t (it may overflow).
	sens := h.WdSensitivity
	q, r := uint64(doneNs/t), doneNs%t
	if h.WdOver >= sens || q > sens || (q == sens && r > 0) {
		h.WdTripNs, h.WdTripCycle, h.WdTripOver = doneNs, n, h.WdOver
		atomic.StoreUint64(&h.WdTripped, 1)
	}
}

// reset clears the statistics, as the loop does on a reset request: the
// latency, jitter and execution-time series, the histogram and its
// overflow log, the worst cycles, the windows and the counters of
// misses, overruns, missed releases and migrations. It keeps the cycle
// count, the consecutive-miss count the watchdog reads, the task
// watchdog's state and the thread counters. Allocation-free.
func (b *Block) reset(now int64) {
	h := b.h
	window := h.Stats.Windows.WindowNs
	_ = h.Stats.Init(window, now) // the window was valid at Begin
	b.hist.Reset()
	h.JitterMinNs, h.JitterMaxNs = 0, 0
	h.DeadlineMisses, h.Overruns, h.MissedReleases, h.Migrations = 0, 0, 0, 0
	h.MaxConsecMiss = h.ConsecMisses
	h.ResetNs, h.ResetCycles = now, h.Cycles
}

// Migrated counts a move of the loop's goroutine to another thread.
func (b *Block) Migrated() {
	shm.SeqWriteBegin(&b.h.Seq)
	b.h.Migrations++
	shm.SeqWriteEnd(&b.h.Seq)
}

// ThreadCounters are counters of the loop thread kept by the kernel.
type ThreadCounters struct {
	MinFlt, MajFlt, VolCS, InvolCS uint64
}

// Sub is c - base, field by field (0 where base is larger).
func (c ThreadCounters) Sub(base ThreadCounters) ThreadCounters {
	d := func(a, b uint64) uint64 {
		if a < b {
			return 0
		}
		return a - b
	}
	return ThreadCounters{d(c.MinFlt, base.MinFlt), d(c.MajFlt, base.MajFlt), d(c.VolCS, base.VolCS), d(c.InvolCS, base.InvolCS)}
}

// SetCounterBase records the loop thread's counters at the loop's start.
func (b *Block) SetCounterBase(c ThreadCounters) {
	h := b.h
	shm.SeqWriteBegin(&h.Seq)
	h.BaseMinFlt, h.BaseMajFlt, h.BaseVolCS, h.BaseInvolCS = c.MinFlt, c.MajFlt, c.VolCS, c.InvolCS
	shm.SeqWriteEnd(&h.Seq)
}

// SetCounters records the loop thread's counters at the end of the run
// (the increase since SetCounterBase).
func (b *Block) SetCounters(c ThreadCounters) {
	h := b.h
	shm.SeqWriteBegin(&h.Seq)
	h.MinFlt, h.MajFlt, h.VolCS, h.InvolCS = c.MinFlt, c.MajFlt, c.VolCS, c.InvolCS
	h.Counted = 1
	shm.SeqWriteEnd(&h.Seq)
}

// CounterBase returns the counters set by SetCounterBase.
func (h *Header) CounterBase() ThreadCounters {
	return ThreadCounters{h.BaseMinFlt, h.BaseMajFlt, h.BaseVolCS, h.BaseInvolCS}
}

// Finish records the end of the run.
func (b *Block) Finish(gcCycles, heapAllocs, stopReason uint64) {
	h := b.h
	shm.SeqWriteBegin(&h.Seq)
	h.GCCycles, h.HeapAllocs = gcCycles, heapAllocs
	h.StopReason = stopReason
	h.EndUnixNs = time.Now().UnixNano()
	atomic.StoreUint64(&h.State, StateDone)
	shm.SeqWriteEnd(&h.Seq)
}

// SetError records why the loop could not run, for the supervisor, and
// marks the block done. A message longer than the field ends in a note
// that says so (the worker prints the whole text on its stderr).
func (b *Block) SetError(msg string) {
	h := b.h
	shm.SeqWriteBegin(&h.Seq)
	putText((*[ErrorBytes]byte)(unsafe.Pointer(&h.Error))[:], msg)
	atomic.StoreUint64(&h.State, StateDone)
	shm.SeqWriteEnd(&h.Seq)
}

// SetWarnings records what could not be set up but was not required,
// one line each.
func (b *Block) SetWarnings(lines []string) {
	h := b.h
	text := ""
	for i, l := range lines {
		if i > 0 {
			text += "\n"
		}
		text += l
	}
	shm.SeqWriteBegin(&h.Seq)
	putText((*[WarningsBytes]byte)(unsafe.Pointer(&h.Warnings))[:], text)
	shm.SeqWriteEnd(&h.Seq)
}

// CutNote ends a text that did not fit its field.
const CutNote = " … [cut: full text on the worker's stderr]"

// putText stores s NUL-terminated in dst, cut on a UTF-8 boundary with a
// note when it does not fit.
func putText(dst []byte, s string) {
	clear(dst)
	if len(s) < len(dst) {
		copy(dst, s)
		return
	}
	n := len(dst) - 1 - len(CutNote)
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	copy(dst, s[:n])
	copy(dst[n:], CutNote)
}

// Snapshot is a consistent copy of a block.
type Snapshot struct {
	H    Header
	Hist []uint64 // the histogram words: HistogramUS bins, then the overflow count
	// Torn is set when no consistent copy could be had: the writer died in
	// the middle of an update. The copy may then be off by one cycle.
	Torn bool
}

// Snapshot copies the block into dst under its sequence counter. It
// never blocks the writer: it retries while an update is in progress, up
// to a bound, and marks the copy Torn if it never got a clean one.
// Concurrent calls are serialised.
func (b *Block) Snapshot(dst *Snapshot) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(dst.Hist) != len(b.histMem) {
		dst.Hist = make([]uint64, len(b.histMem))
	}
	for try := 0; ; try++ {
		s := shm.SeqReadBegin(&b.h.Seq)
		dst.H = *b.h
		copy(dst.Hist, b.histMem)
		if !shm.SeqReadRetry(&b.h.Seq, s) {
			dst.Torn = false
			return
		}
		if try >= 10000 {
			dst.Torn = true
			return
		}
		if try > 100 {
			time.Sleep(10 * time.Microsecond)
		}
	}
}

// Name is the loop's name.
func (s *Snapshot) Name() string { return cString((*[NameBytes]byte)(unsafe.Pointer(&s.H.Name))[:]) }

// Err is the error the loop reported instead of running, or "".
func (s *Snapshot) Err() string { return cString((*[ErrorBytes]byte)(unsafe.Pointer(&s.H.Error))[:]) }

// Warnings are the loop's set-up warnings, one per line, or "".
func (s *Snapshot) Warnings() string {
	return cString((*[WarningsBytes]byte)(unsafe.Pointer(&s.H.Warnings))[:])
}

// SetName stores the loop's name (up to NameBytes-1 bytes) in h.
func SetName(h *Header, name string) {
	b := (*[NameBytes]byte)(unsafe.Pointer(&h.Name))
	clear(b[:])
	copy(b[:NameBytes-1], name)
}

func cString(b []byte) string {
	n := 0
	for n < len(b) && b[n] != 0 {
		n++
	}
	return string(b[:n])
}
