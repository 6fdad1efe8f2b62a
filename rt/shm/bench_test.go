package shm

import "testing"

// sample is a typical 64-byte ring element: a timestamped set of readings.
type sample struct {
	Seq  uint64
	AtNs int64
	V    [6]float64
}

// BenchmarkImageExchange256 is one cycle's exchange: one Write and one
// Read of a 256-byte image, in the same goroutine (the cost the RT loop
// pays; the other process's cache traffic comes on top).
func BenchmarkImageExchange256(b *testing.B) {
	im, err := NewImage[img256](PrivateRegion(ImageSize[img256]()))
	if err != nil {
		b.Fatal(err)
	}
	var in, out img256
	makeImg(1, &in)
	b.ReportAllocs()
	for b.Loop() {
		in.W[0]++
		im.Write(&in)
		if !im.Read(&out) {
			b.Fatal("read failed")
		}
	}
}

func benchPolicies(b *testing.B, f func(b *testing.B, p Policy)) {
	for _, p := range []Policy{DropNewest, OverwriteOldest} {
		b.Run(p.String(), func(b *testing.B) { f(b, p) })
	}
}

const benchCap = 4096

func newBenchRing(b *testing.B, p Policy) *Ring[sample] {
	r, err := NewRing[sample](PrivateRegion(RingSize[sample](benchCap)), benchCap, p)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkRingPush: successful pushes of a 64-byte item. Every
// benchCap pushes the ring is emptied with the timer stopped.
func BenchmarkRingPush(b *testing.B) {
	benchPolicies(b, func(b *testing.B, p Policy) {
		r := newBenchRing(b, p)
		drain := make([]sample, benchCap)
		var v sample
		b.ReportAllocs()
		for i := range b.N {
			if i%benchCap == 0 && i > 0 {
				b.StopTimer()
				r.PopBatch(drain)
				b.StartTimer()
			}
			v.Seq = uint64(i)
			if !r.Push(&v) {
				b.Fatal("push refused")
			}
		}
	})
}

// BenchmarkRingPushOverwrite: pushes into a full OverwriteOldest ring that
// nobody reads, each overwriting an unread item (samples with no listener).
func BenchmarkRingPushOverwrite(b *testing.B) {
	r := newBenchRing(b, OverwriteOldest)
	var v sample
	for range 2 * benchCap {
		r.Push(&v)
	}
	b.ReportAllocs()
	for b.Loop() {
		v.Seq++
		r.Push(&v)
	}
}

// BenchmarkRingPop: successful pops of a 64-byte item. Every benchCap pops
// the ring is refilled with the timer stopped.
func BenchmarkRingPop(b *testing.B) {
	benchPolicies(b, func(b *testing.B, p Policy) {
		r := newBenchRing(b, p)
		var v sample
		b.ReportAllocs()
		for i := range b.N {
			if i%benchCap == 0 {
				b.StopTimer()
				for range benchCap {
					r.Push(&v)
				}
				b.StartTimer()
			}
			if !r.Pop(&v) {
				b.Fatal("pop failed")
			}
		}
	})
}

// BenchmarkRingPopBatch: per-item cost of draining with PopBatch(64).
func BenchmarkRingPopBatch(b *testing.B) {
	benchPolicies(b, func(b *testing.B, p Policy) {
		r := newBenchRing(b, p)
		var v sample
		dst := make([]sample, 64)
		b.ReportAllocs()
		for i := 0; i < b.N; i += len(dst) {
			if i%benchCap == 0 {
				b.StopTimer()
				for range benchCap {
					r.Push(&v)
				}
				b.StartTimer()
			}
			if r.PopBatch(dst) != len(dst) {
				b.Fatal("short batch")
			}
		}
	})
}
