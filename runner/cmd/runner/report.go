package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rtcell/rtcell/rt/atomicfile"
	"github.com/rtcell/rtcell/rt/regularfile"
	"github.com/rtcell/rtcell/runner"
	"github.com/rtcell/rtcell/runner/report"
	"github.com/rtcell/rtcell/sysprep"
)

// Exit statuses of runner report. A systemd timer runs
// `runner report --baseline` and tells "drifted" from "could not check"
// by them.
const (
	reportExitOK      = runner.ExitOK         // rendered; or nothing drifted
	reportExitDrifted = runner.ExitViolations // 1: something drifted from the baseline
	reportExitInput   = runner.ExitConfig     // 2: bad flag, unreadable or foreign file
	reportExitOutput  = runner.ExitOutput     // 4: an output file could not be written
)

// maxInputBytes bounds each file runner report reads. A day-long run of
// four tasks at one window per second is about 4 MiB of JSON; anything
// far larger is not a run file, and reading it whole would only exhaust
// memory.
const maxInputBytes = 64 << 20

// driftKinds are the DriftItem kinds, each exported as a label value of
// rtcell_drift_items even when 0, so that a dashboard's series exist
// before the first drift.
var driftKinds = []string{"verdict", "host", "check", "task", "latency"}

func cmdReport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("runner report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the HTML report to `FILE`")
	sysprepPath := fs.String("sysprep", "", "show the checklist of `FILE` (sysprep --format json) when the runs carry none")
	baseline := fs.String("baseline", "", "compare the one run given with the commissioned run `FILE`; exit 1 if it drifted")
	tolerance := fs.Float64("tolerance", report.DefaultDriftTolerancePct, "with --baseline: how far p99 and max latency may grow, in `PCT` of the baseline")
	asJSON := fs.Bool("json", false, "with --baseline: print the drift as JSON")
	textfile := fs.String("metrics-textfile", "", "with --baseline: write the drift gauges to `FILE`.prom for node_exporter's textfile collector")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return reportExitInput
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "runner report: "+format+"\n", a...)
		return reportExitInput
	}
	switch {
	case len(files) == 0:
		return bad("no run file given (runner report RUN.json… -o report.html, or --baseline COMMISSIONED.json RUN.json)")
	case math.IsNaN(*tolerance) || math.IsInf(*tolerance, 0) || *tolerance <= 0:
		return bad("--tolerance %v: want a percentage > 0, e.g. 20", *tolerance)
	case *baseline != "" && len(files) != 1:
		return bad("--baseline compares one run, got %d run files", len(files))
	case *baseline == "" && *asJSON:
		return bad("--json prints the drift: it needs --baseline")
	case *baseline == "" && *textfile != "":
		return bad("--metrics-textfile exports the drift: it needs --baseline")
	case *baseline == "" && *out == "":
		return bad("nothing to do: give -o report.html to render, or --baseline to check for drift")
	case *textfile != "" && !strings.HasSuffix(*textfile, ".prom"):
		return bad("--metrics-textfile %q: node_exporter's textfile collector reads only *.prom files", *textfile)
	}
	inputs := append([]string{}, files...)
	if *baseline != "" {
		inputs = append(inputs, *baseline)
	}
	if *sysprepPath != "" {
		inputs = append(inputs, *sysprepPath)
	}
	for _, o := range []struct{ flag, path string }{{"-o", *out}, {"--metrics-textfile", *textfile}} {
		for _, in := range inputs {
			if o.path != "" && sameFile(o.path, in) {
				return bad("%s %q is also an input file: it would be overwritten", o.flag, o.path)
			}
		}
	}

	reps := make([]*report.Report, len(files))
	for i, f := range files {
		if reps[i], err = readRun(f); err != nil {
			return bad("%v", err)
		}
	}
	var o report.HTMLOptions
	o.Sources = files
	if *sysprepPath != "" {
		if o.Sysprep, err = readSysprep(*sysprepPath); err != nil {
			return bad("--sysprep: %v", err)
		}
	}

	code := reportExitOK
	if *baseline != "" {
		base, err := readRun(*baseline)
		if err != nil {
			return bad("--baseline: %v", err)
		}
		d := report.Compare(base, reps[0], *tolerance)
		d.Baseline, d.Current = *baseline, files[0]
		o.Drift = d
		if *asJSON {
			b, _ := json.MarshalIndent(d, "", "  ") // plain strings and numbers: cannot fail
			fmt.Fprintf(stdout, "%s\n", b)
		} else {
			writeDriftText(stdout, d)
		}
		if *textfile != "" {
			if err := atomicfile.Write(*textfile, func(w io.Writer) error { return writeDriftMetrics(w, d, time.Now()) }, 0o644); err != nil {
				fmt.Fprintf(stderr, "runner report: --metrics-textfile: %v\n", err)
				return reportExitOutput
			}
		}
		if d.Drifted {
			code = reportExitDrifted
		}
	}
	if *out != "" {
		if err := atomicfile.Write(*out, func(w io.Writer) error { return report.WriteHTML(w, reps, o) }, 0o644); err != nil {
			fmt.Fprintf(stderr, "runner report: -o: %v\n", err)
			return reportExitOutput
		}
		if !*asJSON {
			fmt.Fprintf(stdout, "wrote %s\n", *out)
		}
	}
	return code
}

// readBounded reads path whole, refusing what is not a regular file (a
// named pipe is refused at once, not waited on) or is larger than
// maxInputBytes (package regularfile).
func readBounded(path string) ([]byte, error) {
	b, err := regularfile.Read(path, maxInputBytes)
	var tl *regularfile.TooLargeError
	if errors.As(err, &tl) {
		return nil, fmt.Errorf("%s: larger than %d MiB: not a run file", path, maxInputBytes>>20)
	}
	return b, err
}

// readRun reads a run JSON (runner run --json); errors name the file.
func readRun(path string) (*report.Report, error) {
	b, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	r, err := report.ReadJSON(strings.NewReader(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// readSysprep reads a sysprep report (sysprep --format json).
func readSysprep(path string) (*sysprep.Report, error) {
	b, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	var r sysprep.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: not a sysprep JSON report: %w", path, err)
	}
	if r.Schema != sysprep.Schema {
		return nil, fmt.Errorf("%s: schema %q, want %q (make it with sysprep --format json)", path, r.Schema, sysprep.Schema)
	}
	return &r, nil
}

// sameFile reports whether a and b name one file: the same cleaned path,
// or the same inode when both exist.
func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(sa, sb)
	}
	return false
}

// writeDriftText prints the drift as a table, the drifted items first,
// and a last line a technician reads first.
func writeDriftText(w io.Writer, d *report.Drift) {
	fmt.Fprintf(w, "drift: baseline %s, current %s, latency tolerance +%s %%\n", d.Baseline, d.Current, strconv.FormatFloat(d.TolerancePct, 'f', -1, 64))
	if len(d.Items) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "\tKIND\tITEM\tBASELINE\tCURRENT")
		for _, it := range d.Items {
			mark := "changed"
			if it.Worse {
				mark = "WORSE"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", mark, it.Kind, it.Name, orDash(it.Baseline), orDash(it.Current))
		}
		tw.Flush()
	}
	worse := 0
	for _, it := range d.Items {
		if it.Worse {
			worse++
		}
	}
	if d.Drifted {
		fmt.Fprintf(w, "DRIFTED: %d item(s) worse than at commissioning\n", worse)
	} else {
		fmt.Fprintf(w, "no drift: the box is as commissioned (%d harmless change(s))\n", len(d.Items))
	}
}

// writeDriftMetrics writes the drift gauges in Prometheus' text format,
// for node_exporter's textfile collector. The names are fixed: the
// shipped alert rules use them.
func writeDriftMetrics(w io.Writer, d *report.Drift, now time.Time) error {
	counts := map[string]int{}
	for _, it := range d.Items {
		if it.Worse {
			counts[it.Kind]++
		}
	}
	var b strings.Builder
	b.WriteString("# HELP rtcell_drift 1 when the box drifted from its commissioned baseline (runner report --baseline), else 0.\n")
	b.WriteString("# TYPE rtcell_drift gauge\n")
	fmt.Fprintf(&b, "rtcell_drift %d\n", boolInt(d.Drifted))
	b.WriteString("# HELP rtcell_drift_items Items worse than at commissioning, by kind (verdict, host, check, task, latency).\n")
	b.WriteString("# TYPE rtcell_drift_items gauge\n")
	kinds := append([]string{}, driftKinds...)
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	for _, k := range kinds {
		fmt.Fprintf(&b, "rtcell_drift_items{kind=%q} %d\n", k, counts[k])
	}
	b.WriteString("# HELP rtcell_drift_last_check_timestamp_seconds When the drift was last checked, in seconds since the epoch.\n")
	b.WriteString("# TYPE rtcell_drift_last_check_timestamp_seconds gauge\n")
	fmt.Fprintf(&b, "rtcell_drift_last_check_timestamp_seconds %d\n", now.Unix())
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("writing drift metrics: %w", err)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
