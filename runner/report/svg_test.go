package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"
)

// svgElems parses an SVG and returns its elements with their attributes
// and text, in document order, with the id of the enclosing group.
type svgElem struct {
	name, group, text string
	attr              map[string]string
}

func svgElems(t *testing.T, b []byte) []svgElem {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var out []svgElem
	var groups []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("svg is not well-formed XML: %v", err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			e := svgElem{name: tk.Name.Local, attr: map[string]string{}}
			for _, a := range tk.Attr {
				e.attr[a.Name.Local] = a.Value
			}
			if len(groups) > 0 {
				e.group = groups[len(groups)-1]
			}
			if e.name == "g" {
				groups = append(groups, e.attr["id"])
			}
			out = append(out, e)
		case xml.EndElement:
			if tk.Name.Local == "g" {
				groups = groups[:len(groups)-1]
			}
		case xml.CharData:
			if len(out) > 0 {
				out[len(out)-1].text += string(tk)
			}
		}
	}
}

// TestSVGOverflow: each series with samples beyond its histogram range
// gets a bar in the overflow column, labelled with its count, range and
// maximum; a series without overflow gets none.
func TestSVGOverflow(t *testing.T) {
	r := sampleReport(t, false) // motion: 2 beyond 1000 µs; io: 454 beyond 30 µs; cyclictest: 410 beyond 30 µs
	r.Tasks = append(r.Tasks, Task{Name: "quiet", CPU: 0, Policy: "SCHED_FIFO", Priority: 50,
		LatencyNs: Stats{Max: 9000}, Histogram: Histogram{BinNs: 1000, Counts: []uint64{0, 5, 900, 3}}})
	els := svgElems(t, render(t, func(w io.Writer) error { return WriteSVG(w, r) }))
	var bars, labels []svgElem
	for _, e := range els {
		if e.group != "overflow" {
			continue
		}
		switch e.name {
		case "rect":
			bars = append(bars, e)
		case "text":
			labels = append(labels, e)
		}
	}
	if len(bars) != 3 || len(labels) != 3 {
		t.Fatalf("%d overflow bars and %d labels, want 3 of each (motion, io, cyclictest)", len(bars), len(labels))
	}
	for _, want := range []string{"2 beyond 1000.0 µs, max 5030.0 µs", "454 beyond 30.0 µs, max 1129.0 µs", "410 beyond 30.0 µs, max 214.0 µs"} {
		found := false
		for _, l := range labels {
			found = found || strings.TrimSpace(l.text) == want
		}
		if !found {
			t.Errorf("no overflow label %q", want)
		}
	}
	// On the log scale, 454 samples stand higher (smaller y) than 2, and
	// every bar ends on the axis.
	y := func(e svgElem) string { return e.attr["y"] }
	if !(len(y(bars[1])) > 0 && parseF(t, y(bars[1])) < parseF(t, y(bars[0]))) {
		t.Errorf("bar of 454 at y=%s is not above the bar of 2 at y=%s", y(bars[1]), y(bars[0]))
	}
	for _, b := range bars {
		if end := parseF(t, b.attr["y"]) + parseF(t, b.attr["height"]); end < 397 || end > 399 {
			t.Errorf("bar ends at y=%.1f, not on the axis", end)
		}
	}
	// Labels do not overlap.
	for i := range labels {
		for j := range i {
			if d := parseF(t, labels[i].attr["y"]) - parseF(t, labels[j].attr["y"]); d > -12 && d < 12 {
				t.Errorf("overflow labels %q and %q are %.1f px apart", labels[i].text, labels[j].text, d)
			}
		}
	}
}

func parseF(t *testing.T, s string) float64 {
	t.Helper()
	var f float64
	if _, err := fmt.Sscan(s, &f); err != nil {
		t.Fatalf("number %q: %v", s, err)
	}
	return f
}

// TestSVGTitleNamesTasks: the title names each task once, phases
// included, and shortens a long list.
func TestSVGTitleNamesTasks(t *testing.T) {
	tests := []struct {
		names []string
		want  string
	}{
		{nil, "Wake-up latency"},
		{[]string{"motion"}, "Wake-up latency of task motion"},
		{[]string{"motion", "io"}, "Wake-up latency of tasks motion and io"},
		{[]string{"a", "b", "a", "b"}, "Wake-up latency of tasks a and b"}, // two phases
		{[]string{"a", "b", "c"}, "Wake-up latency of tasks a, b and c"},
		{[]string{"a", "b", "c", "d", "e", "f"}, "Wake-up latency of a, b, c, d and 2 more tasks"},
	}
	for _, tt := range tests {
		var tasks []Task
		for _, n := range tt.names {
			tasks = append(tasks, Task{Name: n})
		}
		if got := svgTitle(tasks); got != tt.want {
			t.Errorf("svgTitle(%v) = %q, want %q", tt.names, got, tt.want)
		}
	}
	r := sampleReport(t, false)
	b := render(t, func(w io.Writer) error { return WriteSVG(w, r) })
	if !bytes.Contains(b, []byte("Wake-up latency of tasks motion and io")) || bytes.Contains(b, []byte("task(s)")) {
		t.Error("the SVG title does not name the tasks")
	}
}

// TestSVGEmptyAndZero: a histogram of zeros with only overflow, and a
// task without a histogram, give finite coordinates (0 sits on the axis
// of the log scale).
func TestSVGEmptyAndZero(t *testing.T) {
	r := &Report{Tasks: []Task{
		{Name: "zeros", Histogram: Histogram{BinNs: 1000, Counts: make([]uint64, 50), Overflow: 7}},
		{Name: "none"},
	}}
	b := render(t, func(w io.Writer) error { return WriteSVG(w, r) })
	s := string(b)
	for _, bad := range []string{"NaN", "Inf"} {
		if strings.Contains(s, bad) {
			t.Errorf("svg contains %s", bad)
		}
	}
	if !strings.Contains(s, "7 beyond 50.0 µs") {
		t.Error("the overflow of an all-zero histogram is not drawn")
	}
	svgElems(t, b)
}

// TestSVGVerdictWords: the subtitle says the verdict in plain words, and
// a run that was not real-time says why in red.
func TestSVGVerdictWords(t *testing.T) {
	for _, tc := range []struct {
		r          *Report
		sub, notRT string
	}{
		{sampleReport(t, false), "verdict: VIOLATIONS", ""},
		{kernelNotRT(t), "verdict: NOT REAL-TIME", "NOT REAL-TIME: the kernel is not PREEMPT_RT"},
		{sampleReport(t, true), "verdict: NOT REAL-TIME", "NOT REAL-TIME: the tasks ran at SCHED_OTHER"},
	} {
		s := string(render(t, func(w io.Writer) error { return WriteSVG(w, tc.r) }))
		if !strings.Contains(s, tc.sub) {
			t.Errorf("%s: no %q", tc.r.Verdict, tc.sub)
		}
		if tc.notRT != "" && !strings.Contains(s, tc.notRT) {
			t.Errorf("%s: no %q", tc.r.Verdict, tc.notRT)
		}
		if tc.notRT == "" && strings.Contains(s, "NOT REAL-TIME") {
			t.Errorf("%s: says NOT REAL-TIME", tc.r.Verdict)
		}
	}
}
