package cyclictest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// maxBins bounds the histogram size a parser accepts. It is cyclictest's
// own HIST_MAX (1,000,000 bins, 1 s at 1 µs); a larger index is malformed
// input, not a latency.
const maxBins = 1_000_000

// Result is one cyclictest run, from its --json file.
type Result struct {
	// FileVersion is the JSON "file_version" (1 for rt-tests 2.x).
	FileVersion int
	// Version is rt-tests' version, e.g. "2.40".
	Version string
	// Cmdline is the command line cyclictest was started with.
	Cmdline string
	// StartTime and EndTime are as cyclictest wrote them (RFC 1123 with
	// a numeric zone, e.g. "Sun, 22 Nov 2026 10:46:53 +0000").
	StartTime, EndTime string
	// ReturnCode is cyclictest's own exit code.
	ReturnCode int
	// Sysinfo is the uname of the box and whether it is PREEMPT_RT.
	Sysinfo Sysinfo
	// ResolutionNs is the JSON "resolution_in_ns" (0 unless -R).
	ResolutionNs int64
	// Nsecs is true when cyclictest ran with -N: it then reports ns and
	// its histogram bins are 1 ns wide.
	Nsecs bool
	// Threads holds one entry per measurement thread, in thread order.
	Threads []Thread
	// JSONText and HistText are the --json and --histfile files as
	// cyclictest wrote them, for keeping beside a report; Run sets them,
	// ParseJSON does not.
	JSONText, HistText []byte
}

// Sysinfo is the JSON "sysinfo" object.
type Sysinfo struct {
	Sysname, Nodename, Release, Version, Machine string
	// Realtime is /sys/kernel/realtime == 1 (a PREEMPT_RT kernel).
	Realtime bool
}

// Thread is one measurement thread's statistics.
type Thread struct {
	// Cycles is the number of wake-ups measured.
	Cycles uint64
	// MinNs, AvgNs and MaxNs are the wake-up latency in ns. cyclictest
	// measures in whole µs (truncated), so they are multiples of 1000
	// except AvgNs.
	MinNs, AvgNs, MaxNs int64
	// Hist holds the count per bin, 1 µs wide (1 ns with -N): Hist[i] is
	// the number of wake-ups with latency in [i, i+1) µs. Its length is
	// the -h size when the command line shows it. It is nil when the run
	// had no histogram.
	Hist []uint64
	// BinNs is the width of one Hist bin in ns: 1000, or 1 with -N.
	BinNs int64
	// Overflow is the number of wake-ups beyond the last bin. The JSON
	// file does not record it: it is Cycles minus the histogram's sum.
	Overflow uint64
	// OverflowCycles lists the cycle numbers (0-based) that overflowed,
	// as far as cyclictest logged them. Only the -h text has them; Run
	// fills them in.
	OverflowCycles []uint64
	// CPU and Node are where the thread ran.
	CPU, Node int
}

// Summary is a latency summary in ns, percentiles by the nearest-rank
// rule over the histogram (see Percentile).
type Summary struct {
	Cycles                                                    uint64
	MinNs, AvgNs, P50Ns, P90Ns, P99Ns, P999Ns, P9999Ns, MaxNs int64
	// Overflow is the number of samples beyond the histogram: a
	// percentile that falls there is reported as MaxNs.
	Overflow uint64
}

// Summary returns the thread's latency summary. It fails with
// ErrNoHistogram when the thread has no histogram.
func (t *Thread) Summary() (Summary, error) {
	if t.Hist == nil {
		return Summary{}, fmt.Errorf("summarising thread on cpu %d: %w", t.CPU, ErrNoHistogram)
	}
	binNs := t.BinNs
	if binNs <= 0 {
		binNs = 1000
	}
	p := func(q float64) int64 { return percentile(t.Hist, binNs, t.Overflow, t.MaxNs, q) }
	return Summary{
		Cycles: t.Cycles, MinNs: t.MinNs, AvgNs: t.AvgNs, MaxNs: t.MaxNs, Overflow: t.Overflow,
		P50Ns: p(0.50), P90Ns: p(0.90), P99Ns: p(0.99), P999Ns: p(0.999), P9999Ns: p(0.9999),
	}, nil
}

// Summary merges all threads into one summary: the histograms are added,
// min and max are taken over threads and avg is weighted by cycles. With
// one thread (what Run measures) it equals Threads[0].Summary().
func (r *Result) Summary() (Summary, error) {
	if len(r.Threads) == 0 {
		return Summary{}, fmt.Errorf("summarising cyclictest result: no threads: %w", ErrMalformed)
	}
	if len(r.Threads) == 1 {
		return r.Threads[0].Summary()
	}
	m := Thread{MinNs: math.MaxInt64, BinNs: r.Threads[0].BinNs, Hist: []uint64{}}
	var sum float64
	for i := range r.Threads {
		t := &r.Threads[i]
		if t.Hist == nil {
			return Summary{}, fmt.Errorf("summarising thread %d: %w", i, ErrNoHistogram)
		}
		if t.BinNs != m.BinNs {
			return Summary{}, fmt.Errorf("summarising thread %d: bin width %d ns differs from %d ns: %w", i, t.BinNs, m.BinNs, ErrMalformed)
		}
		if len(t.Hist) > len(m.Hist) {
			m.Hist = append(m.Hist, make([]uint64, len(t.Hist)-len(m.Hist))...)
		}
		for j, c := range t.Hist {
			m.Hist[j] += c
		}
		m.Cycles += t.Cycles
		m.Overflow += t.Overflow
		m.MinNs = min(m.MinNs, t.MinNs)
		m.MaxNs = max(m.MaxNs, t.MaxNs)
		sum += float64(t.AvgNs) * float64(t.Cycles)
	}
	if m.Cycles > 0 {
		m.AvgNs = int64(math.Round(sum / float64(m.Cycles)))
	}
	return m.Summary()
}

// Percentile returns the q-quantile (0 < q ≤ 1, e.g. 0.999) in ns of a
// histogram with 1 µs bins, by the nearest-rank rule: with N samples
// (bins plus overflow), it is the smallest bin v whose cumulative count
// reaches ceil(q·N), converted as v·1000 ns (the bin's lower edge, as
// cyclictest truncates to µs). A rank that falls among the overflow
// samples is beyond the last bin: Percentile returns maxNs, the observed
// maximum, or len(bins)·1000 if maxNs is smaller. q ≤ 0 gives the lowest
// occupied bin; no samples give 0.
func Percentile(bins []uint64, overflow uint64, maxNs int64, q float64) int64 {
	return percentile(bins, 1000, overflow, maxNs, q)
}

func percentile(bins []uint64, binNs int64, overflow uint64, maxNs int64, q float64) int64 {
	var n uint64
	for _, c := range bins {
		n += c
	}
	n += overflow
	if n == 0 {
		return 0
	}
	rank := nearestRank(q, n)
	var cum uint64
	for v, c := range bins {
		cum += c
		if cum >= rank {
			return int64(v) * binNs
		}
	}
	return max(maxNs, int64(len(bins))*binNs)
}

// nearestRank is ceil(q·n) clamped to [1, n]. q·n is snapped to the
// nearest integer when it is within float rounding of one, so that
// 0.99·100 gives rank 99, not 100.
func nearestRank(q float64, n uint64) uint64 {
	if !(q > 0) { // also NaN
		return 1
	}
	if q >= 1 {
		return n
	}
	x := q * float64(n)
	if r := math.Round(x); math.Abs(x-r) <= 1e-9*math.Max(1, x) {
		x = r
	}
	rank := uint64(math.Ceil(x))
	return min(max(rank, 1), n)
}

// jsonFile mirrors cyclictest's --json output. The two keys with a
// trailing colon are spelled that way by cyclictest itself.
type jsonFile struct {
	FileVersion  *int                   `json:"file_version"`
	Cmdline      string                 `json:"cmdline:"`
	Version      string                 `json:"rt_test_version:"`
	StartTime    string                 `json:"start_time"`
	EndTime      string                 `json:"end_time"`
	ReturnCode   int                    `json:"return_code"`
	Sysinfo      jsonSysinfo            `json:"sysinfo"`
	NumThreads   *int                   `json:"num_threads"`
	ResolutionNs int64                  `json:"resolution_in_ns"`
	Thread       map[string]*jsonThread `json:"thread"`
}

type jsonSysinfo struct {
	Sysname  string `json:"sysname"`
	Nodename string `json:"nodename"`
	Release  string `json:"release"`
	Version  string `json:"version"`
	Machine  string `json:"machine"`
	Realtime int    `json:"realtime"`
}

type jsonThread struct {
	Histogram map[string]uint64 `json:"histogram"`
	Cycles    *uint64           `json:"cycles"`
	Min       *int64            `json:"min"`
	Max       *int64            `json:"max"`
	Avg       *float64          `json:"avg"`
	CPU       int               `json:"cpu"`
	Node      int               `json:"node"`
}

// ParseJSON parses the file cyclictest writes with --json=FILE. The
// histogram is sized from the -h/-H value on the recorded command line;
// without one the threads have no histogram (Hist is nil). Malformed input
// gives an error wrapping ErrMalformed that names the offending key.
func ParseJSON(r io.Reader) (*Result, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading cyclictest json: %w", err)
	}
	var f jsonFile
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parsing cyclictest json: %w: %w", ErrMalformed, err)
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("parsing cyclictest json: "+format+": %w", append(a, ErrMalformed)...)
	}
	if f.FileVersion == nil {
		return nil, bad("missing key file_version (is this a cyclictest --json file?)")
	}
	if f.Thread == nil {
		return nil, bad("missing key thread")
	}
	if f.NumThreads != nil && *f.NumThreads != len(f.Thread) {
		return nil, bad("num_threads is %d but thread has %d entries", *f.NumThreads, len(f.Thread))
	}
	cmd := parseCmdline(f.Cmdline)
	if uint64(cmd.histBins)*uint64(len(f.Thread)) > 1<<24 {
		return nil, bad("%d threads × %d bins is too large", len(f.Thread), cmd.histBins)
	}
	var binsTotal int
	res := &Result{
		FileVersion: *f.FileVersion, Version: f.Version, Cmdline: f.Cmdline,
		StartTime: f.StartTime, EndTime: f.EndTime, ReturnCode: f.ReturnCode,
		Sysinfo: Sysinfo{
			Sysname: f.Sysinfo.Sysname, Nodename: f.Sysinfo.Nodename, Release: f.Sysinfo.Release,
			Version: f.Sysinfo.Version, Machine: f.Sysinfo.Machine, Realtime: f.Sysinfo.Realtime == 1,
		},
		ResolutionNs: f.ResolutionNs,
		Nsecs:        cmd.nsecs,
		Threads:      make([]Thread, len(f.Thread)),
	}
	unitNs := int64(1000)
	if cmd.nsecs {
		unitNs = 1
	}
	for _, key := range sortedKeys(f.Thread) {
		jt := f.Thread[key]
		i, err := strconv.Atoi(key)
		if err != nil || i < 0 || i >= len(f.Thread) || strconv.Itoa(i) != key {
			return nil, bad("thread key %q: want 0..%d", key, len(f.Thread)-1)
		}
		if jt == nil {
			return nil, bad("thread %q is null", key)
		}
		if jt.Cycles == nil || jt.Min == nil || jt.Max == nil || jt.Avg == nil {
			return nil, bad("thread %q lacks one of cycles, min, max, avg", key)
		}
		t := Thread{Cycles: *jt.Cycles, BinNs: unitNs, CPU: jt.CPU, Node: jt.Node}
		if t.Cycles > 0 { // with no cycles cyclictest leaves min at its start value
			mn, mx, avg := *jt.Min, *jt.Max, *jt.Avg
			if mn < 0 || mx < mn || mx > math.MaxInt64/unitNs || !(avg >= float64(mn) && avg <= float64(mx)) {
				return nil, bad("thread %q: min %d, avg %v, max %d are inconsistent", key, mn, avg, mx)
			}
			t.MinNs, t.MaxNs = mn*unitNs, mx*unitNs
			t.AvgNs = int64(math.Round(avg * float64(unitNs)))
		}
		if cmd.histBins > 0 || len(jt.Histogram) > 0 {
			hist, sum, err := histFromJSON(jt.Histogram, cmd.histBins)
			if err != nil {
				return nil, bad("thread %q: %v", key, err)
			}
			if sum > t.Cycles {
				return nil, bad("thread %q: histogram holds %d samples but cycles is %d", key, sum, t.Cycles)
			}
			if binsTotal += len(hist); binsTotal > 1<<24 {
				return nil, bad("%d threads × up to %d bins is too large", len(f.Thread), len(hist))
			}
			t.Hist, t.Overflow = hist, t.Cycles-sum
		}
		res.Threads[i] = t
	}
	return res, nil
}

func histFromJSON(m map[string]uint64, size int) ([]uint64, uint64, error) {
	n := size
	for _, k := range sortedKeys(m) {
		v, err := strconv.Atoi(k)
		if err != nil || v < 0 || v >= maxBins || strconv.Itoa(v) != k {
			return nil, 0, fmt.Errorf("histogram key %q is not a bin number 0..%d", k, maxBins-1)
		}
		if v+1 > n {
			if size > 0 {
				return nil, 0, fmt.Errorf("histogram bin %d is beyond the -h size %d", v, size)
			}
			n = v + 1
		}
	}
	hist := make([]uint64, n)
	var sum uint64
	for k, c := range m {
		v, _ := strconv.Atoi(k)
		hist[v] = c
		if sum+c < sum {
			return nil, 0, fmt.Errorf("histogram counts overflow uint64")
		}
		sum += c
	}
	return hist, sum, nil
}

// cmdline holds what ParseJSON needs from cyclictest's command line.
type cmdline struct {
	histBins int  // -h/-H/--histogram/--histofall value, 0 if absent
	nsecs    bool // -N/--nsecs
}

// parseCmdline reads -h N, -hN, --histogram=N, --histogram N (and the -H
// variants) and -N from a cyclictest command line. Short flags that take
// no argument may be clustered (-mqN).
func parseCmdline(s string) cmdline {
	var c cmdline
	f := strings.Fields(s)
	for i := 0; i < len(f); i++ {
		a := f[i]
		next := func() string {
			if i+1 < len(f) {
				i++
				return f[i]
			}
			return ""
		}
		var val string
		switch {
		case a == "--nsecs":
			c.nsecs = true
			continue
		case a == "-h", a == "-H", a == "--histogram", a == "--histofall":
			val = next()
		case strings.HasPrefix(a, "--histogram="), strings.HasPrefix(a, "--histofall="):
			_, val, _ = strings.Cut(a, "=")
		case (strings.HasPrefix(a, "-h") || strings.HasPrefix(a, "-H")) && len(a) > 2:
			val = a[2:]
		case len(a) > 1 && a[0] == '-' && a[1] != '-':
			flags := a[1:]
			if strings.ContainsRune(flags, 'N') && strings.Trim(flags, "mMNqrRsSuvx") == "" {
				c.nsecs = true
			}
			continue
		default:
			continue
		}
		if n, err := strconv.Atoi(val); err == nil && n > 0 && n <= maxBins {
			c.histBins = n
		}
	}
	return c
}

// sortedKeys returns m's keys in order, for deterministic error messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
