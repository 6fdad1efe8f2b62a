package cyclictest

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Histogram is cyclictest's -h (or -H) text output, as printed on stdout
// or to --histfile. Values are as printed: bins and latencies in µs (ns
// when cyclictest ran with -N).
type Histogram struct {
	// Threads is the number of measurement threads (columns).
	Threads int
	// Bins[t][v] is thread t's count for bin v. Rows absent from the
	// text (a trimmed file) count 0; every slice has the same length,
	// the last printed bin plus one.
	Bins [][]uint64
	// Sum is the -H summary column (all threads added), nil without it.
	Sum []uint64
	// Total is "# Total:" per thread: the samples inside the bins,
	// overflows excluded. Nil when the line is absent (old versions).
	Total []uint64
	// Min, Avg and Max are the "# … Latencies:" lines per thread. Avg is
	// truncated to an integer by cyclictest.
	Min, Avg, Max []int64
	// Overflows is "# Histogram Overflows:" per thread.
	Overflows []uint64
	// OverflowCycles[t] lists thread t's logged overflow cycle numbers.
	OverflowCycles [][]uint64
	// OverflowOthers[t] is the "# NNNNN others" count of overflows that
	// did not fit in cyclictest's log.
	OverflowOthers []uint64
}

// BinSum returns the sum of thread t's bins.
func (h *Histogram) BinSum(t int) uint64 {
	var s uint64
	for _, c := range h.Bins[t] {
		s += c
	}
	return s
}

// ParseHistogram parses cyclictest's -h/-H text: lines before
// "# Histogram" (such as "# /dev/cpu_dma_latency set to 0us") are
// skipped; then come rows "%06d" followed by one "%06lu" count per thread
// (space, then tabs), and the footer lines "# Total:", "# Min Latencies:",
// "# Avg Latencies:", "# Max Latencies:", "# Histogram Overflows:",
// "# Histogram Overflow at cycle number:" and one "# Thread N:" per
// thread. The thread count comes from the "# Thread N:" lines, so the -H
// summary column and its extra footer values are recognised. Malformed
// input gives an error wrapping ErrMalformed that names the line.
func ParseHistogram(r io.Reader) (*Histogram, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	var (
		lineNo  int
		started bool
		rows    [][]uint64 // per row: bin, counts...
		footer  = map[string][]uint64{}
		h       = &Histogram{}
	)
	bad := func(format string, a ...any) error {
		return fmt.Errorf("parsing cyclictest histogram: line %d: "+format+": %w", append([]any{lineNo}, append(a, ErrMalformed)...)...)
	}
	footerKeys := []string{"Total", "Min Latencies", "Avg Latencies", "Max Latencies", "Histogram Overflows"}
	inFooter := false
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), " \t\r")
		if !started {
			started = line == "# Histogram"
			continue
		}
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "#") {
			if inFooter {
				return nil, bad("data row %q after the footer", trunc(line))
			}
			f := strings.Fields(line)
			row := make([]uint64, len(f))
			for i, s := range f {
				v, err := strconv.ParseUint(s, 10, 64)
				if err != nil {
					return nil, bad("field %d %q is not a count", i+1, trunc(s))
				}
				row[i] = v
			}
			if len(row) < 2 {
				return nil, bad("row %q has no count column", trunc(line))
			}
			if len(rows) > 0 && len(row) != len(rows[0]) {
				return nil, bad("row has %d columns, the first row had %d", len(row), len(rows[0]))
			}
			if row[0] >= maxBins {
				return nil, bad("bin %d beyond %d", row[0], maxBins-1)
			}
			if len(rows) > 0 && row[0] <= rows[len(rows)-1][0] {
				return nil, bad("bin %d does not follow bin %d", row[0], rows[len(rows)-1][0])
			}
			rows = append(rows, row)
			continue
		}
		inFooter = true
		body := strings.TrimSpace(strings.TrimPrefix(line, "#"))
		key, val, ok := strings.Cut(body, ":")
		if !ok {
			continue // an unknown comment
		}
		switch {
		case key == "Histogram Overflow at cycle number":
		case strings.HasPrefix(key, "Thread "):
			n, err := strconv.Atoi(strings.TrimPrefix(key, "Thread "))
			if err != nil || n != len(h.OverflowCycles) {
				return nil, bad("%q: want thread %d", trunc(key), len(h.OverflowCycles))
			}
			cycles, others, err := parseOverflowCycles(val)
			if err != nil {
				return nil, bad("thread %d: %v", n, err)
			}
			h.OverflowCycles = append(h.OverflowCycles, cycles)
			h.OverflowOthers = append(h.OverflowOthers, others)
		default:
			known := false
			for _, k := range footerKeys {
				known = known || k == key
			}
			if !known {
				continue // e.g. "# SMIs:" or a comment of another tool
			}
			if _, dup := footer[key]; dup {
				return nil, bad("second %q line", key)
			}
			vals, err := parseUints(val)
			if err != nil {
				return nil, bad("%s: %v", key, err)
			}
			footer[key] = vals
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading cyclictest histogram: line %d: %w", lineNo+1, err)
	}
	if !started {
		return nil, fmt.Errorf("parsing cyclictest histogram: no \"# Histogram\" line (not cyclictest -h output?): %w", ErrMalformed)
	}
	for _, k := range footerKeys[1:] {
		if _, ok := footer[k]; !ok {
			return nil, fmt.Errorf("parsing cyclictest histogram: no \"# %s:\" line (output truncated?): %w", k, ErrMalformed)
		}
	}
	h.Threads = len(h.OverflowCycles)
	if h.Threads == 0 { // old versions without per-thread cycle lines
		h.Threads = len(footer["Min Latencies"])
	}
	if h.Threads == 0 {
		return nil, fmt.Errorf("parsing cyclictest histogram: no threads in the footer: %w", ErrMalformed)
	}
	// Footer lines hold one value per thread; -H adds an all-threads value
	// to some of them, which is dropped here.
	per := func(key string) ([]uint64, error) {
		v, ok := footer[key]
		if !ok {
			return nil, nil
		}
		if len(v) != h.Threads && len(v) != h.Threads+1 {
			return nil, fmt.Errorf("parsing cyclictest histogram: \"# %s:\" has %d values for %d threads: %w", key, len(v), h.Threads, ErrMalformed)
		}
		return v[:h.Threads], nil
	}
	var err error
	if h.Total, err = per("Total"); err != nil {
		return nil, err
	}
	if h.Overflows, err = per("Histogram Overflows"); err != nil {
		return nil, err
	}
	for _, k := range []struct {
		key string
		dst *[]int64
	}{{"Min Latencies", &h.Min}, {"Avg Latencies", &h.Avg}, {"Max Latencies", &h.Max}} {
		v, err := per(k.key)
		if err != nil {
			return nil, err
		}
		*k.dst = make([]int64, len(v))
		for i, x := range v {
			if x > 1<<62 {
				return nil, fmt.Errorf("parsing cyclictest histogram: \"# %s:\" value %d out of range: %w", k.key, x, ErrMalformed)
			}
			(*k.dst)[i] = int64(x)
		}
	}
	if len(h.OverflowCycles) == 0 {
		h.OverflowCycles = make([][]uint64, h.Threads)
		h.OverflowOthers = make([]uint64, h.Threads)
	}
	cols := h.Threads
	if len(rows) > 0 {
		switch len(rows[0]) - 1 {
		case h.Threads:
		case h.Threads + 1:
			h.Sum = []uint64{}
		default:
			return nil, fmt.Errorf("parsing cyclictest histogram: rows have %d counts for %d threads: %w", len(rows[0])-1, h.Threads, ErrMalformed)
		}
	}
	n := 0
	if len(rows) > 0 {
		n = int(rows[len(rows)-1][0]) + 1
	}
	if h.Threads > 4096 || uint64(n)*uint64(h.Threads) > 1<<24 {
		return nil, fmt.Errorf("parsing cyclictest histogram: %d threads × %d bins is too large: %w", h.Threads, n, ErrMalformed)
	}
	h.Bins = make([][]uint64, h.Threads)
	for t := range h.Bins {
		h.Bins[t] = make([]uint64, n)
	}
	if h.Sum != nil {
		h.Sum = make([]uint64, n)
	}
	for _, row := range rows {
		for t := 0; t < cols; t++ {
			h.Bins[t][row[0]] = row[1+t]
		}
		if h.Sum != nil {
			var sum uint64
			for _, c := range row[1 : 1+cols] {
				sum += c
			}
			if sum != row[1+cols] {
				return nil, fmt.Errorf("parsing cyclictest histogram: bin %d: last column %d is not the -H sum %d of %d threads: %w", row[0], row[1+cols], sum, h.Threads, ErrMalformed)
			}
			h.Sum[row[0]] = sum
		}
	}
	return h, nil
}

// parseOverflowCycles parses " 00847 00993 # 00380 others".
func parseOverflowCycles(s string) ([]uint64, uint64, error) {
	list, rest, hasOthers := strings.Cut(s, "#")
	cycles, err := parseUints(list)
	if err != nil {
		return nil, 0, err
	}
	var others uint64
	if hasOthers {
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "others" {
			return nil, 0, fmt.Errorf("%q: want \"# N others\"", trunc(rest))
		}
		if others, err = strconv.ParseUint(f[0], 10, 64); err != nil {
			return nil, 0, fmt.Errorf("others count %q is not a number", trunc(f[0]))
		}
	}
	return cycles, others, nil
}

func parseUints(s string) ([]uint64, error) {
	f := strings.Fields(s)
	out := make([]uint64, len(f))
	for i, x := range f {
		v, err := strconv.ParseUint(x, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("value %q is not a number", trunc(x))
		}
		out[i] = v
	}
	return out, nil
}

// trunc shortens s for an error message.
func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
