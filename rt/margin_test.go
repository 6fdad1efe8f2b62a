package rt

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// feed gives the calibrator one observation per element of lat, in order,
// recalibrating whenever the loop would, and returns the margin after
// each observation.
func feed(m *marginCalibrator, margin int64, lat []int64) (int64, []int64) {
	out := make([]int64, len(lat))
	for i, l := range lat {
		m.observe(l)
		if m.due() {
			margin = m.recalibrate()
		}
		out[i] = margin
	}
	return margin, out
}

// tail returns n latencies: base ns, except every k-th, which is high ns.
func tail(n int, base, high int64, k int) []int64 {
	v := make([]int64, n)
	for i := range v {
		v[i] = base
		if k > 0 && i%k == k-1 {
			v[i] = high
		}
	}
	return v
}

// p995 is the 99.5th percentile of v (nearest rank).
func p995(v []int64) int64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[(len(s)*995+999)/1000-1]
}

func TestMarginCalibratorQuantile(t *testing.T) {
	const period = 1_000_000
	for _, tc := range []struct {
		name string
		lat  []int64
		want int64 // margin after the input
	}{
		// 1 % at 40 µs is more than the 0.5 % tail: the 40 µs bin sets
		// the margin, (40+1) µs + 5 µs.
		{"one percent at 40us", tail(4096, 20_000, 40_000, 100), 46_000},
		// 0.2 % at 300 µs is inside the tail the margin may miss.
		{"rare spikes ignored", tail(4096, 20_000, 300_000, 500), 26_000},
		{"floor of 10us", tail(4096, 0, 0, 0), 10_000},
		{"cap of half the period", tail(4096, 10_000_000, 0, 0), 500_000},
		{"negative lateness counts as 0", tail(4096, -3_000, 0, 0), 10_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m marginCalibrator
			got, _ := feed(&m, m.init(period), tc.lat)
			if got != tc.want {
				t.Fatalf("margin = %d ns, want %d", got, tc.want)
			}
		})
	}
}

// TestMarginCalibratorRandom checks the margin against the input's own
// 99.5th percentile, for random tails of several shapes: it must cover
// the percentile plus the guard, to within one 1 µs bin.
func TestMarginCalibratorRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 50 {
		base := 5_000 + r.Int64N(30_000)
		spread := 1 + r.Int64N(200_000)
		lat := make([]int64, calRound) // exactly one round, so nothing is halved
		for j := range lat {
			lat[j] = base + int64(r.ExpFloat64()*float64(spread)/8)
		}
		var m marginCalibrator
		got, _ := feed(&m, m.init(10_000_000), lat)
		want := p995(lat) + calGuardNs
		if got < want || got > want+1000 {
			t.Errorf("case %d: margin %d ns, want the p99.5 %d + 5 µs = %d, within 1 µs above", i, got, p995(lat), want)
		}
	}
}

func TestMarginCalibratorWarmup(t *testing.T) {
	var m marginCalibrator
	start := m.init(1_000_000)
	if start != int64(defaultMargin) {
		t.Fatalf("initial margin %d ns, want the default %d", start, defaultMargin)
	}
	warm := tail(calWarmup, 12_000, 0, 0)
	warm[7] = 900_000 // one outlier does not set the first margin
	_, ms := feed(&m, start, warm)
	if ms[calWarmup-2] != start {
		t.Errorf("margin changed before %d wake-ups: %d", calWarmup, ms[calWarmup-2])
	}
	if got := ms[calWarmup-1]; got != 18_000 {
		t.Errorf("margin after the warm-up = %d ns, want 18000 (12 µs bin + 1 µs + 5 µs)", got)
	}
	var short marginCalibrator
	if got := short.init(60_000); got != 30_000 {
		t.Errorf("initial margin for a 60 µs period = %d ns, want half the period", got)
	}
}

// TestMarginCalibratorTracksRise: when the host's tail rises past the
// margin, the margin must cover it after a few late wake-ups, not after a
// round.
func TestMarginCalibratorTracksRise(t *testing.T) {
	var m marginCalibrator
	margin, _ := feed(&m, m.init(1_000_000), tail(3000, 15_000, 0, 0))
	if margin != 21_000 {
		t.Fatalf("steady margin = %d ns, want 21000", margin)
	}
	margin, ms := feed(&m, margin, tail(100, 80_000, 0, 0))
	if ms[calLateLimit-2] != 21_000 {
		t.Errorf("%d late wake-ups moved the margin to %d ns; five per round are inside the tail", calLateLimit-1, ms[calLateLimit-2])
	}
	if ms[calLateLimit+10] < 85_000 {
		t.Errorf("margin after %d wake-ups at 80 µs = %d ns, want ≥ 85000", calLateLimit+11, ms[calLateLimit+10])
	}
	if margin < 85_000 || margin > 86_000 {
		t.Errorf("margin at a tail of 80 µs = %d ns, want 86000", margin)
	}
	// A spike now and then stays inside the tail.
	margin, _ = feed(&m, margin, tail(5000, 80_000, 400_000, 500))
	if margin > 86_000 {
		t.Errorf("one spike in 500 raised the margin to %d ns", margin)
	}
}

// TestMarginCalibratorTracksFall: when the tail falls, the margin must
// follow once the old tail has left the two rounds the calibrator looks
// at, and not before: half a round later the old tail is still most of
// the counts.
func TestMarginCalibratorTracksFall(t *testing.T) {
	var m marginCalibrator
	margin, _ := feed(&m, m.init(1_000_000), tail(5000, 200_000, 0, 0))
	if margin != 206_000 {
		t.Fatalf("margin at a tail of 200 µs = %d ns, want 206000", margin)
	}
	_, ms := feed(&m, margin, tail(4*calRound, 10_000, 0, 0))
	if ms[calRound/2] != 206_000 {
		t.Errorf("margin fell to %d ns half a round after the tail fell", ms[calRound/2])
	}
	fell := slices.IndexFunc(ms, func(v int64) bool { return v < 100_000 })
	if fell < 0 || fell > 3*calRound {
		t.Errorf("margin took %d wake-ups to fall below 100 µs, want ≤ %d (the rest of the round, and two more)", fell, 3*calRound)
	}
	if got := ms[len(ms)-1]; got != 16_000 {
		t.Errorf("margin 4 rounds after the tail fell to 10 µs = %d ns, want 16000", got)
	}
}
