package stats

import (
	"fmt"
	"math"
)

// WindowSlots is how many closed windows a Windows ring keeps: an hour of
// 1 s windows.
const WindowSlots = 3600

// DefaultWindowNs is the window length a zero Windows starts with: 1 s.
const DefaultWindowNs = 1_000_000_000

// WindowSlot is one closed window in the ring.
type WindowSlot struct {
	MaxNs   int64  // largest latency in the window; 0 when Samples is 0
	Samples uint64 // cycles recorded in the window; 0 = no sample (a stall)
}

// WindowMax is one window as a reader sees it.
type WindowMax struct {
	StartNs int64  // CLOCK_MONOTONIC start of the window
	MaxNs   int64  // largest latency in the window; 0 when Samples is 0
	Samples uint64 // cycles recorded; 0 means no cycle ran in the window
}

// Windows records the maximum latency per fixed time window in a ring of
// the last WindowSlots windows, plus the running maximum of the current
// window. Pointer-free, fixed-size, so it can live in shared memory.
//
// Windows are [OriginNs + k·WindowNs, OriginNs + (k+1)·WindowNs), cut on the
// time passed to Record. A window in which no cycle was recorded (the loop
// stalled for longer than a window) is kept as Samples = 0, MaxNs = 0: "no
// sample", never confused with a latency of 0, which has Samples > 0. A
// time before the current window's start (the clock is monotonic, so only
// a caller mistake) is counted in the current window.
//
// The zero value is usable: the first Record opens a DefaultWindowNs window
// at its time. Init chooses the length and origin.
type Windows struct {
	WindowNs   int64  // window length
	OriginNs   int64  // start of window 0
	CurStartNs int64  // start of the current (open) window
	CurEndNs   int64  // its end (exclusive)
	CurMaxNs   int64  // its running maximum; 0 when CurSamples is 0
	CurSamples uint64 // samples in it
	NClosed    uint64 // windows closed so far; window k is in Ring[k%WindowSlots]
	Ring       [WindowSlots]WindowSlot
}

// Init clears w and starts window 0 at startNs with length windowNs.
func (w *Windows) Init(windowNs, startNs int64) error {
	if windowNs <= 0 {
		return fmt.Errorf("setting the max-latency window to %d ns: it must be positive, e.g. 1e9 for 1 s: %w", windowNs, ErrInvalid)
	}
	*w = Windows{WindowNs: windowNs, OriginNs: startNs, CurStartNs: startNs, CurEndNs: satAdd(startNs, windowNs)}
	return nil
}

func satAdd(a, b int64) int64 { // b > 0
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// Record counts a latency at time atNs. Inside the current window it is a
// compare and two stores; crossing a window boundary (once per window)
// closes the window, and any empty windows in between, in a separate
// function.
//
//go:nosplit
func (w *Windows) Record(atNs, latencyNs int64) {
	if atNs < w.CurEndNs {
		if w.CurSamples == 0 || latencyNs > w.CurMaxNs {
			w.CurMaxNs = latencyNs
		}
		w.CurSamples++
		return
	}
	w.advance(atNs, latencyNs)
}

//go:nosplit
func (w *Windows) advance(atNs, latencyNs int64) {
	switch {
	case w.WindowNs <= 0: // zero value: open the first window here
		w.WindowNs, w.OriginNs, w.CurStartNs = DefaultWindowNs, atNs, atNs
		w.CurEndNs = satAdd(atNs, DefaultWindowNs)
	case w.CurEndNs == math.MaxInt64:
		// The clock reached the end of int64; stay in the last window.
	default:
		w.push(WindowSlot{MaxNs: w.CurMaxNs, Samples: w.CurSamples})
		// Empty windows between the closed one and the one holding atNs.
		// The difference fits in uint64 because atNs ≥ CurEndNs.
		gap := (uint64(atNs) - uint64(w.CurEndNs)) / uint64(w.WindowNs)
		if gap >= WindowSlots {
			clear(w.Ring[:]) // every kept slot is an empty window now
			w.NClosed += gap
		} else {
			for range gap {
				w.push(WindowSlot{})
			}
		}
		w.CurStartNs = w.CurEndNs + int64(gap)*w.WindowNs // ≤ atNs: no overflow
		w.CurEndNs = satAdd(w.CurStartNs, w.WindowNs)
		w.CurMaxNs, w.CurSamples = 0, 0
	}
	if w.CurSamples == 0 || latencyNs > w.CurMaxNs {
		w.CurMaxNs = latencyNs
	}
	w.CurSamples++
}

func (w *Windows) push(s WindowSlot) {
	w.Ring[w.NClosed%WindowSlots] = s
	w.NClosed++
}

// Current returns the open window and its running maximum.
func (w *Windows) Current() WindowMax {
	return WindowMax{StartNs: w.CurStartNs, MaxNs: w.CurMaxNs, Samples: w.CurSamples}
}

// History appends the closed windows still in the ring to dst, oldest
// first (at most WindowSlots), and returns it. Call it on a copy.
func (w *Windows) History(dst []WindowMax) []WindowMax {
	n := min(w.NClosed, WindowSlots)
	for k := w.NClosed - n; k < w.NClosed; k++ {
		s := w.Ring[k%WindowSlots]
		dst = append(dst, WindowMax{StartNs: w.OriginNs + int64(k)*w.WindowNs, MaxNs: s.MaxNs, Samples: s.Samples})
	}
	return dst
}
