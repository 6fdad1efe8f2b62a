package stats

import (
	"errors"
	"math"
	"testing"
)

func TestNewHistogram(t *testing.T) {
	for _, c := range []struct {
		name  string
		words int
		bins  int
		ok    bool
	}{
		{"nil", 0, 0, false},
		{"overflow word only", 1, 0, false},
		{"one bin", 2, 1, true},
		{"cyclictest -h 400", HistogramWords(400), 400, true},
	} {
		var mem []uint64
		if c.words > 0 {
			mem = make([]uint64, c.words)
		}
		h, err := NewHistogram(mem)
		if c.ok != (err == nil) {
			t.Errorf("%s: err = %v, want ok=%v", c.name, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", c.name, err)
		}
		if h.Bins() != c.bins {
			t.Errorf("%s: Bins() = %d, want %d", c.name, h.Bins(), c.bins)
		}
	}
}

func TestHistogramBins(t *testing.T) {
	const n = 100
	for _, c := range []struct {
		name     string
		ns       int64
		bin      int // -1: overflow
		overflow bool
	}{
		{"zero", 0, 0, false},
		{"999 ns truncates to 0 µs", 999, 0, false},
		{"1 µs", 1000, 1, false},
		{"1999 ns truncates to 1 µs", 1999, 1, false},
		{"negative goes to bin 0", -5000, 0, false},
		{"MinInt64 goes to bin 0", math.MinInt64, 0, false},
		{"last bin", n*1000 - 1, n - 1, false},
		{"first overflow", n * 1000, -1, true},
		{"huge", math.MaxInt64, -1, true},
	} {
		mem := make([]uint64, HistogramWords(n))
		h, _ := NewHistogram(mem)
		if got := h.Record(c.ns); got != c.overflow {
			t.Errorf("%s: Record(%d) overflow = %v, want %v", c.name, c.ns, got, c.overflow)
		}
		want := make([]uint64, HistogramWords(n))
		if c.bin < 0 {
			want[n]++
		} else {
			want[c.bin]++
		}
		for i := range mem {
			if mem[i] != want[i] {
				t.Errorf("%s: word %d = %d, want %d", c.name, i, mem[i], want[i])
			}
		}
	}
}

func TestHistogramEverythingInOverflow(t *testing.T) {
	h, _ := NewHistogram(make([]uint64, HistogramWords(10)))
	var log OverflowLog
	for cycle := range uint64(100) {
		if h.Record(int64(10_000 + cycle)) {
			log.Add(cycle)
		}
	}
	if h.Overflow() != 100 || h.Total() != 100 {
		t.Errorf("overflow %d total %d, want 100 100", h.Overflow(), h.Total())
	}
	for us := range 10 {
		if h.Bin(us) != 0 {
			t.Errorf("bin %d = %d, want 0", us, h.Bin(us))
		}
	}
	kept := log.Kept()
	if len(kept) != OverflowCycles || kept[0] != 0 || kept[OverflowCycles-1] != OverflowCycles-1 || log.Others() != 100-OverflowCycles {
		t.Errorf("kept %d (first %d, last %d), others %d", len(kept), kept[0], kept[len(kept)-1], log.Others())
	}
}

func TestHistogramZeroValue(t *testing.T) {
	var h Histogram
	if h.Record(5000) || h.Total() != 0 || h.Bin(0) != 0 || h.Overflow() != 0 {
		t.Error("the zero Histogram counted something")
	}
	h.Reset()
}

func TestHistogramCopyAndReset(t *testing.T) {
	a, _ := NewHistogram(make([]uint64, HistogramWords(5)))
	b, _ := NewHistogram(make([]uint64, HistogramWords(5)))
	c, _ := NewHistogram(make([]uint64, HistogramWords(6)))
	for _, ns := range []int64{0, 2500, 4999, 5000, 9e9} {
		a.Record(ns)
	}
	if !a.CopyTo(b) || b.Bin(0) != 1 || b.Bin(2) != 1 || b.Bin(4) != 1 || b.Overflow() != 2 {
		t.Errorf("copy: bins %d %d %d overflow %d", b.Bin(0), b.Bin(2), b.Bin(4), b.Overflow())
	}
	if a.CopyTo(c) || a.CopyTo(Histogram{}) {
		t.Error("CopyTo accepted a histogram of another size")
	}
	a.Reset()
	if a.Total() != 0 || b.Total() != 5 {
		t.Errorf("after reset: a total %d, b total %d", a.Total(), b.Total())
	}
	if a.Bin(-1) != 0 || a.Bin(5) != 0 {
		t.Error("out-of-range Bin is not 0")
	}
}

func TestOverflowLogFewerThanKept(t *testing.T) {
	var log OverflowLog
	log.Add(17)
	log.Add(4000)
	if k := log.Kept(); len(k) != 2 || k[0] != 17 || k[1] != 4000 || log.Others() != 0 {
		t.Errorf("kept %v others %d", k, log.Others())
	}
}
