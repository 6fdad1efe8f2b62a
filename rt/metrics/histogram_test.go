package metrics

import (
	"math"
	"math/big"
	"testing"

	"github.com/rtcell/rtcell/rt/stats"
)

// record builds what a loop would publish for these latencies: the 1 µs
// histogram of rangeUS bins and the latency series.
func record(t *testing.T, rangeUS int, lats []int64) (hist []uint64, overflow uint64, s *stats.Series) {
	t.Helper()
	mem := make([]uint64, stats.HistogramWords(rangeUS))
	h, err := stats.NewHistogram(mem)
	if err != nil {
		t.Fatal(err)
	}
	s = new(stats.Series)
	for _, l := range lats {
		h.Record(l)
		s.Record(l)
	}
	return mem[:rangeUS], h.Overflow(), s
}

func countBelow(lats []int64, ns float64) uint64 {
	var n uint64
	for _, l := range lats {
		if float64(l) < ns {
			n++
		}
	}
	return n
}

func spread(from, to, step int64) []int64 {
	var v []int64
	for x := from; x < to; x += step {
		v = append(v, x)
	}
	return v
}

func TestLatencyBuckets(t *testing.T) {
	cases := []struct {
		name    string
		rangeUS int
		lats    []int64
		// exact: every bucket must equal the count below its bound, also
		// beyond the 1 µs range (the data keep clear of the bounds).
		exact bool
	}{
		{name: "empty", rangeUS: 1000, exact: true},
		{name: "sub-µs", rangeUS: 1000, lats: []int64{0, 1, 999}, exact: true},
		{name: "exact µs boundaries", rangeUS: 1000, lats: []int64{1000, 1999, 2000, 5000, 9999, 10_000}, exact: true},
		{name: "negative latency", rangeUS: 1000, lats: []int64{-5000, -1, 3000}, exact: true},
		{name: "spread within range", rangeUS: 1000, lats: spread(0, 1_000_000, 777), exact: true},
		{name: "beyond range, clear of bounds", rangeUS: 1000, lats: []int64{1_500_000, 3_000_000, 7_000_000, 50_000_000, 999_000}, exact: true},
		{name: "beyond range, on bounds", rangeUS: 1000, lats: []int64{1_999_999, 2_000_000, 4_990_000, 5_000_000, 9_999_999, 10_000_000}},
		{name: "spread across range", rangeUS: 1000, lats: spread(0, 20_000_000, 4_567)},
		{name: "small range", rangeUS: 10, lats: spread(0, 3_000_000, 1_013)},
		{name: "range just below a bound", rangeUS: 1999, lats: spread(1_900_000, 2_100_000, 97)},
		{name: "one bin", rangeUS: 1, lats: []int64{0, 500, 1000, 1_000_000}},
		{name: "huge", rangeUS: 1000, lats: []int64{math.MaxInt64, 1 << 40, 1 << 50}, exact: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hist, over, s := record(t, c.rangeUS, c.lats)
			var got [len(latencyBucketsUS)]uint64
			total := latencyBuckets(hist, over, s, &got)
			if total != uint64(len(c.lats)) {
				t.Fatalf("total %d, want %d", total, len(c.lats))
			}
			var prev uint64
			for i, us := range latencyBucketsUS {
				bound := float64(us) * 1000
				upper := countBelow(c.lats, bound)
				lower := upper
				if us > int64(c.rangeUS) && !c.exact {
					lower = countBelow(c.lats, bound-bound/128)
				}
				if got[i] < lower || got[i] > upper {
					t.Errorf("le=%d µs: %d, want %d–%d (latencies below the bound)", us, got[i], lower, upper)
				}
				if got[i] < prev {
					t.Errorf("le=%d µs: %d below the previous bucket %d", us, got[i], prev)
				}
				prev = got[i]
			}
		})
	}
}

// TestLatencyBucketsTorn: a copy whose series and histogram disagree (a
// writer that died mid-update) still gives valid buckets.
func TestLatencyBucketsTorn(t *testing.T) {
	hist, over, s := record(t, 100, []int64{50_000, 60_000})
	s.Record(500_000) // in the series, not in the histogram
	s.Record(700_000)
	var got [len(latencyBucketsUS)]uint64
	total := latencyBuckets(hist, over, s, &got)
	if total != 2 {
		t.Fatalf("total %d, want 2", total)
	}
	for i, n := range got {
		if n > total || (i > 0 && n < got[i-1]) {
			t.Fatalf("buckets %v not monotonic within the total %d", got, total)
		}
	}
}

func TestSumSeconds(t *testing.T) {
	cases := []struct {
		name string
		vals []int64
	}{
		{"empty", nil},
		{"small", []int64{1, 2, 3}},
		{"negative", []int64{-5, -7, 3}},
		{"beyond 64 bits", []int64{math.MaxInt64, math.MaxInt64, math.MaxInt64}},
		{"negative beyond 64 bits", []int64{math.MinInt64, math.MinInt64, -1}},
		{"mixed", []int64{math.MaxInt64, math.MinInt64, 12_345}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s stats.Series
			exact := new(big.Int)
			for _, v := range c.vals {
				s.Record(v)
				exact.Add(exact, big.NewInt(v))
			}
			want, _ := new(big.Float).Quo(new(big.Float).SetInt(exact), big.NewFloat(1e9)).Float64()
			got := sumSeconds(&s)
			if math.Abs(got-want) > math.Abs(want)*1e-15 {
				t.Errorf("sumSeconds = %v, want %v", got, want)
			}
		})
	}
}
