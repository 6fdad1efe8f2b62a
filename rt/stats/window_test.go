package stats

import (
	"errors"
	"math"
	"slices"
	"testing"
)

type at struct{ t, lat int64 }

func TestWindows(t *testing.T) {
	const W = 1000
	for _, c := range []struct {
		name    string
		samples []at
		history []WindowMax
		current WindowMax
	}{
		{
			name:    "one window",
			samples: []at{{0, 5}, {100, 9}, {999, 3}},
			current: WindowMax{StartNs: 0, MaxNs: 9, Samples: 3},
		},
		{
			name:    "boundary sample opens the next window",
			samples: []at{{0, 5}, {1000, 2}},
			history: []WindowMax{{0, 5, 1}},
			current: WindowMax{StartNs: 1000, MaxNs: 2, Samples: 1},
		},
		{
			name:    "stall leaves empty windows",
			samples: []at{{500, 7}, {3200, 40}},
			history: []WindowMax{{0, 7, 1}, {1000, 0, 0}, {2000, 0, 0}},
			current: WindowMax{StartNs: 3000, MaxNs: 40, Samples: 1},
		},
		{
			name:    "negative latency is a real maximum, not 'no sample'",
			samples: []at{{0, -5}, {10, -9}},
			current: WindowMax{StartNs: 0, MaxNs: -5, Samples: 2},
		},
		{
			name:    "latency 0 differs from an empty window by Samples",
			samples: []at{{0, 0}, {2500, 0}},
			history: []WindowMax{{0, 0, 1}, {1000, 0, 0}},
			current: WindowMax{StartNs: 2000, MaxNs: 0, Samples: 1},
		},
		{
			name:    "time before the window counts in the current one",
			samples: []at{{1500, 1}, {-100, 8}},
			history: []WindowMax{{0, 0, 0}},
			current: WindowMax{StartNs: 1000, MaxNs: 8, Samples: 2},
		},
	} {
		var w Windows
		if err := w.Init(W, 0); err != nil {
			t.Fatal(err)
		}
		for _, s := range c.samples {
			w.Record(s.t, s.lat)
		}
		if got := w.History(nil); !slices.Equal(got, c.history) {
			t.Errorf("%s: history %v, want %v", c.name, got, c.history)
		}
		if got := w.Current(); got != c.current {
			t.Errorf("%s: current %v, want %v", c.name, got, c.current)
		}
	}
}

func TestWindowsRingWraps(t *testing.T) {
	var w Windows
	_ = w.Init(10, 1_000)
	const n = WindowSlots + 5
	for k := range int64(n) {
		w.Record(1_000+k*10, k)   // start of window k
		w.Record(1_000+k*10+9, 0) // end of window k
	}
	h := w.History(nil)
	if len(h) != WindowSlots {
		t.Fatalf("history has %d windows, want %d", len(h), WindowSlots)
	}
	for i, m := range h {
		k := int64(n - 1 - WindowSlots + i) // the open window is n-1
		if m.StartNs != 1_000+k*10 || m.MaxNs != k || m.Samples != 2 {
			t.Fatalf("history[%d] = %+v, want window %d", i, m, k)
		}
	}
}

func TestWindowsStallLongerThanRing(t *testing.T) {
	var w Windows
	_ = w.Init(10, 0)
	w.Record(0, 3)
	w.Record(5, 4)
	w.Record(10*(2*WindowSlots+7)+3, 11) // in window 2·3600+7
	h := w.History(nil)
	if len(h) != WindowSlots || w.NClosed != 2*WindowSlots+7 {
		t.Fatalf("history %d windows, closed %d", len(h), w.NClosed)
	}
	for i, m := range h {
		k := int64(WindowSlots + 7 + i)
		if m != (WindowMax{StartNs: k * 10}) {
			t.Fatalf("history[%d] = %+v, want empty window starting %d", i, m, k*10)
		}
	}
	if c := w.Current(); c != (WindowMax{StartNs: 10 * (2*WindowSlots + 7), MaxNs: 11, Samples: 1}) {
		t.Errorf("current %+v", c)
	}
}

func TestWindowsZeroValueAndInit(t *testing.T) {
	var w Windows
	w.Record(5e9, 3)
	w.Record(6e9-1, 4)
	w.Record(6e9, 1)
	if h := w.History(nil); !slices.Equal(h, []WindowMax{{5e9, 4, 2}}) {
		t.Errorf("zero value: history %v", h)
	}
	if w.WindowNs != DefaultWindowNs {
		t.Errorf("zero value window %d, want %d", w.WindowNs, DefaultWindowNs)
	}
	for _, bad := range []int64{0, -1, math.MinInt64} {
		if err := w.Init(bad, 0); !errors.Is(err, ErrInvalid) {
			t.Errorf("Init(%d) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestWindowsEndOfClock(t *testing.T) {
	var w Windows
	_ = w.Init(1000, math.MaxInt64-1500)
	w.Record(math.MaxInt64-1400, 1)
	w.Record(math.MaxInt64-10, 2) // second window, cut short at MaxInt64
	w.Record(math.MaxInt64, 3)
	if c := w.Current(); c.MaxNs != 3 || c.Samples != 2 {
		t.Errorf("current %+v, want max 3 over 2 samples", c)
	}
	if h := w.History(nil); len(h) != 1 || h[0].MaxNs != 1 {
		t.Errorf("history %v", h)
	}
}
