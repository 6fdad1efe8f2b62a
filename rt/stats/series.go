package stats

import (
	"math"
	"math/bits"
)

// Series accumulates one per-cycle quantity in nanoseconds: count, signed
// min/max/last, an exact 128-bit sum (for the mean), the number of negative
// samples, and a log-linear histogram of |v| for percentiles.
//
// It is pointer-free and fixed-size (SizeofSeries bytes) so it can live in
// shared memory. Its zero value is empty and ready to use. One writer calls
// Record; a reader copies the whole struct (the coordinator's seqlock makes
// the copy consistent) and calls Summary or Quantile on the copy.
//
// Why it cannot overflow in a year-long run, or ever:
//   - Count: a year at 10 kHz is 365.25·86400·10^4 ≈ 3.16·10^11 < 2^39
//     samples; 2^64-1 samples at 10 kHz take ≈ 58 million years (≈ 585 000
//     years at 1 MHz). Even so Count saturates: at 2^64-1 it stops, Saturated
//     becomes 1 and later samples are dropped whole, so no field wraps.
//   - Sum: every |v| ≤ 2^63 and Count ≤ 2^64-1, so |Σv| ≤ (2^64-1)·2^63 <
//     2^127; a signed 128-bit accumulator (SumHi:SumLo) holds any reachable
//     sum exactly, and the mean is exact (truncated toward zero).
//   - Histogram buckets and Negative are each ≤ Count.
type Series struct {
	Count     uint64 // samples recorded
	Saturated uint64 // 1 once Count reached 2^64-1; later samples were dropped
	Min       int64  // smallest sample (signed); 0 while Count is 0
	Max       int64  // largest sample (signed); 0 while Count is 0
	Last      int64  // most recent sample
	SumHi     int64  // high word of the signed 128-bit sum of all samples
	SumLo     uint64 // low word of that sum
	Negative  uint64 // samples < 0 (for jitter: cycles that came early)
	Hist      LogHist
}

// Record adds one sample. It allocates nothing, has no loop and no
// division, and calls no function that could be a preemption point.
//
//go:nosplit
func (s *Series) Record(v int64) {
	if s.Count == math.MaxUint64 {
		s.Saturated = 1
		return
	}
	if s.Count == 0 {
		s.Min, s.Max = v, v
	} else if v < s.Min {
		s.Min = v
	} else if v > s.Max {
		s.Max = v
	}
	s.Count++
	s.Last = v
	var carry uint64
	s.SumLo, carry = bits.Add64(s.SumLo, uint64(v), 0)
	s.SumHi += v>>63 + int64(carry) // sign-extend v to 128 bits
	a := uint64(v)
	if v < 0 {
		a = -a // |MinInt64| = 2^63 as uint64: lands in the saturation bucket
		s.Negative++
	}
	s.Hist.Buckets[logIndex(a)]++
}

// Mean returns Σv/Count truncated toward zero (cyclictest truncates its
// average too), or 0 with no samples.
func (s *Series) Mean() int64 {
	if s.Count == 0 {
		return 0
	}
	hi, lo := uint64(s.SumHi), s.SumLo
	neg := s.SumHi < 0
	if neg {
		var b uint64
		lo, b = bits.Sub64(0, lo, 0)
		hi, _ = bits.Sub64(0, hi, b)
	}
	if hi >= s.Count {
		// Not reachable from Record (|Σ| ≤ Count·2^63); a torn or
		// corrupt copy. Saturate rather than panic in Div64.
		if neg {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, s.Count)
	if neg {
		return -int64(q) // q ≤ 2^63; -(2^63) is MinInt64
	}
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}

// uabs returns |v| as uint64 (2^63 for MinInt64).
func uabs(v int64) uint64 {
	if v < 0 {
		return -uint64(v)
	}
	return uint64(v)
}

// absRange returns the exact smallest and largest |v| recorded, as far as
// they follow from the signed Min and Max: when samples of both signs were
// seen the smallest |v| is unknown and 0 is returned for it.
func (s *Series) absRange() (lo, hi uint64) {
	hi = max(uabs(s.Min), uabs(s.Max))
	switch {
	case s.Min >= 0:
		lo = uint64(s.Min)
	case s.Max <= 0:
		lo = uabs(s.Max)
	}
	return lo, hi
}

// Quantile is a quantile in parts per million: P99 = 990000. Integers keep
// the rank computation exact (0.99·100 in float64 is not reliably 99).
type Quantile uint32

// The quantiles in a Summary.
const (
	P50   Quantile = 500_000
	P90   Quantile = 900_000
	P99   Quantile = 990_000
	P999  Quantile = 999_000
	P9999 Quantile = 999_900
	P100  Quantile = 1_000_000
)

// rank returns the nearest rank ceil(q·n/10^6), at least 1, computed
// exactly in 128 bits.
func rank(q Quantile, n uint64) uint64 {
	if q > P100 {
		q = P100
	}
	hi, lo := bits.Mul64(n, uint64(q))
	r, rem := bits.Div64(hi, lo, uint64(P100)) // hi < 10^6: no panic
	if rem != 0 {
		r++
	}
	return max(r, 1)
}

// Quantile returns the q-quantile of |v| by the nearest-rank rule: with N
// samples, it is the smallest recorded value x such that at least
// ceil(q·N) samples are ≤ x. See Summary for the accuracy.
func (s *Series) Quantile(q Quantile) int64 {
	var out [1]int64
	s.quantiles([]Quantile{q}, out[:])
	return out[0]
}

// quantiles fills out[i] with the qs[i]-quantile; qs must be ascending. It
// makes two passes over the buckets and allocates nothing.
func (s *Series) quantiles(qs []Quantile, out []int64) {
	n := s.Hist.Total()
	if n == 0 {
		clear(out)
		return
	}
	amin, amax := s.absRange()
	var cum uint64
	b := 0
	for i, q := range qs {
		r := rank(q, n)
		for b < LogBuckets-1 && cum+s.Hist.Buckets[b] < r {
			cum += s.Hist.Buckets[b]
			b++
		}
		var v uint64
		switch {
		case r == n:
			v = amax // the largest value: exact
		case r == 1 && amin != 0:
			v = amin // the smallest value: exact
		default:
			lo, hi := LogBucketBounds(b)
			// The answer is a recorded value: it lies in the bucket and
			// in [amin, amax]. Report the middle of that intersection.
			if clo, chi := max(lo, amin), min(hi, amax); clo <= chi {
				lo, hi = clo, chi
			}
			v = lo + (hi-lo)/2
		}
		out[i] = int64(min(v, math.MaxInt64))
	}
}

// Summary is the digest of one Series, in nanoseconds.
//
// Min, Max and Avg are exact and signed. P50…P9999 are percentiles of |v|
// by the nearest-rank rule (pQ is the smallest recorded x with
// count(|v| ≤ x) ≥ ceil(Q·N)). For wake latency and execution time, which
// are never negative, that is the plain percentile. For period jitter it is
// the percentile of the jitter's magnitude: "99 % of cycles started within
// ±P99 ns of their nominal interval"; the sign shows in Min/Max and in
// Series.Negative.
//
// Accuracy: values up to 255 ns are exact; up to 2^40 ns (≈ 18 min) a
// percentile is within 1/256 (0.4 %) of the exact nearest-rank value, well
// inside 1 %; the largest rank (p100, or pQ when ceil(Q·N) = N) is exactly
// Max. Beyond 2^40 ns values share one bucket and only Min/Max stay exact.
//
// With no samples every field is 0.
type Summary struct {
	Min, Avg, P50, P90, P99, P999, P9999, Max int64
	Count                                     uint64
}

// Summary computes the digest. Call it on a reader's copy: it walks the
// histogram (≈ 4 k buckets, a few µs).
func (s *Series) Summary() Summary {
	if s.Count == 0 {
		return Summary{}
	}
	var p [5]int64
	s.quantiles([]Quantile{P50, P90, P99, P999, P9999}, p[:])
	return Summary{
		Min: s.Min, Avg: s.Mean(), Max: s.Max, Count: s.Count,
		P50: p[0], P90: p[1], P99: p[2], P999: p[3], P9999: p[4],
	}
}
