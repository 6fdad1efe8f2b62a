package stats

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// refWorst is the reference: sort every entry worst first, keep WorstN.
func refWorst(all []WorstEntry) []WorstEntry {
	s := slices.Clone(all)
	slices.SortStableFunc(s, func(a, b WorstEntry) int {
		if a.LatencyNs != b.LatencyNs {
			if a.LatencyNs > b.LatencyNs {
				return -1
			}
			return 1
		}
		if a.Cycle < b.Cycle {
			return -1
		}
		return 1
	})
	return s[:min(len(s), WorstN)]
}

func TestWorst(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name string
		n    int
		lat  func(i int) int64
	}{
		{"empty", 0, nil},
		{"fewer than N", 5, func(i int) int64 { return int64(i * 7 % 5) }},
		{"exactly N", WorstN, func(i int) int64 { return int64(i) }},
		{"ascending", 1000, func(i int) int64 { return int64(i) }},
		{"descending", 1000, func(i int) int64 { return int64(1000 - i) }},
		{"all tied: earliest kept", 1000, func(int) int64 { return 42 }},
		{"many ties", 5000, func(int) int64 { return rng.Int64N(40) }},
		{"random", 20000, func(int) int64 { return rng.Int64N(1e6) }},
		{"negative latencies", 100, func(i int) int64 { return -int64(i) }},
	} {
		var w Worst
		var all []WorstEntry
		for i := range c.n {
			e := WorstEntry{Cycle: uint64(i), AtNs: int64(i) * 1000, LatencyNs: c.lat(i), ExecNs: int64(i % 13)}
			all = append(all, e)
			w.Record(e.Cycle, e.AtNs, e.LatencyNs, e.ExecNs)
		}
		got, want := w.Sorted(nil), refWorst(all)
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %v\nwant %v", c.name, got, want)
		}
	}
}

func TestWorstSortedAppendsAndClamps(t *testing.T) {
	var w Worst
	w.Record(1, 0, 10, 0)
	prefix := []WorstEntry{{Cycle: 99}}
	got := w.Sorted(prefix)
	if len(got) != 2 || got[0].Cycle != 99 || got[1].LatencyNs != 10 {
		t.Errorf("Sorted(prefix) = %v", got)
	}
	w.Len = 1 << 40 // a corrupt copy
	if got := w.Sorted(nil); len(got) != WorstN {
		t.Errorf("corrupt Len gave %d entries, want %d", len(got), WorstN)
	}
}
