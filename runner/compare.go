package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rtcell/rtcell/rt"
	"github.com/rtcell/rtcell/rt/atomicfile"
	"github.com/rtcell/rtcell/rt/cpulist"
	"github.com/rtcell/rtcell/runner/cyclictest"
	"github.com/rtcell/rtcell/runner/report"
)

// CompareSchema names the JSON layout of a comparison.
const CompareSchema = "rtcell.compare/v1"

// CompareOptions configures Compare. Zero values take the defaults shown.
type CompareOptions struct {
	CPU      int           // CPU both run on (default: the last CPU)
	Priority int           // SCHED_FIFO priority (90)
	Interval time.Duration // period (1 ms)
	Loops    int           // cycles per run (5000)
	Rounds   int           // A B pairs (3)
	Wake     rt.Wake       // rtcell's wake strategy (sleep)
	// HistogramUS is the histogram range of both, in 1 µs bins (10000).
	HistogramUS int
	// Cyclictest is the path of cyclictest (default: from PATH).
	Cyclictest string
	// Out is the directory that keeps the evidence (--out): each round's
	// cyclictest JSON and histogram, rtcell's results, the comparison
	// and the plot with the cyclictest overlay (see CompareJSONFile,
	// CompareSVGFile). cyclictest's temporary files go there too. Empty:
	// nothing is kept, and the temporary files go to os.TempDir().
	Out string
	// ProcRoot and SysRoot are where procfs and sysfs are read, for the
	// online CPUs and the busy check (DefaultProcRoot, DefaultSysRoot).
	ProcRoot, SysRoot string
	Worker            rt.WorkerOptions
	Stdout            io.Writer
	// ShareCPU runs although another rtcell process measures on CPU (by
	// default Compare refuses, naming it).
	ShareCPU bool
	// Load runs background load for the whole comparison, on every
	// online CPU but CPU, so that every cyclictest and rtcell round runs
	// under the same load: CompareLoadStressNG, CompareLoadHackbench or
	// CompareLoadBoth (rt/load's default arguments); "" for none.
	Load string
}

// Figures are the latency figures compared, in ns.
type Figures struct {
	Cycles uint64 `json:"cycles"`
	Min    int64  `json:"min"`
	Avg    int64  `json:"avg"`
	P50    int64  `json:"p50"`
	P99    int64  `json:"p99"`
	P999   int64  `json:"p999"`
	Max    int64  `json:"max"`
}

// Ratios are rtcell's figures divided by cyclictest's.
type Ratios struct {
	Min  float64 `json:"min"`
	Avg  float64 `json:"avg"`
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// Round is one A B pair.
type Round struct {
	Cyclictest Figures `json:"cyclictest"`
	Rtcell     Figures `json:"rtcell"`
	Ratio      Ratios  `json:"ratio"`
	// Busy is how busy the box was during the round; a Reason there
	// makes the comparison unreliable. Absent in the median.
	Busy *Busy `json:"busy,omitempty"`
}

// Comparison is the outcome of Compare.
type Comparison struct {
	Schema       string  `json:"schema"`
	CPU          int     `json:"cpu"`
	Priority     int     `json:"priority"`
	IntervalNs   int64   `json:"interval_ns"`
	Loops        int     `json:"loops"`
	Wake         rt.Wake `json:"wake"`
	Cmdline      string  `json:"cyclictest_cmdline"`
	Version      string  `json:"cyclictest_version"`
	Rounds       []Round `json:"rounds"`
	Median       Round   `json:"median"`
	MedianRatio  Ratios  `json:"median_ratio"`
	Verdict      string  `json:"verdict"`
	Pass         bool    `json:"pass"`
	RtcellRawP99 int64   `json:"rtcell_p99_ns_exact"`
	// Reliable is false when the box was busy during a round (see
	// Round.Busy); Unreliable then says which rounds and why. The
	// verdict stands, but it compares two tools' luck, not the tools.
	Reliable   bool   `json:"reliable"`
	Unreliable string `json:"unreliable,omitempty"`
	// Out is the directory the evidence was kept in, if any.
	Out string `json:"out,omitempty"`
	// Load is the load every round ran under (--load), nil for none.
	Load *report.Load `json:"load,omitempty"`
}

func (o *CompareOptions) defaults() error {
	if o.Priority == 0 {
		o.Priority = 90
	}
	if o.Interval == 0 {
		o.Interval = time.Millisecond
	}
	if o.Loops == 0 {
		o.Loops = 5000
	}
	if o.Rounds == 0 {
		o.Rounds = 3
	}
	if o.Wake == "" {
		o.Wake = rt.WakeSleep
	}
	if o.HistogramUS == 0 {
		o.HistogramUS = 10000
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.ProcRoot == "" {
		o.ProcRoot = DefaultProcRoot
	}
	if o.SysRoot == "" {
		o.SysRoot = DefaultSysRoot
	}
	switch {
	case o.Priority < 1 || o.Priority > 99:
		return fmt.Errorf("--priority %d: want 1–99", o.Priority)
	case o.Interval < 10*time.Microsecond:
		return fmt.Errorf("--interval %v: want at least 10µs", o.Interval)
	case o.Loops < 1:
		return fmt.Errorf("--loops %d: want at least 1", o.Loops)
	case o.Rounds < 1:
		return fmt.Errorf("--rounds %d: want at least 1", o.Rounds)
	case o.Wake != rt.WakeSleep && o.Wake != rt.WakeHybrid:
		return fmt.Errorf("--wake %q: want sleep or hybrid", o.Wake)
	case o.CPU < 0:
		return fmt.Errorf("--cpu %d: want a CPU number", o.CPU)
	}
	return checkOnline(o.CPU, o.SysRoot)
}

// checkOnline fails when cpu is not in sysfs's devices/system/cpu/online:
// cyclictest would only print its usage, rtcell fail to pin its thread.
func checkOnline(cpu int, sysRoot string) error {
	online, err := cpulist.ReadOnline(sysRoot)
	if err != nil {
		return fmt.Errorf("--cpu %d: %w (is %s a sysfs mount?)", cpu, err, sysRoot)
	}
	if !slices.Contains(online, cpu) {
		return fmt.Errorf("--cpu %d: CPU %d is not online (online: %s)", cpu, cpu, cpulist.Format(online))
	}
	return nil
}

// Compare runs cyclictest and an rtcell loop with the same parameters one
// after the other, A B A B, for o.Rounds rounds, and compares their wake
// latency. Both sets of percentiles come from 1 µs histograms by the same
// nearest-rank rule, so the comparison is like for like. Needs root (or
// CAP_SYS_NICE) and rt-tests.
func Compare(ctx context.Context, o CompareOptions) (*Comparison, error) {
	if rt.IsWorker() {
		rt.Run(ctx, compareProgram(o)) // never returns in a worker
	}
	if err := o.defaults(); err != nil {
		return nil, err
	}
	c := &Comparison{Schema: CompareSchema, CPU: o.CPU, Priority: o.Priority, IntervalNs: int64(o.Interval), Loops: o.Loops, Wake: o.Wake, Reliable: true}
	// Look cyclictest up once: a missing rt-tests is said once, not
	// per round.
	bin, err := cyclictest.LookPath(o.Cyclictest)
	if err != nil {
		return nil, err
	}
	var ev *evidence
	if o.Out != "" {
		if ev, err = newEvidence(o); err != nil {
			return nil, err
		}
		c.Out = o.Out
	}
	// Both tools' rounds run under rtcell's lease on the CPU: no other
	// rtcell run (a runner, a test) measures there meanwhile. rtcell's
	// own rounds, run inside this process, are granted the CPU under it.
	if !o.ShareCPU {
		release, err := rt.LeaseCPUs([]int{o.CPU})
		if err != nil {
			return nil, fmt.Errorf("--cpu %d: %w (pass --share-cpus to compare anyway)", o.CPU, err)
		}
		defer release()
	}
	stopLoad, err := startCompareLoad(o, c)
	if err != nil {
		return nil, err
	}
	defer stopLoad()
	// Under --load the load average is high by design: only the RT
	// CPU's steal and other tasks' run time there mark a round busy.
	meter, meterErr := newBusyMeter(o.ProcRoot, o.CPU, onlineCPUs(o.ProcRoot, o.SysRoot), o.Load != "")
	start := time.Now()
	var rawP99 []int64
	for r := 0; r < o.Rounds; r++ {
		roundStart := time.Now()
		before, sampleErr := busySample{}, meterErr
		if meter != nil {
			before, sampleErr = meter.sample()
		}
		ct, err := cyclictest.Run(ctx, cyclictest.Options{CPU: o.CPU, Priority: o.Priority, Interval: o.Interval,
			Loops: o.Loops, HistogramUS: o.HistogramUS, Path: bin, WorkDir: o.Out})
		if err != nil {
			return nil, fmt.Errorf("round %d: cyclictest: %w", r+1, err)
		}
		if len(ct.Threads) != 1 {
			return nil, fmt.Errorf("round %d: cyclictest reported %d threads, want 1", r+1, len(ct.Threads))
		}
		c.Cmdline, c.Version = ct.Cmdline, ct.Version
		th := ct.Threads[0]
		a := histFigures(th.Hist, th.Overflow, th.Cycles, th.MinNs, th.AvgNs, th.MaxNs)

		res, err := compareLoop(ctx, o)
		if err != nil {
			return nil, fmt.Errorf("round %d: rtcell: %w", r+1, err)
		}
		busy := Busy{Error: fmt.Sprint(sampleErr)}
		if sampleErr == nil {
			busy = meter.end(before)
		}
		if ev != nil {
			if err := ev.round(r+1, ct, res, roundStart, time.Now()); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrOutput, err)
			}
		}
		b := histFigures(res.Histogram, res.Overflow, res.Cycles, truncUS(res.Latency.Min), truncUS(res.Latency.Avg), truncUS(res.Latency.Max))
		rawP99 = append(rawP99, res.Latency.P99)
		c.Rounds = append(c.Rounds, Round{Cyclictest: a, Rtcell: b, Ratio: ratios(b, a), Busy: &busy})
		note := ""
		if busy.Reason != "" {
			note = " | BUSY"
		}
		fmt.Fprintf(o.Stdout, "round %d/%d: cyclictest p50 %.0f µs p99 %.0f µs | rtcell p50 %.0f µs p99 %.0f µs%s\n",
			r+1, o.Rounds, us(a.P50), us(a.P99), us(b.P50), us(b.P99), note)
	}
	c.Median = Round{Cyclictest: medianFigures(c.Rounds, func(r Round) Figures { return r.Cyclictest }),
		Rtcell: medianFigures(c.Rounds, func(r Round) Figures { return r.Rtcell })}
	c.MedianRatio = medianRatios(c.Rounds)
	c.Median.Ratio = c.MedianRatio
	c.RtcellRawP99 = medianInt(rawP99)
	c.Verdict, c.Pass = compareVerdict(c)
	stopLoad()
	c.Reliable, c.Unreliable = reliability(c.Rounds)
	if ev != nil {
		if err := ev.finish(c, start, time.Now()); err != nil {
			return c, fmt.Errorf("%w: %w", ErrOutput, err)
		}
	}
	return c, nil
}

// reliability says whether every round was quiet, and if not which ones
// were busy and why.
func reliability(rs []Round) (bool, string) {
	var why []string
	for i, r := range rs {
		if r.Busy != nil && r.Busy.Reason != "" {
			why = append(why, fmt.Sprintf("round %d: %s", i+1, r.Busy.Reason))
		}
	}
	if len(why) == 0 {
		return true, ""
	}
	return false, "the box was busy: " + strings.Join(why, "; ")
}

// busyRounds lists the busy rounds' numbers, e.g. "rounds 1, 3".
func busyRounds(rs []Round) string {
	var n []string
	for i, r := range rs {
		if r.Busy != nil && r.Busy.Reason != "" {
			n = append(n, fmt.Sprint(i+1))
		}
	}
	if len(n) == 1 {
		return "round " + n[0]
	}
	return "rounds " + strings.Join(n, ", ")
}

// reportVerdict is the verdict in the plot's subtitle.
func (c *Comparison) reportVerdict() string {
	v := "parity fail"
	if c.Pass {
		v = "parity pass"
	}
	if !c.Reliable {
		v += ", busy box"
	}
	return v
}

// compareProgram is the one-task program of an rtcell round: a loop
// with an empty cycle, as cyclictest's.
func compareProgram(o CompareOptions) rt.Program {
	return rt.Program{
		Tasks: []rt.Task{{
			Loop: rt.LoopOptions{Name: "compare", Period: o.Interval, Cycles: uint64(o.Loops), Wake: o.Wake,
				Thread: rt.ThreadOptions{CPU: o.CPU, Pin: true, Policy: rt.PolicyFIFO, Priority: o.Priority}, HistogramUS: o.HistogramUS},
			Setup: func() (rt.CycleFunc, error) { return func(*rt.Cycle) bool { return true }, nil },
		}},
		IgnoreMisses: true,
		ShareCPUs:    o.ShareCPU,
		Stdout:       io.Discard,
		Worker:       o.Worker,
	}
}

// compareLoop runs one rtcell loop in a worker process.
func compareLoop(ctx context.Context, o CompareOptions) (*rt.Result, error) {
	sum, err := rt.Run(ctx, compareProgram(o))
	if err != nil {
		return nil, err
	}
	t := sum.Tasks[0]
	if t.Failure != "" {
		return nil, fmt.Errorf("worker %s", t.Failure)
	}
	return t.Result, nil
}

// truncUS truncates ns to whole µs, as cyclictest reports.
func truncUS(ns int64) int64 { return ns / 1000 * 1000 }

func histFigures(bins []uint64, overflow, cycles uint64, minNs, avgNs, maxNs int64) Figures {
	p := func(q float64) int64 { return cyclictest.Percentile(bins, overflow, maxNs, q) }
	return Figures{Cycles: cycles, Min: minNs, Avg: avgNs, P50: p(0.50), P99: p(0.99), P999: p(0.999), Max: maxNs}
}

func ratio(a, b int64) float64 {
	if b == 0 {
		if a == 0 {
			return 1
		}
		return float64(a) / 1000 // against a 0 µs bin: compare with 1 µs
	}
	return float64(a) / float64(b)
}

func ratios(b, a Figures) Ratios {
	return Ratios{Min: ratio(b.Min, a.Min), Avg: ratio(b.Avg, a.Avg), P50: ratio(b.P50, a.P50),
		P99: ratio(b.P99, a.P99), P999: ratio(b.P999, a.P999), Max: ratio(b.Max, a.Max)}
}

func medianInt(v []int64) int64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianFloat(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianFigures(rs []Round, f func(Round) Figures) Figures {
	pick := func(g func(Figures) int64) int64 {
		var v []int64
		for _, r := range rs {
			v = append(v, g(f(r)))
		}
		return medianInt(v)
	}
	return Figures{
		Cycles: f(rs[0]).Cycles,
		Min:    pick(func(x Figures) int64 { return x.Min }),
		Avg:    pick(func(x Figures) int64 { return x.Avg }),
		P50:    pick(func(x Figures) int64 { return x.P50 }),
		P99:    pick(func(x Figures) int64 { return x.P99 }),
		P999:   pick(func(x Figures) int64 { return x.P999 }),
		Max:    pick(func(x Figures) int64 { return x.Max }),
	}
}

// medianRatios is the median over rounds of each per-round ratio.
func medianRatios(rs []Round) Ratios {
	pick := func(g func(Ratios) float64) float64 {
		var v []float64
		for _, r := range rs {
			v = append(v, g(r.Ratio))
		}
		return medianFloat(v)
	}
	return Ratios{
		Min:  pick(func(x Ratios) float64 { return x.Min }),
		Avg:  pick(func(x Ratios) float64 { return x.Avg }),
		P50:  pick(func(x Ratios) float64 { return x.P50 }),
		P99:  pick(func(x Ratios) float64 { return x.P99 }),
		P999: pick(func(x Ratios) float64 { return x.P999 }),
		Max:  pick(func(x Ratios) float64 { return x.Max }),
	}
}

// compareVerdict: in sleep mode rtcell must be within 10 % of cyclictest
// at p50 and p99 (median ratios); in hybrid mode its p99 must be ≤ 1 µs.
func compareVerdict(c *Comparison) (string, bool) {
	if c.Wake == rt.WakeHybrid {
		p99 := c.RtcellRawP99
		if p99 <= 1000 {
			return fmt.Sprintf("PASS: hybrid wake-up p99 %.2f µs ≤ 1 µs (cyclictest p99 %.0f µs)", float64(p99)/1e3, us(c.Median.Cyclictest.P99)), true
		}
		return fmt.Sprintf("FAIL: hybrid wake-up p99 %.2f µs > 1 µs", float64(p99)/1e3), false
	}
	r := c.MedianRatio
	if r.P50 <= 1.10 && r.P99 <= 1.10 {
		return fmt.Sprintf("PASS: rtcell/cyclictest median ratio p50 %.2f, p99 %.2f (≤ 1.10)", r.P50, r.P99), true
	}
	return fmt.Sprintf("FAIL: rtcell/cyclictest median ratio p50 %.2f, p99 %.2f (want ≤ 1.10)", r.P50, r.P99), false
}

func us(ns int64) float64 { return float64(ns) / 1e3 }

// WriteText prints the comparison side by side, in µs.
func (c *Comparison) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "cyclictest %s vs rtcell (wake %s): CPU %d, SCHED_FIFO %d, interval %v, %d loops, %d rounds A B A B\n",
		c.Version, c.Wake, c.CPU, c.Priority, time.Duration(c.IntervalNs), c.Loops, len(c.Rounds))
	fmt.Fprintf(w, "  %s\n", c.Cmdline)
	fmt.Fprintln(tw, "round\ttool\tmin\tavg\tp50\tp99\tp99.9\tmax\t(µs)\t")
	row := func(label, tool string, f Figures) {
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t\t\n", label, tool, us(f.Min), us(f.Avg), us(f.P50), us(f.P99), us(f.P999), us(f.Max))
	}
	for i, r := range c.Rounds {
		row(fmt.Sprint(i+1), "cyclictest", r.Cyclictest)
		row(fmt.Sprint(i+1), "rtcell", r.Rtcell)
	}
	row("median", "cyclictest", c.Median.Cyclictest)
	row("median", "rtcell", c.Median.Rtcell)
	m := c.MedianRatio
	fmt.Fprintf(tw, "median\trtcell/cyclictest\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t\t\n", m.Min, m.Avg, m.P50, m.P99, m.P999, m.Max)
	if err := tw.Flush(); err != nil {
		return err
	}
	if c.Wake == rt.WakeHybrid {
		fmt.Fprintf(w, "rtcell p99 exact (log-linear record): %.2f µs\n", float64(c.RtcellRawP99)/1e3)
	}
	for i, r := range c.Rounds {
		if r.Busy != nil && r.Busy.Reason != "" {
			fmt.Fprintf(w, "round %d busy: %s\n", i+1, r.Busy.Reason)
		}
	}
	if !c.Reliable {
		_, err := fmt.Fprintf(w, "verdict: %s — UNRELIABLE: the box was busy in %s\n", c.Verdict, busyRounds(c.Rounds))
		return err
	}
	_, err := fmt.Fprintf(w, "verdict: %s\n", c.Verdict)
	return err
}

// WriteJSONFile writes the comparison to path atomically.
func (c *Comparison) WriteJSONFile(path string) error {
	return atomicfile.Write(path, c.writeJSON, 0o644)
}

func (c *Comparison) writeJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(c)
}
