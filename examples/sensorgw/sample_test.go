package main

import (
	"math"
	"testing"

	"github.com/rtcell/rtcell/rt"
	"github.com/rtcell/rtcell/rt/shm"
)

func TestSensor(t *testing.T) {
	if Sensor(12345) != Sensor(12345) {
		t.Fatal("Sensor is not a pure function of seq")
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	distinct := map[float64]bool{}
	for seq := range uint64(4000) {
		v := Sensor(seq)
		lo, hi = min(lo, v), max(hi, v)
		distinct[v] = true
		// 400 samples per period: the sine part repeats.
		if d := math.Abs(v - Sensor(seq+400)); d > 0.2 {
			t.Fatalf("Sensor(%d) and Sensor(%d) differ by %g, more than the noise", seq, seq+400, d)
		}
	}
	if lo < -10.1 || hi > 10.1 || lo > -9.8 || hi < 9.8 {
		t.Errorf("range [%g, %g], want about ±10", lo, hi)
	}
	if len(distinct) < 3990 {
		t.Errorf("%d distinct values in 4000 samples: the noise is missing", len(distinct))
	}
}

type rig struct {
	ctl        *shm.Image[Control]
	st         *shm.Image[Status]
	drop, over *shm.Ring[Sample]
	fn         rt.CycleFunc
	c          rt.Cycle
}

func newRig(t testing.TB, capacity int) *rig {
	t.Helper()
	r := &rig{}
	var err error
	if r.ctl, err = shm.NewImage[Control](shm.PrivateRegion(shm.ImageSize[Control]())); err != nil {
		t.Fatal(err)
	}
	if r.st, err = shm.NewImage[Status](shm.PrivateRegion(shm.ImageSize[Status]())); err != nil {
		t.Fatal(err)
	}
	if r.drop, err = shm.NewRing[Sample](shm.PrivateRegion(shm.RingSize[Sample](capacity)), capacity, shm.DropNewest); err != nil {
		t.Fatal(err)
	}
	if r.over, err = shm.NewRing[Sample](shm.PrivateRegion(shm.RingSize[Sample](capacity)), capacity, shm.OverwriteOldest); err != nil {
		t.Fatal(err)
	}
	r.fn = newSampler(r.ctl, r.st, r.drop, r.over)
	return r
}

func (r *rig) cycles(n int) {
	for range n {
		r.c.Release += 500_000
		r.c.Wake = r.c.Release + 1000
		r.fn(&r.c)
		r.c.N++
	}
}

func (r *rig) status() Status {
	var s Status
	r.st.Read(&s)
	return s
}

func TestSamplerIdleUntilRun(t *testing.T) {
	r := newRig(t, 64)
	r.cycles(10)
	if s := r.status(); s.Produced != 0 || s.Sampling || s.Cycle != 9 {
		t.Fatalf("before Run: status %+v, want nothing produced, cycle 9", s)
	}
	r.ctl.Write(&Control{Run: true})
	r.cycles(10)
	var smp Sample
	for i := range uint64(10) {
		if !r.drop.Pop(&smp) || smp.Seq != i || smp.Value != Sensor(i) || smp.TimestampNs != r.c.Release-500_000*int64(9-i)+1000 {
			t.Fatalf("sample %d: %+v, want seq %d, its sensor value and its cycle's wake time", i, smp, i)
		}
	}
	if r.over.Len() != 0 {
		t.Error("samples went to the overwrite-oldest ring; Control.Ring 0 names drop-newest")
	}
	r.ctl.Write(&Control{Run: false})
	r.cycles(5)
	if s := r.status(); s.Produced != 10 || s.Sampling {
		t.Errorf("after Run false: %+v, want 10 produced, not sampling", s)
	}
}

func TestSamplerFullRing(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ring     uint8
		firstSeq uint64 // of the 64 items left in the ring after 100 pushes
		refused  uint64
	}{
		{"drop-newest keeps the oldest", 0, 0, 36},
		{"overwrite-oldest keeps the newest", 1, 36, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, 64)
			r.ctl.Write(&Control{Run: true, Ring: tc.ring})
			r.cycles(100) // nobody pops: the ring fills, the sampler goes on
			ring := []*shm.Ring[Sample]{r.drop, r.over}[tc.ring]
			s := r.status()
			rs := ring.Stats()
			if s.Produced != 100 || s.Refused != tc.refused || rs.Pushed != 100 || rs.Dropped != 36 || ring.Len() != 64 {
				t.Fatalf("status %+v, ring %+v len %d; want 100 produced, %d refused, 36 dropped, 64 left", s, rs, ring.Len(), tc.refused)
			}
			var smp Sample
			for i := range uint64(64) {
				if !ring.Pop(&smp) || smp.Seq != tc.firstSeq+i {
					t.Fatalf("item %d: seq %d, want %d", i, smp.Seq, tc.firstSeq+i)
				}
			}
		})
	}
}

func TestSamplerRestartContinuesSeq(t *testing.T) {
	r := newRig(t, 64)
	r.ctl.Write(&Control{Run: true})
	r.cycles(7)
	// A new worker attaches to the same images and ring.
	r.fn = newSampler(r.ctl, r.st, r.drop, r.over)
	r.cycles(3)
	var smp Sample
	for i := range uint64(10) {
		if !r.drop.Pop(&smp) || smp.Seq != i {
			t.Fatalf("item %d: seq %d; a restarted sampler must continue the sequence", i, smp.Seq)
		}
	}
}

// TestSamplerAllocs: the sampling cycle allocates nothing, with the ring
// accepting, refusing (drop-newest) and overwriting.
func TestSamplerAllocs(t *testing.T) {
	for _, ringIdx := range []uint8{0, 1} {
		r := newRig(t, 64)
		r.ctl.Write(&Control{Run: true, Ring: ringIdx})
		var smp Sample
		n := 0
		allocs := testing.AllocsPerRun(2000, func() {
			r.cycles(1)
			if n++; n%3 == 0 { // pop slower than produced: the ring fills
				r.drop.Pop(&smp)
				r.over.Pop(&smp)
			}
		})
		if allocs != 0 {
			t.Errorf("ring %d: the sampling cycle allocates %.2f times per cycle, want 0", ringIdx, allocs)
		}
		if []*shm.Ring[Sample]{r.drop, r.over}[ringIdx].Stats().Dropped == 0 {
			t.Errorf("ring %d: nothing dropped: the full-ring path was not exercised", ringIdx)
		}
	}
}

func BenchmarkSamplerCycle(b *testing.B) {
	r := newRig(b, 1024)
	r.ctl.Write(&Control{Run: true})
	var buf [64]Sample
	b.ReportAllocs()
	for b.Loop() {
		r.cycles(1)
		if r.c.N%64 == 0 {
			r.drop.PopBatch(buf[:])
		}
	}
}
