package metrics

import (
	"math"
	"math/bits"

	"github.com/rtcell/rtcell/rt/stats"
)

// latencyBucketsUS are the upper bounds, in µs, of the wake-latency
// histogram's buckets (the +Inf bucket follows). The set is fixed, the
// same for every task and every histogram range, so that
// histogram_quantile over `sum by (le)` across tasks and boxes is valid.
var latencyBucketsUS = [...]int64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000}

// leLabels are the le label values of latencyBucketsUS, in seconds.
var leLabels = func() (s [len(latencyBucketsUS)]string) {
	for i, us := range latencyBucketsUS {
		s[i] = formatFloat(float64(us) / 1e6)
	}
	return s
}()

// latencyBuckets fills out[i] with the number of cycles whose wake latency
// was below latencyBucketsUS[i] µs, and returns the total (the +Inf
// bucket).
//
// hist is the task's 1 µs histogram (bin k counts latencies in [k, k+1)
// µs, cyclictest's truncation; negative latencies are in bin 0) and
// overflow the count of latencies at or beyond len(hist) µs. Up to the
// histogram's range the counts are exact: bins 0..B-1 are the latencies
// below B µs. (So a latency of exactly B µs, to the nanosecond, falls in
// the next bucket, where Prometheus' le would count it in this one.)
//
// Beyond the range, the 1 µs histogram only has the overflow count, so the
// counts come from the latency series' log-linear histogram instead: the
// log buckets whose largest value is below the bound. That count is at
// most one log bucket (1/128 of the bound) short of the exact one. Counts
// are kept non-decreasing and at most the total, even for a torn copy.
func latencyBuckets(hist []uint64, overflow uint64, lat *stats.Series, out *[len(latencyBucketsUS)]uint64) (total uint64) {
	total = overflow
	for _, c := range hist {
		total += c
	}
	var cum uint64 // bins summed so far
	next := 0      // first bin not yet in cum
	// Log buckets walked so far, for bounds beyond the 1 µs range.
	var logCum uint64
	logNext := 0
	var prev uint64
	for i, us := range latencyBucketsUS {
		var n uint64
		if us <= int64(len(hist)) {
			for ; next < int(us); next++ {
				cum += hist[next]
			}
			n = cum
		} else {
			boundNs := uint64(us) * 1000
			for logNext < stats.LogBuckets {
				_, hi := stats.LogBucketBounds(logNext)
				if hi >= boundNs {
					break
				}
				logCum += lat.Hist.Buckets[logNext]
				logNext++
			}
			n = logCum
		}
		n = min(max(n, prev), total)
		out[i], prev = n, n
	}
	return total
}

// sumSeconds returns the exact 128-bit sum of a series, in seconds.
func sumSeconds(s *stats.Series) float64 {
	hi, lo := s.SumHi, s.SumLo
	neg := hi < 0
	uhi := uint64(hi)
	if neg { // negate the 128-bit two's complement value
		var b uint64
		lo, b = bits.Sub64(0, lo, 0)
		uhi, _ = bits.Sub64(0, uhi, b)
	}
	v := (float64(uhi)*math.Exp2(64) + float64(lo)) / 1e9
	if neg {
		return -v
	}
	return v
}
