package cyclictest

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func open(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseJSONFile(t testing.TB, name string) *Result {
	t.Helper()
	res, err := ParseJSON(bytes.NewReader(open(t, name)))
	if err != nil {
		t.Fatalf("ParseJSON(%s): %v", name, err)
	}
	return res
}

func parseHistFile(t testing.TB, name string) *Histogram {
	t.Helper()
	h, err := ParseHistogram(bytes.NewReader(open(t, name)))
	if err != nil {
		t.Fatalf("ParseHistogram(%s): %v", name, err)
	}
	return h
}

// The fixtures t1-h1000.{json,hist} and t2-h30.{json,hist} were written by
// one cyclictest 2.40 run each, so the two parsers must agree on them.
func TestParseJSONAgreesWithHistogram(t *testing.T) {
	for _, name := range []string{"t1-h1000", "t2-h30"} {
		t.Run(name, func(t *testing.T) {
			res := parseJSONFile(t, name+".json")
			h := parseHistFile(t, name+".hist")
			if len(res.Threads) != h.Threads {
				t.Fatalf("json has %d threads, hist %d", len(res.Threads), h.Threads)
			}
			for i, th := range res.Threads {
				if !slices.Equal(th.Hist, h.Bins[i]) {
					t.Errorf("thread %d: json bins differ from -h bins", i)
				}
				if th.Overflow != h.Overflows[i] {
					t.Errorf("thread %d: json overflow %d (cycles - sum), -h says %d", i, th.Overflow, h.Overflows[i])
				}
				if h.Total[i]+h.Overflows[i] != th.Cycles {
					t.Errorf("thread %d: total %d + overflows %d != cycles %d", i, h.Total[i], h.Overflows[i], th.Cycles)
				}
				if th.MinNs != h.Min[i]*1000 || th.MaxNs != h.Max[i]*1000 || th.AvgNs/1000 != h.Avg[i] {
					t.Errorf("thread %d: json min/avg/max %d/%d/%d ns, -h %d/%d/%d µs", i, th.MinNs, th.AvgNs, th.MaxNs, h.Min[i], h.Avg[i], h.Max[i])
				}
				if th.BinNs != 1000 {
					t.Errorf("thread %d: BinNs %d, want 1000", i, th.BinNs)
				}
			}
		})
	}
}

func TestParseJSON(t *testing.T) {
	res := parseJSONFile(t, "t1-h1000.json")
	if res.Version != "2.40" || !strings.HasPrefix(res.Cmdline, "cyclictest -m -p 90") || res.FileVersion != 1 {
		t.Errorf("header: version %q cmdline %q file_version %d", res.Version, res.Cmdline, res.FileVersion)
	}
	if res.Sysinfo.Realtime || res.Sysinfo.Machine != "x86_64" || res.Sysinfo.Release == "" {
		t.Errorf("sysinfo %+v", res.Sysinfo)
	}
	th := res.Threads[0]
	if th.Cycles != 2000 || th.MinNs != 19000 || th.MaxNs != 5030000 || th.AvgNs != 54270 || th.CPU != 1 || len(th.Hist) != 1000 {
		t.Errorf("thread 0 = cycles %d min %d max %d avg %d cpu %d bins %d", th.Cycles, th.MinNs, th.MaxNs, th.AvgNs, th.CPU, len(th.Hist))
	}

	t.Run("no -h", func(t *testing.T) {
		res := parseJSONFile(t, "t1-nohist.json")
		if res.Threads[0].Hist != nil || res.Threads[0].Overflow != 0 {
			t.Errorf("run without -h: Hist %v overflow %d, want nil, 0", res.Threads[0].Hist, res.Threads[0].Overflow)
		}
		if _, err := res.Summary(); !errors.Is(err, ErrNoHistogram) {
			t.Errorf("Summary without histogram: %v, want ErrNoHistogram", err)
		}
	})
	t.Run("-N", func(t *testing.T) {
		res := parseJSONFile(t, "t1-nsecs-h50.json")
		th := res.Threads[0]
		if !res.Nsecs || th.BinNs != 1 || th.MinNs != 15067 || th.AvgNs != 32201 || len(th.Hist) != 50 || th.Overflow != th.Cycles {
			t.Errorf("-N run: nsecs %v binNs %d min %d avg %d bins %d overflow %d", res.Nsecs, th.BinNs, th.MinNs, th.AvgNs, len(th.Hist), th.Overflow)
		}
	})
}

func TestParseJSONMalformed(t *testing.T) {
	good := string(open(t, "t2-h30.json"))
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "EOF"},
		{"not json", "# Histogram\n", "invalid character"},
		{"truncated file", string(open(t, "broken-truncated.json")), "unexpected EOF"},
		{"fewer cycles than samples", string(open(t, "broken-cycles.json")), "histogram holds 1998 samples but cycles is 1500"},
		{"no file_version", `{"thread":{}}`, "missing key file_version"},
		{"no thread", `{"file_version":1}`, "missing key thread"},
		{"num_threads mismatch", strings.Replace(good, `"num_threads": 2`, `"num_threads": 3`, 1), "num_threads is 3 but thread has 2 entries"},
		{"thread key", strings.Replace(good, `"1": {`, `"x": {`, 1), `thread key "x"`},
		{"thread key gap", strings.Replace(good, `"1": {`, `"2": {`, 1), `thread key "2"`},
		{"thread null", `{"file_version":1,"thread":{"0":null}}`, `thread "0" is null`},
		{"no cycles", `{"file_version":1,"thread":{"0":{"min":1,"max":2,"avg":1.5}}}`, "lacks one of cycles"},
		{"min above max", `{"file_version":1,"thread":{"0":{"cycles":5,"min":9,"max":2,"avg":5}}}`, "inconsistent"},
		{"avg outside", `{"file_version":1,"thread":{"0":{"cycles":5,"min":1,"max":2,"avg":7}}}`, "inconsistent"},
		{"string count", strings.Replace(good, `"cycles": 500`, `"cycles": "500"`, 1), "cannot unmarshal string"},
		{"bin key", strings.Replace(good, `"24": 1`, `"-4": 1`, 1), `histogram key "-4"`},
		{"bin beyond -h", strings.Replace(good, `"24": 1`, `"30": 1`, 1), "bin 30 is beyond the -h size 30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseJSON(strings.NewReader(tt.in))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrMalformed) && tt.name != "empty" {
				t.Errorf("error does not wrap ErrMalformed: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestParseCmdline(t *testing.T) {
	tests := []struct {
		in    string
		bins  int
		nsecs bool
	}{
		{"cyclictest -m -p 90 -h 1000 --json=x", 1000, false},
		{"cyclictest -h400 -q", 400, false},
		{"cyclictest -H 40 -t 2", 40, false},
		{"cyclictest --histogram=200", 200, false},
		{"cyclictest --histofall 300", 300, false},
		{"cyclictest -m -p 90 -N -h 50", 50, true},
		{"cyclictest -mqN -h 50", 50, true},
		{"cyclictest --nsecs", 0, true},
		{"cyclictest -a 1 -l 100", 0, false},
		{"cyclictest -h", 0, false},
		{"cyclictest -h -5", 0, false},
		{"cyclictest -aN", 0, false}, // -a takes an argument: not -N
		{"", 0, false},
	}
	for _, tt := range tests {
		got := parseCmdline(tt.in)
		if got.histBins != tt.bins || got.nsecs != tt.nsecs {
			t.Errorf("parseCmdline(%q) = %+v, want bins %d nsecs %v", tt.in, got, tt.bins, tt.nsecs)
		}
	}
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		name     string
		bins     []uint64
		overflow uint64
		maxNs    int64
		q        float64
		want     int64
	}{
		{"empty", nil, 0, 0, 0.5, 0},
		{"median", []uint64{0, 1, 2, 3, 4}, 0, 4000, 0.5, 3000},           // rank 5: cum 1,3,6
		{"rank on bin edge", []uint64{0, 1, 2, 3, 4}, 0, 4000, 0.6, 3000}, // rank 6
		{"just past edge", []uint64{0, 1, 2, 3, 4}, 0, 4000, 0.61, 4000},  // rank ceil(6.1)=7
		{"p99 of 100 is the 99th", append(make([]uint64, 9), 99, 1), 0, 10000, 0.99, 9000},
		{"p100", append(make([]uint64, 9), 99, 1), 0, 10000, 1, 10000},
		{"q zero is lowest", []uint64{0, 0, 5}, 0, 2000, 0, 2000},
		{"in overflow", []uint64{5, 4}, 1, 9_999_000, 0.999, 9_999_000},
		{"overflow max below range", []uint64{5, 4}, 1, 1000, 1, 2000},
		{"only overflow", []uint64{0, 0}, 3, 7000, 0.5, 7000},
		{"overflow not reached", []uint64{5, 4}, 1, 9_999_000, 0.9, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.bins, tt.overflow, tt.maxNs, tt.q); got != tt.want {
				t.Errorf("Percentile(%v, %d, %d, %v) = %d, want %d", tt.bins, tt.overflow, tt.maxNs, tt.q, got, tt.want)
			}
		})
	}
}

// TestPercentileMatchesSortedSamples checks Percentile against the
// definition: expand the histogram into samples, sort, take the
// ceil(q·N)-th.
func TestPercentileMatchesSortedSamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300; i++ {
		bins := make([]uint64, 1+rng.IntN(40))
		var samples []int64
		for v := range bins {
			if rng.IntN(3) > 0 {
				bins[v] = uint64(rng.IntN(50))
			}
			for range bins[v] {
				samples = append(samples, int64(v)*1000)
			}
		}
		overflow := uint64(rng.IntN(3))
		maxNs := int64(len(bins))*1000 + 12345
		for range overflow {
			samples = append(samples, maxNs)
		}
		if len(samples) == 0 {
			continue
		}
		slices.Sort(samples)
		for _, q := range []float64{0.01, 0.1, 0.25, 0.5, 0.9, 0.99, 0.999, 0.9999, 1} {
			rank := 1
			for float64(rank) < q*float64(len(samples))-1e-9 {
				rank++
			}
			want := samples[rank-1]
			if got := Percentile(bins, overflow, maxNs, q); got != want {
				t.Fatalf("bins %v overflow %d q %v: got %d, want %d (rank %d of %d)", bins, overflow, q, got, want, rank, len(samples))
			}
		}
	}
}

func TestSummary(t *testing.T) {
	res := parseJSONFile(t, "t1-h1000.json")
	s, err := res.Summary()
	if err != nil {
		t.Fatal(err)
	}
	th := res.Threads[0]
	if s.MinNs != th.MinNs || s.MaxNs != th.MaxNs || s.AvgNs != th.AvgNs || s.Cycles != th.Cycles || s.Overflow != 2 {
		t.Errorf("summary %+v does not carry thread stats", s)
	}
	if s.P50Ns != Percentile(th.Hist, th.Overflow, th.MaxNs, 0.5) || s.P999Ns != Percentile(th.Hist, th.Overflow, th.MaxNs, 0.999) {
		t.Errorf("summary percentiles differ from Percentile: %+v", s)
	}
	if !(s.MinNs <= s.P50Ns && s.P50Ns <= s.P90Ns && s.P90Ns <= s.P99Ns && s.P99Ns <= s.P999Ns && s.P999Ns <= s.P9999Ns && s.P9999Ns <= s.MaxNs) {
		t.Errorf("summary not ordered: %+v", s)
	}
	// 2 of 2000 samples overflow the 1000 µs histogram: p99.99 (rank
	// 2000) lies among them and is reported as the max.
	if s.P9999Ns != th.MaxNs {
		t.Errorf("p99.99 = %d, want the max %d", s.P9999Ns, th.MaxNs)
	}

	t.Run("merged threads", func(t *testing.T) {
		res := parseJSONFile(t, "t2-h30.json")
		s, err := res.Summary()
		if err != nil {
			t.Fatal(err)
		}
		a, b := res.Threads[0], res.Threads[1]
		if s.Cycles != a.Cycles+b.Cycles || s.Overflow != a.Overflow+b.Overflow || s.MinNs != min(a.MinNs, b.MinNs) || s.MaxNs != max(a.MaxNs, b.MaxNs) {
			t.Errorf("merged %+v from %+v and %+v", s, a, b)
		}
		if s.AvgNs < min(a.AvgNs, b.AvgNs) || s.AvgNs > max(a.AvgNs, b.AvgNs) {
			t.Errorf("merged avg %d outside %d..%d", s.AvgNs, a.AvgNs, b.AvgNs)
		}
	})
}

func FuzzParseJSON(f *testing.F) {
	for _, name := range []string{"t1-h1000.json", "t2-h30.json", "t1-nohist.json", "t1-nsecs-h50.json", "broken-truncated.json"} {
		f.Add(open(f, name))
	}
	f.Add([]byte(`{"file_version":1,"cmdline:":"cyclictest -h 5","thread":{"0":{"histogram":{"3":2},"cycles":3,"min":1,"max":9,"avg":4}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := ParseJSON(bytes.NewReader(b))
		if err != nil {
			if res != nil {
				t.Fatal("result with error")
			}
			return
		}
		for _, th := range res.Threads {
			var sum uint64
			for _, c := range th.Hist {
				sum += c
			}
			if th.Hist != nil && sum+th.Overflow != th.Cycles {
				t.Fatalf("bins %d + overflow %d != cycles %d", sum, th.Overflow, th.Cycles)
			}
			if s, err := th.Summary(); err == nil && th.Cycles > 0 && (s.P50Ns < 0 || s.P50Ns > s.P9999Ns) {
				t.Fatalf("summary out of order: %+v", s)
			}
		}
	})
}
