package stats

import "math/bits"

// Log-linear ("HDR") histogram geometry.
//
// Values 0..255 ns each have their own bucket (exact). Above that, every
// power-of-two range [2^e, 2^(e+1)) is split into 128 equal buckets, so a
// bucket's width is at most 1/128 of any value in it. Values of 2^40 ns
// (≈ 18.3 min) and more share the last bucket (saturation).
const (
	// LogSubBits is the sub-bucket precision: 2^7 = 128 buckets per octave.
	LogSubBits = 7
	// LogMaxExact is the largest value that has a bucket of width 1.
	LogMaxExact = 1<<(LogSubBits+1) - 1 // 255
	// LogLimitNs is the first value that lands in the saturation bucket.
	LogLimitNs = 1 << 40
	// LogBuckets is the number of buckets, the saturation bucket included.
	LogBuckets = (40-LogSubBits+1)<<LogSubBits + 1 // 4352 regular + 1 saturation = 4353
)

// LogHist is a log-linear histogram of non-negative nanosecond values. It is
// pointer-free and fixed-size so it can live in shared memory; its zero value
// is empty. One writer calls Record; readers copy it (under the caller's
// seqlock) and query the copy.
type LogHist struct {
	Buckets [LogBuckets]uint64
}

// logIndex maps a value to its bucket. Branch-free apart from the
// saturation test: shift is 0 for v < 256, otherwise Len64(v)-8, and the
// index is shift*128 + (v >> shift).
func logIndex(v uint64) int {
	if v >= LogLimitNs {
		return LogBuckets - 1
	}
	shift := uint(bits.Len64(v|LogMaxExact)) - (LogSubBits + 1)
	return int(shift<<LogSubBits + uint(v>>shift))
}

// LogBucketBounds returns the smallest and largest value that land in
// bucket i. The saturation bucket's upper bound is math.MaxInt64.
func LogBucketBounds(i int) (lo, hi uint64) {
	switch {
	case i < 0:
		return 0, 0
	case i <= LogMaxExact:
		return uint64(i), uint64(i)
	case i >= LogBuckets-1:
		return LogLimitNs, 1<<63 - 1
	}
	shift := uint(i>>LogSubBits) - 1
	m := uint64(i) - uint64(shift)<<LogSubBits // in [128, 256)
	lo = m << shift
	return lo, lo + 1<<shift - 1
}

// Record adds one value. Negative values count as 0. It allocates nothing
// and has no preemption point (a leaf function without a stack check).
//
//go:nosplit
func (h *LogHist) Record(v int64) {
	if v < 0 {
		v = 0
	}
	h.Buckets[logIndex(uint64(v))]++
}

// Total returns the number of recorded values (the sum of all buckets). It
// walks the buckets: use it on a reader's copy, not in the loop.
func (h *LogHist) Total() uint64 {
	var n uint64
	for _, c := range h.Buckets {
		n += c
	}
	return n
}
