package stats

import "fmt"

// HistogramWords returns the number of uint64 words a Histogram with the
// given number of 1 µs bins needs: the bins, then the overflow count.
func HistogramWords(bins int) int { return bins + 1 }

// Histogram is cyclictest's -h histogram: bins of 1 µs from 0 to N-1 µs and
// an overflow count. It is a small view over caller-provided memory (for
// example a slice of a shared-memory mapping), laid out as N bin counts
// followed by the overflow count, HistogramWords(N) words in all. The view
// itself holds a slice and a pointer and must not be put in shared memory;
// every process builds its own view over the same words.
//
// The zero Histogram has no bins and ignores Record, like cyclictest
// without -h.
type Histogram struct {
	bins []uint64
	over *uint64
}

// NewHistogram returns a view over mem: len(mem)-1 bins and the overflow
// count in the last word. It does not clear mem, so a reader can attach to
// a live histogram; a writer starting a run clears it (Reset).
func NewHistogram(mem []uint64) (Histogram, error) {
	if len(mem) < 2 {
		return Histogram{}, fmt.Errorf("making a histogram over %d words: need at least HistogramWords(1) = 2 (one 1 µs bin and the overflow count): %w", len(mem), ErrInvalid)
	}
	n := len(mem) - 1
	return Histogram{bins: mem[:n:n], over: &mem[n]}, nil
}

// Record counts one latency. The bin is latencyNs/1000 truncated, as
// cyclictest truncates its µs latency; negative latencies (a clock read
// before the programmed expiry) count in bin 0. A latency of N µs or more
// goes to the overflow count and Record returns true, so the caller can log
// the cycle number (see OverflowLog). Allocation-free; the division by the
// constant 1000 compiles to a multiply.
//
//go:nosplit
func (h Histogram) Record(latencyNs int64) (overflow bool) {
	var us uint64
	if latencyNs > 0 {
		us = uint64(latencyNs) / 1000
	}
	if us < uint64(len(h.bins)) {
		h.bins[us]++
		return false
	}
	if h.over == nil {
		return false
	}
	*h.over++
	return true
}

// Bins returns the number of 1 µs bins (cyclictest's -h N).
func (h Histogram) Bins() int { return len(h.bins) }

// Bin returns the count of bin us (latencies in [us, us+1) µs), 0 when out
// of range.
func (h Histogram) Bin(us int) uint64 {
	if us < 0 || us >= len(h.bins) {
		return 0
	}
	return h.bins[us]
}

// Overflow returns the number of latencies of Bins() µs or more.
func (h Histogram) Overflow() uint64 {
	if h.over == nil {
		return 0
	}
	return *h.over
}

// Total returns the bin counts plus the overflow count.
func (h Histogram) Total() uint64 {
	n := h.Overflow()
	for _, c := range h.bins {
		n += c
	}
	return n
}

// Reset clears the bins and the overflow count.
func (h Histogram) Reset() {
	clear(h.bins)
	if h.over != nil {
		*h.over = 0
	}
}

// CopyTo copies the counts into dst, which must have as many bins, and
// reports whether it did. A reader uses it to take a snapshot under the
// coordinator's seqlock.
func (h Histogram) CopyTo(dst Histogram) bool {
	if len(dst.bins) != len(h.bins) || dst.over == nil || h.over == nil {
		return false
	}
	copy(dst.bins, h.bins)
	*dst.over = *h.over
	return true
}

// OverflowCycles is how many overflow cycle numbers an OverflowLog keeps.
// cyclictest keeps up to -h N of them; a fixed count keeps the state
// fixed-size.
const OverflowCycles = 64

// OverflowLog records the cycle numbers of the first OverflowCycles
// histogram overflows and the total, for cyclictest's
// "# Histogram Overflow at cycle number:" line (which prints the kept
// numbers, then "# NNNNN others"). Pointer-free, fixed-size, zero value
// empty.
type OverflowLog struct {
	Total  uint64                 // overflows seen
	Cycles [OverflowCycles]uint64 // cycle numbers of the first min(Total, OverflowCycles)
}

// Add logs one overflow at the given cycle number. cyclictest numbers
// cycles from 0.
//
//go:nosplit
func (o *OverflowLog) Add(cycle uint64) {
	if o.Total < OverflowCycles {
		o.Cycles[o.Total] = cycle
	}
	o.Total++
}

// Kept returns the logged cycle numbers, oldest first (a sub-slice of the
// receiver's array: copy the log first if the writer is live).
func (o *OverflowLog) Kept() []uint64 {
	return o.Cycles[:min(o.Total, OverflowCycles)]
}

// Others returns how many overflows were counted but not logged.
func (o *OverflowLog) Others() uint64 {
	return o.Total - uint64(len(o.Kept()))
}
