package stats

import (
	"math/rand/v2"
	"testing"
)

// latencies is a plausible latency trace: ≈ 10 µs with a long tail.
func latencies(n int) []int64 {
	rng := rand.New(rand.NewPCG(7, 7))
	out := make([]int64, n)
	for i := range out {
		v := 7000 + rng.Int64N(6000)
		if rng.IntN(100) == 0 {
			v += rng.Int64N(100_000)
		}
		out[i] = v
	}
	return out
}

func BenchmarkHistogramRecord(b *testing.B) {
	h, _ := NewHistogram(make([]uint64, HistogramWords(400)))
	lat := latencies(4096)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		h.Record(lat[i&4095])
		i++
	}
}

func BenchmarkSeriesRecord(b *testing.B) {
	s := new(Series)
	lat := latencies(4096)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Record(lat[i&4095])
		i++
	}
}

// BenchmarkRecorderRecord is one full cycle: latency, jitter and exec
// series, worst-N, window max (1 ms windows at a 100 µs period, so a
// window closes every 10 cycles) and the 1 µs histogram.
func BenchmarkRecorderRecord(b *testing.B) {
	task := new(Task)
	_ = task.Init(1_000_000, 0)
	h, _ := NewHistogram(make([]uint64, HistogramWords(400)))
	rec := NewRecorder(task, h)
	lat := latencies(4096)
	b.ReportAllocs()
	i := int64(0)
	for b.Loop() {
		l := lat[i&4095]
		rec.Record(Sample{Cycle: uint64(i), AtNs: i*100_000 + l, LatencyNs: l, JitterNs: l - 10_000, ExecNs: l / 4})
		i++
	}
}

func BenchmarkSummary(b *testing.B) {
	s := new(Series)
	for _, v := range latencies(100_000) {
		s.Record(v)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Summary()
	}
}
