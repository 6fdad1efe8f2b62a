package report

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
)

// WriteHistfile writes the tasks' latency histograms in cyclictest's -h
// format, one column per task in task order, so that scripts made for
// cyclictest (OSADL's plots, rteval) read it unchanged:
//
//	# Histogram
//	000000 000000	000000        bin in µs "%06d", a space, counts "%06lu" joined by tabs
//	…
//	# Total: 000009998 000009999  samples inside the bins, "%09llu"
//	# Min Latencies: 00007 00008  µs, truncated like cyclictest, "%05lu"
//	# Avg Latencies: 00011 00012
//	# Max Latencies: 00095 01203
//	# Histogram Overflows: 00000 00001
//	# Histogram Overflow at cycle number:
//	# Thread 0:
//	# Thread 1: 08472
//	(an empty line)
//
// Bins narrower than 1 µs are added up into 1 µs bins; a width that does
// not divide 1000 ns gives ErrBinWidth. All tasks get as many rows as the
// widest histogram. cyclictest logs the first overflowing cycles; the
// runner only keeps the worst ones, so a "# Thread N:" line lists the
// cycles of Worst whose latency is beyond that task's histogram, in cycle
// order, followed by "# N others" for the rest.
func WriteHistfile(w io.Writer, tasks []Task) error {
	if len(tasks) == 0 {
		return errors.New("writing histogram file: no tasks")
	}
	cols := make([][]uint64, len(tasks))
	rows := 0
	for i := range tasks {
		c, err := microsecondBins(tasks[i].Histogram)
		if err != nil {
			return fmt.Errorf("writing histogram file: task %s: %w", tasks[i].Name, err)
		}
		cols[i] = c
		rows = max(rows, len(c))
	}
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	p("# Histogram\n")
	for v := 0; v < rows; v++ {
		p("%06d ", v)
		for i, c := range cols {
			if i != 0 {
				p("\t")
			}
			var n uint64
			if v < len(c) {
				n = c[v]
			}
			p("%06d", n)
		}
		p("\n")
	}
	footer := func(label, format string, val func(i int) any) {
		p("# %s:", label)
		for i := range tasks {
			p(" "+format, val(i))
		}
		p("\n")
	}
	footer("Total", "%09d", func(i int) any {
		var s uint64
		for _, n := range cols[i] {
			s += n
		}
		return s
	})
	footer("Min Latencies", "%05d", func(i int) any { return tasks[i].LatencyNs.Min / 1000 })
	footer("Avg Latencies", "%05d", func(i int) any { return tasks[i].LatencyNs.Avg / 1000 })
	footer("Max Latencies", "%05d", func(i int) any { return tasks[i].LatencyNs.Max / 1000 })
	footer("Histogram Overflows", "%05d", func(i int) any { return tasks[i].Histogram.Overflow })
	p("# Histogram Overflow at cycle number:\n")
	for i := range tasks {
		p("# Thread %d:", i)
		limitNs := int64(len(cols[i])) * 1000
		var cycles []uint64
		for _, x := range tasks[i].Worst {
			if x.LatencyNs >= limitNs {
				cycles = append(cycles, x.Cycle)
			}
		}
		slices.Sort(cycles)
		cycles = slices.Compact(cycles)
		if of := tasks[i].Histogram.Overflow; uint64(len(cycles)) > of {
			cycles = cycles[:of]
		}
		for _, c := range cycles {
			p(" %05d", c)
		}
		if of := tasks[i].Histogram.Overflow; uint64(len(cycles)) < of {
			p(" # %05d others", of-uint64(len(cycles)))
		}
		p("\n")
	}
	p("\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing histogram file: %w", err)
	}
	return nil
}

// WriteHistfile writes the report's task histograms with WriteHistfile,
// after comment lines that name the columns and, when the run was not
// real-time, say so. cyclictest itself prints comment lines before
// "# Histogram", so readers of its format skip them.
func (r *Report) WriteHistfile(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if r.NotRealtime {
		fmt.Fprintf(bw, "# %s\n", NotRealtimeNotice)
	}
	fmt.Fprintf(bw, "# rtcell %s histogram of wake-up latency in µs; columns:", Schema)
	for i, t := range r.Tasks {
		fmt.Fprintf(bw, " %d=%s(cpu%d)", i, t.Name, t.CPU)
	}
	fmt.Fprintf(bw, "\n")
	if err := WriteHistfile(bw, r.Tasks); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing histogram file: %w", err)
	}
	return nil
}

// microsecondBins returns h's counts in 1 µs bins.
func microsecondBins(h Histogram) ([]uint64, error) {
	switch {
	case len(h.Counts) == 0:
		return nil, nil
	case h.BinNs == 1000:
		return h.Counts, nil
	case h.BinNs <= 0 || 1000%h.BinNs != 0:
		return nil, fmt.Errorf("bins of %d ns: %w", h.BinNs, ErrBinWidth)
	}
	k := int(1000 / h.BinNs)
	out := make([]uint64, (len(h.Counts)+k-1)/k)
	for i, n := range h.Counts {
		out[i/k] += n
	}
	return out, nil
}
