package telemetry

import (
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/stats"
)

// BenchmarkPublish is the cost of publishing one cycle to a telemetry
// block in shared memory (memfd, mapped shared), against
// BenchmarkRecordPrivate, the same statistics in private memory without
// the sequence counter: the difference is what publishing adds.
func BenchmarkPublish(b *testing.B) {
	tel, f, err := NewShared(1000)
	if err != nil {
		b.Skip(err)
	}
	defer f.Close()
	defer tel.Close()
	tel.Begin(0, int64(time.Second), func(*Header) {})
	b.ReportAllocs()
	b.ResetTimer()
	for n := uint64(0); n < uint64(b.N); n++ {
		v := int64(n*7919) & 0x3ffff
		tel.Record(n, int64(n)*1_000_000, v, v>>3, v>>2, false, false, 0, 0)
	}
}

func BenchmarkRecordPrivate(b *testing.B) {
	var t stats.Task
	t.Init(int64(time.Second), 0)
	mem := make([]uint64, stats.HistogramWords(1000))
	h, _ := stats.NewHistogram(mem)
	r := stats.NewRecorder(&t, h)
	b.ReportAllocs()
	b.ResetTimer()
	for n := uint64(0); n < uint64(b.N); n++ {
		v := int64(n*7919) & 0x3ffff
		r.Record(stats.Sample{Cycle: n, AtNs: int64(n) * 1_000_000, LatencyNs: v, JitterNs: v >> 3, ExecNs: v >> 2})
	}
}
