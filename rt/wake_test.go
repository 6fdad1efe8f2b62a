package rt

import (
	"fmt"
	"testing"
	"time"
)

// TestWakeModes runs each wake strategy and checks what the wait/wake
// path promises, whatever the host's timing: no cycle starts before its
// release, Cycle.Wake is a clock reading taken after the release and
// before the cycle function ran, every cycle is counted, and the result
// reports the margin the hybrid wake used (the set one, or a calibrated
// one within its bounds).
func TestWakeModes(t *testing.T) {
	const n = 300
	period := time.Millisecond
	for _, tc := range []struct {
		wake   Wake
		margin time.Duration
	}{
		{WakeSleep, 0},
		{WakeHybrid, 0},
		{WakeHybrid, 50 * time.Microsecond},
		{WakeBusy, 0},
	} {
		t.Run(fmt.Sprintf("%s/margin=%v", tc.wake, tc.margin), func(t *testing.T) {
			var rel, wake, inside [n]int64
			l := newTestLoop(t, LoopOptions{Name: "wake", Period: period, Cycles: n, Wake: tc.wake, Margin: tc.margin},
				func(c *Cycle) bool {
					inside[c.N] = nanotime()
					rel[c.N], wake[c.N] = c.Release, c.Wake
					return true
				})
			res, err := l.Run()
			if err != nil {
				t.Fatal(err)
			}
			if res.Cycles != n || res.Latency.Count != n {
				t.Fatalf("cycles %d, latency count %d; want %d", res.Cycles, res.Latency.Count, n)
			}
			for i := range n {
				if wake[i] < rel[i] {
					t.Fatalf("cycle %d woke %d ns before its release", i, rel[i]-wake[i])
				}
				if wake[i] > inside[i] {
					t.Fatalf("cycle %d: wake reading %d is after a read inside the cycle %d", i, wake[i], inside[i])
				}
			}
			switch {
			case tc.wake != WakeHybrid:
				if res.MarginNs != 0 {
					t.Errorf("margin %d ns reported for wake %s", res.MarginNs, tc.wake)
				}
			case tc.margin != 0:
				if res.MarginNs != int64(tc.margin) {
					t.Errorf("margin %d ns reported, want the set %d", res.MarginNs, int64(tc.margin))
				}
			default:
				if res.MarginNs < calMinNs || res.MarginNs > int64(period)/2 {
					t.Errorf("calibrated margin %d ns, want within [%d, %d]", res.MarginNs, calMinNs, int64(period)/2)
				}
			}
			t.Logf("latency p50 %d ns p99 %d ns, margin %d ns", res.Latency.P50, res.Latency.P99, res.MarginNs)
		})
	}
}
