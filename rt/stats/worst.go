package stats

import "slices"

// WorstN is the number of worst cycles a Worst keeps.
const WorstN = 32

// WorstEntry is one recorded cycle.
type WorstEntry struct {
	Cycle     uint64 // cycle number
	AtNs      int64  // CLOCK_MONOTONIC time of the cycle (the caller's choice: wake-up or release)
	LatencyNs int64  // wake latency
	ExecNs    int64  // execution time of that cycle
}

// Worst keeps the WorstN cycles with the largest latency. Pointer-free,
// fixed-size, zero value empty.
//
// Heap is a binary min-heap ordered by (LatencyNs ascending, Cycle
// descending): its root is the least bad entry kept, so a cycle that is not
// worse than the WorstN-th worst is rejected in O(1) by one comparison, and
// a worse one replaces the root in O(log WorstN). Ties: a cycle whose
// latency equals the WorstN-th worst is rejected, so among equal latencies
// the earlier cycles are kept. Readers call Sorted on a copy.
type Worst struct {
	Len  uint64 // entries in Heap, ≤ WorstN
	Heap [WorstN]WorstEntry
}

// Record offers one cycle. The common case (not among the worst) is one
// comparison.
//
//go:nosplit
func (w *Worst) Record(cycle uint64, atNs, latencyNs, execNs int64) {
	if w.Len >= WorstN && latencyNs <= w.Heap[0].LatencyNs {
		return
	}
	w.insert(WorstEntry{Cycle: cycle, AtNs: atNs, LatencyNs: latencyNs, ExecNs: execNs})
}

// lessBad reports whether a ranks below b (is less bad).
func lessBad(a, b *WorstEntry) bool {
	return a.LatencyNs < b.LatencyNs || (a.LatencyNs == b.LatencyNs && a.Cycle > b.Cycle)
}

//go:nosplit
func (w *Worst) insert(e WorstEntry) {
	h := &w.Heap
	if w.Len < WorstN {
		i := int(w.Len)
		h[i] = e
		w.Len++
		for i > 0 { // sift up
			p := (i - 1) / 2
			if !lessBad(&h[i], &h[p]) {
				break
			}
			h[i], h[p] = h[p], h[i]
			i = p
		}
		return
	}
	h[0] = e
	for i := 0; ; { // sift down
		l, m := 2*i+1, i
		if l < WorstN && lessBad(&h[l], &h[m]) {
			m = l
		}
		if r := l + 1; r < WorstN && lessBad(&h[r], &h[m]) {
			m = r
		}
		if m == i {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// Sorted appends the kept entries to dst worst first (latency descending,
// then cycle ascending) and returns it. A Len beyond WorstN (a corrupt
// copy) is clamped.
func (w *Worst) Sorted(dst []WorstEntry) []WorstEntry {
	n := len(dst)
	dst = append(dst, w.Heap[:min(w.Len, WorstN)]...)
	slices.SortFunc(dst[n:], func(a, b WorstEntry) int {
		switch {
		case lessBad(&b, &a):
			return -1
		case lessBad(&a, &b):
			return 1
		}
		return 0
	})
	return dst
}
