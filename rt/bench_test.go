package rt

import (
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/internal/telemetry"
)

// BenchmarkCycleBookkeeping is everything the loop does per cycle except
// the sleep and the user's function: two CLOCK_MONOTONIC reads, one RAW
// read, the overrun accounting and publishing the cycle to the telemetry
// block (statistics, histogram, worst cycles, window maxima, seqlock).
func BenchmarkCycleBookkeeping(b *testing.B) {
	tel := telemetry.New(1000)
	tel.Begin(nanotime(), int64(time.Second), func(*telemetry.Header) {})
	const period = 1_000_000
	rel := nanotime()
	var prevRaw, prevRel int64
	b.ReportAllocs()
	b.ResetTimer()
	for n := uint64(0); n < uint64(b.N); n++ {
		wake := nanotime()
		raw := rawNow()
		end := nanotime()
		lat := (wake - rel) & 0xfffff // keep the values in a realistic range
		jit := (raw - prevRaw) - (rel - prevRel)
		prevRaw, prevRel = raw, rel
		next, over, missed := account(rel, rel+int64(n&0x7ffff), period, true) // ends within 0.52 ms
		tel.Record(n, wake, lat, jit&0xffff, end-wake, false, over, missed, 0)
		rel = next
	}
}

func BenchmarkNanotime(b *testing.B) {
	var s int64
	for i := 0; i < b.N; i++ {
		s += nanotime()
	}
	sinkI = s
}

func BenchmarkMonotonicRaw(b *testing.B) {
	var s int64
	for i := 0; i < b.N; i++ {
		s += rawNow()
	}
	sinkI = s
}

var sinkI int64

// BenchmarkMarginCalibrator is what the hybrid wake's automatic margin
// adds to a cycle: counting the wake-up, the due check, and the 512-bin
// recalibration once per 1024 cycles (amortized), with a tail that moves.
func BenchmarkMarginCalibrator(b *testing.B) {
	var m marginCalibrator
	margin := m.init(1_000_000)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		m.observe(int64(n*7919) & 0xffff) // 0–65 µs
		if m.due() {
			margin = m.recalibrate()
		}
	}
	sinkI = margin
}
