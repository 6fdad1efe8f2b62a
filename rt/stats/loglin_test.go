package stats

import (
	"math"
	"testing"
)

// Every bucket's bounds map back to it, buckets tile the range without gaps,
// and no bucket is wider than 1/128 of its smallest value.
func TestLogBucketsTile(t *testing.T) {
	var next uint64
	for i := range LogBuckets {
		lo, hi := LogBucketBounds(i)
		if lo != next {
			t.Fatalf("bucket %d starts at %d, want %d (gap or overlap)", i, lo, next)
		}
		if logIndex(lo) != i || logIndex(hi) != i {
			t.Fatalf("bucket %d [%d, %d]: logIndex(lo)=%d logIndex(hi)=%d", i, lo, hi, logIndex(lo), logIndex(hi))
		}
		if i <= LogMaxExact && lo != hi {
			t.Fatalf("bucket %d [%d, %d] is not exact", i, lo, hi)
		}
		if i < LogBuckets-1 && (hi-lo+1)*128 > lo && lo > LogMaxExact {
			t.Fatalf("bucket %d [%d, %d] wider than 1/128 of %d", i, lo, hi, lo)
		}
		next = hi + 1
	}
	if next != 1<<63 {
		t.Fatalf("buckets end at %d, want 2^63", next)
	}
	if lo, _ := LogBucketBounds(LogBuckets - 1); lo != LogLimitNs {
		t.Fatalf("saturation bucket starts at %d, want 2^40", lo)
	}
}

func TestLogIndex(t *testing.T) {
	for _, c := range []struct {
		name string
		v    uint64
		want int
	}{
		{"zero", 0, 0},
		{"last exact", 255, 255},
		{"first shared", 256, 256},
		{"pair 256-257", 257, 256},
		{"next pair", 258, 257},
		{"top of 2^8 octave", 511, 383},
		{"2^9", 512, 384},
		{"just below limit", LogLimitNs - 1, LogBuckets - 2},
		{"limit", LogLimitNs, LogBuckets - 1},
		{"max", math.MaxUint64, LogBuckets - 1},
	} {
		if got := logIndex(c.v); got != c.want {
			t.Errorf("%s: logIndex(%d) = %d, want %d", c.name, c.v, got, c.want)
		}
	}
}

func TestLogHistRecord(t *testing.T) {
	var h LogHist
	h.Record(-1) // counts as 0
	h.Record(0)
	h.Record(300)
	h.Record(math.MaxInt64)
	if h.Buckets[0] != 2 || h.Buckets[logIndex(300)] != 1 || h.Buckets[LogBuckets-1] != 1 || h.Total() != 4 {
		t.Errorf("buckets 0=%d 300=%d sat=%d total=%d", h.Buckets[0], h.Buckets[logIndex(300)], h.Buckets[LogBuckets-1], h.Total())
	}
}
