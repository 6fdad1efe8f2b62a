package cyclictest

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseHistogramReal(t *testing.T) {
	tests := []struct {
		file      string
		threads   int
		bins      int
		sumColumn bool
	}{
		{"t1-h1000.hist", 1, 1000, false},
		{"t2-h30.hist", 2, 30, false},
		{"t1-H40-histofall.hist", 1, 40, false}, // -H prints no sum column for one thread
		{"t2-H40-histofall.hist", 2, 40, true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			h := parseHistFile(t, tt.file)
			if h.Threads != tt.threads || len(h.Bins) != tt.threads || len(h.Bins[0]) != tt.bins || (h.Sum != nil) != tt.sumColumn {
				t.Fatalf("threads %d, bins %d, sum column %v", h.Threads, len(h.Bins[0]), h.Sum != nil)
			}
			for i := 0; i < h.Threads; i++ {
				if h.Total[i] != h.BinSum(i) {
					t.Errorf("thread %d: # Total %d != sum of bins %d", i, h.Total[i], h.BinSum(i))
				}
				if got := uint64(len(h.OverflowCycles[i])) + h.OverflowOthers[i]; got != h.Overflows[i] {
					t.Errorf("thread %d: %d logged + %d others != %d overflows", i, len(h.OverflowCycles[i]), h.OverflowOthers[i], h.Overflows[i])
				}
				if !slices.IsSorted(h.OverflowCycles[i]) {
					t.Errorf("thread %d: overflow cycles not ascending: %v", i, h.OverflowCycles[i])
				}
				if h.Min[i] > h.Avg[i] || h.Avg[i] > h.Max[i] {
					t.Errorf("thread %d: min %d avg %d max %d", i, h.Min[i], h.Avg[i], h.Max[i])
				}
			}
			if h.Sum != nil {
				for v := range h.Sum {
					if h.Sum[v] != h.Bins[0][v]+h.Bins[1][v] {
						t.Fatalf("bin %d: sum column %d != %d + %d", v, h.Sum[v], h.Bins[0][v], h.Bins[1][v])
					}
				}
			}
		})
	}
	h := parseHistFile(t, "t1-h1000.hist")
	if !slices.Equal(h.OverflowCycles[0], []uint64{847, 993}) || h.Max[0] != 5030 {
		t.Errorf("overflow cycles %v max %d", h.OverflowCycles[0], h.Max[0])
	}
}

func TestParseHistogramMalformed(t *testing.T) {
	const good = "# Histogram\n000000 000001\t000002\n000001 000003\t000004\n" +
		"# Total: 000000004 000000006\n# Min Latencies: 00000 00000\n# Avg Latencies: 00000 00000\n" +
		"# Max Latencies: 00001 00001\n# Histogram Overflows: 00000 00000\n# Histogram Overflow at cycle number:\n" +
		"# Thread 0:\n# Thread 1:\n\n"
	if _, err := ParseHistogram(strings.NewReader(good)); err != nil {
		t.Fatalf("good input: %v", err)
	}
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", `no "# Histogram" line`},
		{"json", string(open(t, "t1-h1000.json")), `no "# Histogram" line`},
		{"truncated", string(open(t, "broken-truncated.hist")), `no "# Min Latencies:" line`},
		{"bad count", string(open(t, "broken-row.hist")), `line 300: field 2 "00x000" is not a count`},
		{"column count", strings.Replace(good, "000001 000003\t000004", "000001 000003", 1), "row has 2 columns, the first row had 3"},
		{"bins out of order", strings.Replace(good, "000001 000003", "000000 000003", 1), "bin 0 does not follow bin 0"},
		{"row after footer", good + "000002 000001\t000001\n", "after the footer"},
		{"thread numbering", strings.Replace(good, "# Thread 1:", "# Thread 2:", 1), `"Thread 2": want thread 1`},
		{"footer count", strings.Replace(good, "# Min Latencies: 00000 00000", "# Min Latencies: 00000", 1), `"# Min Latencies:" has 1 values for 2 threads`},
		{"footer value", strings.Replace(good, "# Max Latencies: 00001 00001", "# Max Latencies: 00001 x", 1), `Max Latencies: value "x"`},
		{"duplicate footer", strings.Replace(good, "# Total:", "# Max Latencies: 1 1\n# Total:", 1), `second "Max Latencies" line`},
		{"others", strings.Replace(good, "# Thread 0:", "# Thread 0: 00001 # x others", 1), `others count "x"`},
		{"others words", strings.Replace(good, "# Thread 0:", "# Thread 0: 00001 # 5 more", 1), `want "# N others"`},
		{"rows vs threads", strings.Replace(good, "# Thread 1:\n", "", 1), "last column 2 is not the -H sum 1 of 1 threads"},
		{"columns vs threads", strings.Replace(good, "# Thread 1:\n", "# Thread 1:\n# Thread 2:\n# Thread 3:\n", 1), `"# Total:" has 2 values for 4 threads`},
		{"huge", "# Histogram\n999999 " + strings.Repeat("0\t", 99) + "0\n# Min Latencies:" + strings.Repeat(" 0", 100) +
			"\n# Avg Latencies:" + strings.Repeat(" 0", 100) + "\n# Max Latencies:" + strings.Repeat(" 0", 100) +
			"\n# Histogram Overflows:" + strings.Repeat(" 0", 100) + "\n", "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseHistogram(strings.NewReader(tt.in))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error does not wrap ErrMalformed: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestParseHistogramTolerates(t *testing.T) {
	// A trimmed file (rows cut, as people paste them), no "# Total:" line
	// and no per-thread cycle lines, as older versions print, an SMI line
	// and CRLF line ends.
	in := "# /dev/cpu_dma_latency set to 0us\r\npolicy: fifo\r\n# Histogram\r\n000013 000000\r\n000015 000007\r\n" +
		"# Min Latencies: 00015\r\n# Avg Latencies: 00015\r\n# Max Latencies: 00015\r\n# Histogram Overflows: 00000\r\n# SMIs: 0\r\n"
	h, err := ParseHistogram(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if h.Threads != 1 || len(h.Bins[0]) != 16 || h.Bins[0][15] != 7 || h.Total != nil || len(h.OverflowCycles) != 1 {
		t.Errorf("got %+v", h)
	}
}

func FuzzParseHistogram(f *testing.F) {
	for _, name := range []string{"t1-H40-histofall.hist", "t2-h30.hist", "t2-H40-histofall.hist", "broken-truncated.hist"} {
		f.Add(open(f, name))
	}
	f.Add([]byte("# Histogram\n000001 000002\n# Min Latencies: 1\n# Avg Latencies: 1\n# Max Latencies: 1\n# Histogram Overflows: 0 # 1 others\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHistogram(bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(h.Bins) != h.Threads || len(h.Min) != h.Threads || len(h.Max) != h.Threads || len(h.Overflows) != h.Threads ||
			len(h.OverflowCycles) != h.Threads {
			t.Fatalf("inconsistent lengths: %+v", h)
		}
		for i := range h.Bins {
			if len(h.Bins[i]) != len(h.Bins[0]) {
				t.Fatal("ragged bins")
			}
		}
	})
}
