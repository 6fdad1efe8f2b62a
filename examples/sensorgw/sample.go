package main

import (
	"math"

	"github.com/rtcell/rtcell/rt"
	"github.com/rtcell/rtcell/rt/shm"
)

// Sample is one sensor reading, as the RT side takes it and as it goes on
// the wire.
type Sample struct {
	Seq         uint64  // 0, 1, 2, … for every sample taken, dropped ones included
	TimestampNs int64   // CLOCK_MONOTONIC when the cycle that took it woke
	Value       float64 // Sensor(Seq)
}

// Control is written by the non-RT side and read by the sampler every
// cycle: it arms and stops sampling, and chooses the ring.
type Control struct {
	Run  bool  // take a sample every cycle
	Ring uint8 // 0: the drop-newest ring, 1: the overwrite-oldest ring; latched at the first Run
}

// Status is written by the sampler every cycle.
type Status struct {
	Produced uint64 // samples taken (the next Seq)
	Refused  uint64 // samples the ring refused (drop-newest, ring full)
	Cycle    uint64 // last cycle number
	Sampling bool   // Run was seen in the last cycle; false means no more pushes
}

// Sensor is the simulated sensor: a 5 Hz sine of amplitude 10 sampled at
// 2 kHz (400 samples per period) plus ±0.1 of deterministic noise. It is
// a pure function of the sample number, so that the collector can check
// every value it receives.
func Sensor(seq uint64) float64 {
	// splitmix64 finaliser: well-mixed bits from the sequence number.
	x := seq + 0x9E3779B97F4A7C15
	x = (x ^ x>>30) * 0xBF58476D1CE4E5B9
	x = (x ^ x>>27) * 0x94D049BB133111EB
	x ^= x >> 31
	noise := float64(x>>11)/(1<<53) - 0.5
	return 10*math.Sin(2*math.Pi*float64(seq%400)/400) + 0.2*noise
}

// sampler is the RT side. Everything it needs is allocated in
// newSampler; cycle allocates nothing (TestSamplerAllocs).
type sampler struct {
	ctl   *shm.Image[Control]
	st    *shm.Image[Status]
	rings [2]*shm.Ring[Sample]
	ring  *shm.Ring[Sample] // chosen at the first Run
	c     Control
	s     Status
	smp   Sample
}

// newSampler builds the sampling cycle. It continues the counters of the
// last status image, so a worker restarted by the watchdog does not reuse
// sequence numbers.
func newSampler(ctl *shm.Image[Control], st *shm.Image[Status], drop, overwrite *shm.Ring[Sample]) rt.CycleFunc {
	sm := &sampler{ctl: ctl, st: st, rings: [2]*shm.Ring[Sample]{drop, overwrite}}
	st.Read(&sm.s)
	return sm.cycle
}

func (sm *sampler) cycle(c *rt.Cycle) bool {
	var ctl Control
	if sm.ctl.Read(&ctl) {
		sm.c = ctl
	}
	if sm.c.Run {
		if sm.ring == nil {
			sm.ring = sm.rings[sm.c.Ring&1]
		}
		sm.smp = Sample{Seq: sm.s.Produced, TimestampNs: c.Wake, Value: Sensor(sm.s.Produced)}
		// Push never blocks: a full ring refuses the sample
		// (drop-newest) or overwrites the oldest unread one
		// (overwrite-oldest), and counts it.
		if !sm.ring.Push(&sm.smp) {
			sm.s.Refused++
		}
		sm.s.Produced++
	}
	sm.s.Sampling = sm.c.Run
	sm.s.Cycle = c.N
	sm.st.Write(&sm.s)
	return true
}
