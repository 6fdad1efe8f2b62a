package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rtcell/rtcell/rt"
	"github.com/rtcell/rtcell/rt/atomicfile"
	"github.com/rtcell/rtcell/rt/buildinfo"
	"github.com/rtcell/rtcell/runner/cyclictest"
	"github.com/rtcell/rtcell/runner/report"
)

// ErrOutput means a comparison ran but its evidence could not be written
// under --out; the command exits with ExitOutput.
var ErrOutput = errors.New("writing the comparison's files")

// Names of the files compare keeps under --out. N is the round, from 1.
const (
	// CompareJSONFile is the comparison (schema CompareSchema).
	CompareJSONFile = "compare.json"
	// CompareSVGFile is the latency plot of all rounds pooled: rtcell's
	// histogram with cyclictest's dashed over it, and rtcell's maximum
	// per window with the rounds back to back.
	CompareSVGFile = "compare.svg"
)

// roundFile names round n's files: "cyclictest.json" and
// "cyclictest.hist" as cyclictest wrote them; "rtcell.json" (a run report,
// schema report.Schema, with that round's cyclictest run as its
// cross-check), "rtcell.hist" (rtcell's histogram in cyclictest's -h
// format) and "svg" (the round's plot).
func roundFile(n int, what string) string {
	if what == "svg" {
		return fmt.Sprintf("round-%d.svg", n)
	}
	return fmt.Sprintf("round-%d-%s", n, what)
}

// evidence keeps a comparison's files in dir. Every file is written
// atomically: a reader, or a compare killed half-way, never sees half a
// file. The rounds' files are written as each round ends, so a compare
// that is stopped keeps the rounds it finished.
type evidence struct {
	dir  string
	host report.Host
	o    CompareOptions
	// pooled collects the rounds for CompareSVGFile.
	rtcell, ct []cyclictest.Thread
	windows    []int64
	windowNs   int64
	task       report.Task
}

func newEvidence(o CompareOptions) (*evidence, error) {
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, fmt.Errorf("--out %s: %w", o.Out, err)
	}
	h, _ := hostInfo(o.ProcRoot, o.SysRoot)
	return &evidence{dir: o.Out, host: h, o: o}, nil
}

func (e *evidence) write(name string, f func(io.Writer) error) error {
	p := filepath.Join(e.dir, name)
	if err := atomicfile.Write(p, f, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}

func writeBytes(b []byte) func(io.Writer) error {
	return func(w io.Writer) error { _, err := w.Write(b); return err }
}

// crossCheckOf is cyclictest's one thread as a report cross-check.
func crossCheckOf(ct *cyclictest.Result, th cyclictest.Thread, o CompareOptions) (*report.CrossCheck, error) {
	s, err := th.Summary()
	if err != nil {
		return nil, err
	}
	return &report.CrossCheck{Version: ct.Version, Cmdline: ct.Cmdline, CPU: th.CPU, Priority: o.Priority,
		IntervalNs: int64(o.Interval), Cycles: th.Cycles,
		LatencyNs: report.Stats{Min: s.MinNs, Avg: s.AvgNs, P50: s.P50Ns, P90: s.P90Ns, P99: s.P99Ns, P999: s.P999Ns, P9999: s.P9999Ns, Max: s.MaxNs},
		Histogram: report.Histogram{BinNs: th.BinNs, Counts: th.Hist, Overflow: th.Overflow},
	}, nil
}

// roundReport is rtcell's half of a round as a run report, with the
// cyclictest half as its cross-check, so that the report tools read it.
func (e *evidence) roundReport(res *rt.Result, x *report.CrossCheck, start, end time.Time) *report.Report {
	t := taskReport(res)
	t.Name = "rtcell"
	r := &report.Report{StartTime: start, EndTime: end, DurationNs: end.Sub(start).Nanoseconds(),
		Host: e.host, Tasks: []report.Task{t}, Cyclictest: x, Version: buildinfo.String()}
	switch {
	case !res.Realtime() || !e.host.Realtime:
		r.Verdict = report.VerdictNotRealtime
	case res.DeadlineMisses > 0 || res.Overruns > 0 || res.MissedReleases > 0:
		r.Verdict = report.VerdictViolations
	default:
		r.Verdict = report.VerdictPass
	}
	return r
}

// round keeps round n's files and adds the round to the pooled plot.
func (e *evidence) round(n int, ct *cyclictest.Result, res *rt.Result, start, end time.Time) error {
	th := ct.Threads[0]
	x, err := crossCheckOf(ct, th, e.o)
	if err != nil {
		return fmt.Errorf("round %d: %w", n, err)
	}
	rep := e.roundReport(res, x, start, end)
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{roundFile(n, "cyclictest.json"), writeBytes(ct.JSONText)},
		{roundFile(n, "cyclictest.hist"), writeBytes(ct.HistText)},
		{roundFile(n, "rtcell.json"), rep.WriteJSON},
		{roundFile(n, "rtcell.hist"), rep.WriteHistfile},
		{roundFile(n, "svg"), func(w io.Writer) error { return report.WriteSVG(w, rep) }},
	} {
		if err := e.write(f.name, f.write); err != nil {
			return err
		}
	}
	e.ct = append(e.ct, th)
	e.rtcell = append(e.rtcell, cyclictest.Thread{Cycles: res.Cycles, MinNs: res.Latency.Min, AvgNs: res.Latency.Avg,
		MaxNs: res.Latency.Max, Hist: res.Histogram, BinNs: 1000, Overflow: res.Overflow, CPU: th.CPU})
	e.windows = append(e.windows, res.WindowMaxNs...)
	e.windowNs = res.WindowNs
	e.task = rep.Tasks[0]
	return nil
}

// pooled sums the rounds' threads into one, for the pooled plot.
func pooled(ts []cyclictest.Thread) (cyclictest.Thread, cyclictest.Summary, error) {
	r := cyclictest.Result{Threads: ts}
	s, err := r.Summary()
	if err != nil {
		return cyclictest.Thread{}, s, err
	}
	var bins []uint64
	var overflow uint64
	for _, t := range ts {
		if len(t.Hist) > len(bins) {
			bins = append(bins, make([]uint64, len(t.Hist)-len(bins))...)
		}
		for i, c := range t.Hist {
			bins[i] += c
		}
		overflow += t.Overflow
	}
	return cyclictest.Thread{Cycles: s.Cycles, MinNs: s.MinNs, AvgNs: s.AvgNs, MaxNs: s.MaxNs, Hist: bins, BinNs: 1000,
		Overflow: overflow, CPU: ts[0].CPU}, s, nil
}

func statsOf(s cyclictest.Summary) report.Stats {
	return report.Stats{Min: s.MinNs, Avg: s.AvgNs, P50: s.P50Ns, P90: s.P90Ns, P99: s.P99Ns, P999: s.P999Ns, P9999: s.P9999Ns, Max: s.MaxNs}
}

// finish writes the comparison and the pooled plot.
func (e *evidence) finish(c *Comparison, start, end time.Time) error {
	if err := e.write(CompareJSONFile, c.writeJSON); err != nil {
		return err
	}
	if len(e.rtcell) == 0 {
		return nil
	}
	rth, rs, err := pooled(e.rtcell)
	if err != nil {
		return err
	}
	cth, cs, err := pooled(e.ct)
	if err != nil {
		return err
	}
	t := e.task
	t.Name = fmt.Sprintf("rtcell, %d round(s)", len(e.rtcell))
	t.Cycles, t.LatencyNs = rth.Cycles, statsOf(rs)
	t.Histogram = report.Histogram{BinNs: 1000, Counts: rth.Hist, Overflow: rth.Overflow}
	t.WindowMaxNs, t.WindowNs = e.windows, e.windowNs
	t.Worst = nil
	x := &report.CrossCheck{Version: c.Version, Cmdline: c.Cmdline, CPU: c.CPU, Priority: c.Priority, IntervalNs: c.IntervalNs,
		Cycles: cth.Cycles, LatencyNs: statsOf(cs), Histogram: report.Histogram{BinNs: 1000, Counts: cth.Hist, Overflow: cth.Overflow}}
	rep := &report.Report{StartTime: start, EndTime: end, DurationNs: end.Sub(start).Nanoseconds(), Host: e.host,
		Tasks: []report.Task{t}, Cyclictest: x, Version: buildinfo.String(), Verdict: c.reportVerdict()}
	return e.write(CompareSVGFile, func(w io.Writer) error { return report.WriteSVG(w, rep) })
}
