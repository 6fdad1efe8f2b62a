package stats

import (
	"math"
	"math/big"
	"math/bits"
	"slices"
	"testing"
)

func seriesOf(vs ...int64) *Series {
	s := new(Series)
	for _, v := range vs {
		s.Record(v)
	}
	return s
}

func repeat(v int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func seq(from, to int64) []int64 {
	var out []int64
	for v := from; v <= to; v++ {
		out = append(out, v)
	}
	return out
}

// exactQuantile is the reference: nearest rank on the sorted |v|.
func exactQuantile(vs []int64, q Quantile) int64 {
	abs := make([]uint64, len(vs))
	for i, v := range vs {
		abs[i] = uabs(v)
	}
	slices.Sort(abs)
	r := rank(q, uint64(len(abs)))
	return int64(min(abs[r-1], math.MaxInt64))
}

func TestSummaryZeroSamples(t *testing.T) {
	var s Series
	if got := s.Summary(); got != (Summary{}) {
		t.Errorf("empty Summary = %+v, want all zero", got)
	}
	if s.Quantile(P99) != 0 || s.Mean() != 0 {
		t.Error("empty series gave a non-zero quantile or mean")
	}
}

func TestRank(t *testing.T) {
	for _, c := range []struct {
		name string
		q    Quantile
		n    uint64
		want uint64
	}{
		{"N=1 p50", P50, 1, 1},
		{"N=1 p0", 0, 1, 1},
		{"N=100 p99 is rank 99", P99, 100, 99},
		{"N=100 p99.9 rounds up to 100", P999, 100, 100},
		{"N=100 p50", P50, 100, 50},
		{"N=101 p50 rounds up", P50, 101, 51},
		{"N=10000 p99.99 is rank 9999", P9999, 10000, 9999},
		{"N=10001 p99.99 is rank 10000", P9999, 10001, 10000},
		{"N=9999 p99.99 is the max", P9999, 9999, 9999},
		{"p100", P100, 7, 7},
		{"above p100 clamps", P100 + 5, 7, 7},
		{"huge N exact", P50, math.MaxUint64, 1 << 63},
		{"huge N p99.99", P9999, math.MaxUint64, 18444899399302180660},
	} {
		if got := rank(c.q, c.n); got != c.want {
			t.Errorf("%s: rank(%d, %d) = %d, want %d", c.name, c.q, c.n, got, c.want)
		}
	}
}

func TestQuantileBoundaries(t *testing.T) {
	for _, c := range []struct {
		name string
		vs   []int64
		q    Quantile
		want int64
	}{
		{"N=1", []int64{42}, P50, 42},
		{"N=1 p99.99", []int64{42}, P9999, 42},
		{"N=100 p99 is the 99th", seq(1, 100), P99, 99},
		{"N=100 p90", seq(1, 100), P90, 90},
		{"N=100 p99.9 is the max", seq(1, 100), P999, 100},
		{"N=10000 p99.99 is rank 9999", append(repeat(0, 9998), 7, 200), P9999, 7},
		{"N=10000 p100 is rank 10000", append(repeat(0, 9998), 7, 200), P100, 200},
		{"N=9999 p99.99 is the max", append(repeat(0, 9997), 7, 200), P9999, 200},
		{"ties", repeat(100, 1000), P99, 100},
		{"ties p50", append(repeat(5, 50), repeat(6, 50)...), P50, 5},
		{"just past the tie", append(repeat(5, 50), repeat(6, 51)...), P50, 6},
		// All in one 4-wide bucket [1000, 1003]: rank 2 of 4 is 1001,
		// estimated as the middle of [min, max] = 1001.
		{"one bucket p50", []int64{1000, 1001, 1002, 1003}, P50, 1001},
		{"one bucket min is exact", []int64{1000, 1001, 1002, 1003}, 1, 1000},
		{"one bucket max is exact", []int64{1000, 1001, 1002, 1003}, P100, 1003},
		{"edge 255 exact", []int64{255, 255, 256}, P50, 255},
		{"edge 256 pair", []int64{255, 256, 256, 257}, P50, 256},
		{"edge 511/512", []int64{511, 512, 512, 512}, P50, 512},
		{"max rank is exact max", []int64{1e6, 1e9 + 12345}, P99, 1e9 + 12345},
		{"saturated max is exact", []int64{1, LogLimitNs * 3}, P100, LogLimitNs * 3},
		{"negative counts as magnitude", []int64{-300, 10, 20}, P100, 300},
		{"MinInt64 magnitude saturates", []int64{math.MinInt64, 0}, P100, math.MaxInt64},
	} {
		s := seriesOf(c.vs...)
		got := s.Quantile(c.q)
		if got != c.want {
			t.Errorf("%s: Quantile(%d) = %d, want %d", c.name, c.q, got, c.want)
		}
		if ref := exactQuantile(c.vs, c.q); ref != c.want {
			t.Errorf("%s: test table disagrees with the reference %d", c.name, ref)
		}
	}
}

func TestQuantileWithinOnePercentLarge(t *testing.T) {
	var vs []int64
	for v := int64(1000); v < LogLimitNs; v = v*21/20 + 3 {
		vs = append(vs, v)
	}
	s := seriesOf(vs...)
	for q := Quantile(0); q <= P100; q += 1000 {
		got, want := s.Quantile(q), exactQuantile(vs, q)
		if d := got - want; d*100 > want || -d*100 > want {
			t.Fatalf("Quantile(%d) = %d, exact %d: off by more than 1 %%", q, got, want)
		}
	}
}

func TestSummarySignedJitter(t *testing.T) {
	s := seriesOf(-50, -10, 0, 10, 20, 30, 40)
	got := s.Summary()
	want := Summary{Min: -50, Avg: 5, P50: 20, P90: 50, P99: 50, P999: 50, P9999: 50, Max: 40, Count: 7}
	if got != want {
		t.Errorf("Summary = %+v, want %+v", got, want)
	}
	if s.Negative != 2 || s.Last != 40 {
		t.Errorf("Negative = %d, Last = %d, want 2, 40", s.Negative, s.Last)
	}
	// Mean truncates toward zero, both ways.
	if m := seriesOf(-1, -2).Mean(); m != -1 {
		t.Errorf("mean of -1,-2 = %d, want -1", m)
	}
	if m := seriesOf(1, 2).Mean(); m != 1 {
		t.Errorf("mean of 1,2 = %d, want 1", m)
	}
}

func TestCountersNearLimits(t *testing.T) {
	for _, c := range []struct {
		name     string
		setup    func(*Series)
		vs       []int64
		count    uint64
		sat      uint64
		mean     int64
		min, max int64
	}{
		{
			name:  "sum beyond int64 does not wrap",
			vs:    repeat(math.MaxInt64, 1000),
			count: 1000, mean: math.MaxInt64, min: math.MaxInt64, max: math.MaxInt64,
		},
		{
			name:  "negative sum beyond int64 does not wrap",
			vs:    repeat(math.MinInt64, 1000),
			count: 1000, mean: math.MinInt64, min: math.MinInt64, max: math.MinInt64,
		},
		{
			name:  "extremes cancel",
			vs:    []int64{math.MaxInt64, math.MinInt64},
			count: 2, mean: 0, min: math.MinInt64, max: math.MaxInt64,
		},
		{
			name: "count near 2^64 with a sum near 2^127",
			setup: func(s *Series) {
				s.Count = math.MaxUint64 - 3
				hi, lo := bits.Mul64(s.Count, math.MaxInt64)
				s.SumHi, s.SumLo = int64(hi), lo
				s.Min, s.Max = math.MaxInt64, math.MaxInt64
			},
			vs:    repeat(math.MaxInt64, 3),
			count: math.MaxUint64, mean: math.MaxInt64, min: math.MaxInt64, max: math.MaxInt64,
		},
		{
			name: "count saturates instead of wrapping",
			setup: func(s *Series) {
				s.Count = math.MaxUint64 - 1
				s.Min, s.Max = 5, 5
				hi, lo := bits.Mul64(s.Count, 5)
				s.SumHi, s.SumLo = int64(hi), lo
			},
			vs:    []int64{5, 1_000_000, -7},
			count: math.MaxUint64, sat: 1, mean: 5, min: 5, max: 5,
		},
	} {
		var s Series
		if c.setup != nil {
			c.setup(&s)
		}
		for _, v := range c.vs {
			s.Record(v)
		}
		if s.Count != c.count || s.Saturated != c.sat || s.Mean() != c.mean || s.Min != c.min || s.Max != c.max {
			t.Errorf("%s: count=%d sat=%d mean=%d min=%d max=%d, want %d %d %d %d %d",
				c.name, s.Count, s.Saturated, s.Mean(), s.Min, s.Max, c.count, c.sat, c.mean, c.min, c.max)
		}
	}
}

func TestMeanCorruptCopy(t *testing.T) {
	// |Σ| ≥ Count·2^64 cannot come from Record; a torn copy must not panic.
	s := Series{Count: 2, SumHi: 5}
	if m := s.Mean(); m != math.MaxInt64 {
		t.Errorf("mean = %d, want MaxInt64", m)
	}
	s.SumHi = -5
	if m := s.Mean(); m != math.MinInt64 {
		t.Errorf("mean = %d, want MinInt64", m)
	}
	// Buckets that disagree with Count: quantiles still answer.
	s = Series{Count: 10, Min: 1, Max: 9}
	s.Hist.Buckets[3] = 1
	if q := s.Quantile(P99); q != 9 {
		t.Errorf("quantile of inconsistent copy = %d, want the max 9", q)
	}
}

func TestSeriesRecordAllocatesNothing(t *testing.T) {
	var s Series
	if n := testing.AllocsPerRun(1000, func() { s.Record(12345) }); n != 0 {
		t.Errorf("Record allocates %v per call", n)
	}
	if n := testing.AllocsPerRun(10, func() { _ = s.Summary() }); n != 0 {
		t.Errorf("Summary allocates %v per call", n)
	}
}

// FuzzQuantiles checks every Summary figure against an exact computation on
// the sorted samples: Min, Max and Avg exactly, percentiles within 1 %
// (exactly when the value is ≤ 255 ns).
func FuzzQuantiles(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5}, uint32(990_000))
	f.Add([]byte("\xff\xff\xff\xff\x7f\x00\x00\x00\x01"), uint32(999_900))
	f.Add([]byte("latency samples of a noisy loop with a few outliers"), uint32(500_000))
	f.Fuzz(func(t *testing.T, data []byte, qRaw uint32) {
		// Decode 5-byte groups: a signed 40-bit value scaled by a shift
		// so that both tiny and huge values occur.
		var vs []int64
		for len(data) >= 5 {
			u := uint64(data[0]) | uint64(data[1])<<8 | uint64(data[2])<<16 | uint64(data[3])<<24
			shift := data[4] % 16
			v := int64(u << shift >> 12) // up to ~2^39
			if data[4]&0x80 != 0 {
				v = -v
			}
			vs = append(vs, v)
			data = data[5:]
		}
		if len(vs) == 0 {
			return
		}
		s := seriesOf(vs...)
		sum := new(big.Int)
		for _, v := range vs {
			sum.Add(sum, big.NewInt(v))
		}
		sum.Quo(sum, big.NewInt(int64(len(vs))))
		got := s.Summary()
		if got.Min != slices.Min(vs) || got.Max != slices.Max(vs) || got.Avg != sum.Int64() || got.Count != uint64(len(vs)) {
			t.Fatalf("summary %+v; want min %d max %d avg %d n %d", got, slices.Min(vs), slices.Max(vs), sum.Int64(), len(vs))
		}
		qs := []Quantile{P50, P90, P99, P999, P9999, Quantile(qRaw % 1_000_001)}
		ests := []int64{got.P50, got.P90, got.P99, got.P999, got.P9999, s.Quantile(qs[5])}
		abs := make([]uint64, len(vs))
		for i, v := range vs {
			abs[i] = uabs(v)
		}
		slices.Sort(abs)
		for i, q := range qs {
			want, est := int64(min(abs[rank(q, uint64(len(abs)))-1], math.MaxInt64)), ests[i]
			if want <= LogMaxExact && est != want {
				t.Fatalf("q=%d: %d, exact %d (must be exact below 256)", q, est, want)
			}
			if d := est - want; d*100 > want || -d*100 > want {
				t.Fatalf("q=%d: %d, exact %d: more than 1 %% off", q, est, want)
			}
		}
	})
}
