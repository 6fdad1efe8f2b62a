package report

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// SVG layout, in px.
const (
	svgWidth  = 900
	plotLeft  = 80
	plotRight = 870
	histH     = 330 // histogram plot area height
	lineH     = 170 // timeline plot area height
	axisGap   = 62  // room under a plot for tick labels and the axis title
)

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"}

// series is one histogram curve.
type series struct {
	label  string
	color  string
	dashed bool
	h      Histogram
	maxNs  int64
}

// WriteSVG writes a self-contained SVG plot in the style of OSADL's
// latency plots: on top the wake-up latency histogram of every task
// (x: latency in µs, y: number of samples on a log scale, one step line
// per task, the cyclictest cross-check dashed), below it the maximum
// latency per window over the run. A run that was not real-time carries
// NOT REAL-TIME in red above the plots. The output depends only on r.
func WriteSVG(w io.Writer, r *Report) error {
	var ss []series
	for i, t := range r.Tasks {
		ss = append(ss, series{
			label: fmt.Sprintf("%s (CPU %d, %s %d)", t.Name, t.CPU, orDash(t.Policy), t.Priority),
			color: palette[i%len(palette)], h: t.Histogram, maxNs: t.LatencyNs.Max,
		})
	}
	if x := r.Cyclictest; x != nil && len(x.Histogram.Counts) > 0 {
		ss = append(ss, series{
			label: fmt.Sprintf("cyclictest %s (CPU %d, SCHED_FIFO %d)", x.Version, x.CPU, x.Priority),
			color: "#555555", dashed: true, h: x.Histogram, maxNs: x.LatencyNs.Max,
		})
	}

	top := 58
	if r.NotRealtime {
		top += 22
	}
	legendH := 18 * len(ss)
	histTop := top + 10
	lineTop := histTop + histH + axisGap + 34
	height := lineTop + lineH + axisGap

	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	p(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`+"\n",
		svgWidth, height, svgWidth, height)
	p(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	title := "Wake-up latency"
	if len(r.Tasks) > 0 {
		title += fmt.Sprintf(", %d task(s)", len(r.Tasks))
	}
	p(`<text x="%d" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", plotLeft, esc(title))
	h := r.Host
	sub := fmt.Sprintf("%s: Linux %s %s %s, %d CPUs", orDash(h.Hostname), orDash(h.KernelRelease), h.KernelVersion, h.Machine, h.CPUs)
	if !r.StartTime.IsZero() {
		sub += ", " + r.StartTime.UTC().Format("2006-01-02 15:04:05 MST")
	}
	sub += ", verdict: " + orDash(r.Verdict)
	p(`<text x="%d" y="44" fill="#333333">%s</text>`+"\n", plotLeft, esc(sub))
	if r.NotRealtime {
		p(`<text x="%d" y="66" fill="#cc0000" font-weight="bold">%s</text>`+"\n", plotLeft,
			esc("NOT REAL-TIME: this system is not set up for real-time; these are not real-time results."))
	}

	writeHistPanel(p, ss, histTop, legendH)
	writeTimelinePanel(p, r.Tasks, lineTop)
	p("</svg>\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing svg: %w", err)
	}
	return nil
}

type printer func(format string, a ...any)

func writeHistPanel(p printer, ss []series, top, legendH int) {
	// x range: up to the highest occupied bin of any series.
	xmaxUS := 0.0
	var cmax uint64
	for _, s := range ss {
		if s.h.BinNs <= 0 {
			continue
		}
		for i, c := range s.h.Counts {
			if c > 0 {
				xmaxUS = math.Max(xmaxUS, float64(int64(i+1)*s.h.BinNs)/1e3)
				cmax = max(cmax, c)
			}
		}
	}
	if xmaxUS == 0 {
		xmaxUS = 10
	}
	xstep := niceStep(xmaxUS, 10)
	xmaxUS = math.Ceil(xmaxUS/xstep-1e-9) * xstep
	// The top decade is at least twice the highest count, leaving room
	// above the peak for the legend.
	decades := 1
	if cmax > 0 {
		decades = max(1, int(math.Ceil(math.Log10(2*float64(cmax)))))
	}
	// The y axis starts at 0.5 so that a count of 1 is a visible step.
	ylo, yhi := math.Log10(0.5), float64(decades)
	X := func(us float64) float64 { return plotLeft + us/xmaxUS*(plotRight-plotLeft) }
	Y := func(c uint64) float64 {
		v := ylo
		if c > 0 {
			v = math.Log10(float64(c))
		}
		return float64(top+histH) - (v-ylo)/(yhi-ylo)*histH
	}
	bottom := top + histH

	p(`<g id="histogram">` + "\n")
	// Grid and ticks.
	for d := 0; d <= decades; d++ {
		y := Y(uint64(math.Pow(10, float64(d))))
		p(`<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#dddddd"/>`+"\n", plotLeft, f1(y), plotRight, f1(y))
		p(`<text x="%d" y="%s" text-anchor="end">%s</text>`+"\n", plotLeft-6, f1(y+4), decadeLabel(d))
	}
	for i := 0; ; i++ {
		v := float64(i) * xstep
		if v > xmaxUS+xstep/1e6 {
			break
		}
		x := X(v)
		p(`<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="#dddddd"/>`+"\n", f1(x), top, f1(x), bottom)
		p(`<text x="%s" y="%d" text-anchor="middle">%s</text>`+"\n", f1(x), bottom+16, tickLabel(v))
	}
	p(`<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#000000"/>`+"\n", plotLeft, top, plotRight-plotLeft, histH)
	p(`<text x="%d" y="%d" text-anchor="middle">Latency (µs)</text>`+"\n", (plotLeft+plotRight)/2, bottom+38)
	p(`<text transform="translate(22 %d) rotate(-90)" text-anchor="middle">Number of samples</text>`+"\n", top+histH/2)

	// One step line per series.
	for _, s := range ss {
		if s.h.BinNs <= 0 || len(s.h.Counts) == 0 {
			continue
		}
		var d strings.Builder
		base := Y(0)
		fmt.Fprintf(&d, "M%s %s", f1(X(0)), f1(base))
		cur := base
		for i, c := range s.h.Counts {
			lo := float64(int64(i)*s.h.BinNs) / 1e3
			if lo >= xmaxUS {
				break
			}
			y := Y(c)
			if y != cur {
				fmt.Fprintf(&d, "H%sV%s", f1(X(lo)), f1(y))
				cur = y
			}
		}
		end := math.Min(xmaxUS, float64(int64(len(s.h.Counts))*s.h.BinNs)/1e3)
		fmt.Fprintf(&d, "H%s", f1(X(end)))
		if cur != base {
			fmt.Fprintf(&d, "V%s", f1(base))
		}
		dash := ""
		if s.dashed {
			dash = ` stroke-dasharray="5 3"`
		}
		p(`<path d="%s" fill="none" stroke="%s" stroke-width="1.5"%s/>`+"\n", d.String(), s.color, dash)
	}

	// Legend, top right inside the plot, sized to its longest label
	// (about 6.5 px per character at 11 px).
	if len(ss) > 0 {
		labels := make([]string, len(ss))
		width := 0
		for i, s := range ss {
			labels[i] = fmt.Sprintf("%s, max %s µs", s.label, us(s.maxNs))
			if s.h.Overflow > 0 {
				labels[i] += fmt.Sprintf(", %d beyond %s µs", s.h.Overflow, us(s.h.BinNs*int64(len(s.h.Counts))))
			}
			width = max(width, 44+int(6.5*float64(utf8.RuneCountInString(labels[i]))))
		}
		width = min(width, plotRight-plotLeft-16)
		lx := plotRight - 8 - width
		p(`<rect x="%d" y="%d" width="%d" height="%d" fill="#ffffff" fill-opacity="0.85" stroke="#999999"/>`+"\n", lx, top+8, width, legendH+8)
		for i, s := range ss {
			y := top + 22 + 18*i
			dash := ""
			if s.dashed {
				dash = ` stroke-dasharray="5 3"`
			}
			p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", lx+8, y-4, lx+30, y-4, s.color, dash)
			p(`<text x="%d" y="%d" font-size="11">%s</text>`+"\n", lx+36, y, esc(labels[i]))
		}
	}
	if cmax == 0 {
		p(`<text x="%d" y="%d" text-anchor="middle" fill="#999999">no histogram data</text>`+"\n", (plotLeft+plotRight)/2, top+histH/2)
	}
	p("</g>\n")
}

func writeTimelinePanel(p printer, tasks []Task, top int) {
	var tmaxS float64
	var ymaxNs int64
	for _, t := range tasks {
		if t.WindowNs <= 0 || len(t.WindowMaxNs) == 0 {
			continue
		}
		tmaxS = math.Max(tmaxS, float64(int64(len(t.WindowMaxNs))*t.WindowNs)/1e9)
		for _, v := range t.WindowMaxNs {
			ymaxNs = max(ymaxNs, v)
		}
	}
	window := "window"
	for _, t := range tasks {
		if t.WindowNs > 0 {
			window = fmt.Sprintf("%s s window", tickLabel(float64(t.WindowNs)/1e9))
			break
		}
	}
	if tmaxS == 0 {
		tmaxS = 10
	}
	xstep := niceStep(tmaxS, 10)
	tmaxS = math.Ceil(tmaxS/xstep-1e-9) * xstep
	ymaxUS := math.Max(float64(ymaxNs)/1e3, 10)
	ystep := niceStep(ymaxUS, 5)
	ymaxUS = math.Ceil(ymaxUS/ystep-1e-9) * ystep
	X := func(s float64) float64 { return plotLeft + s/tmaxS*(plotRight-plotLeft) }
	Y := func(us float64) float64 { return float64(top+lineH) - us/ymaxUS*lineH }
	bottom := top + lineH

	p(`<g id="timeline">` + "\n")
	p(`<text x="%d" y="%d" font-weight="bold">Maximum latency per %s</text>`+"\n", plotLeft, top-10, esc(window))
	for i := 0; ; i++ {
		v := float64(i) * ystep
		if v > ymaxUS+ystep/1e6 {
			break
		}
		y := Y(v)
		p(`<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#dddddd"/>`+"\n", plotLeft, f1(y), plotRight, f1(y))
		p(`<text x="%d" y="%s" text-anchor="end">%s</text>`+"\n", plotLeft-6, f1(y+4), tickLabel(v))
	}
	for i := 0; ; i++ {
		v := float64(i) * xstep
		if v > tmaxS+xstep/1e6 {
			break
		}
		x := X(v)
		p(`<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="#dddddd"/>`+"\n", f1(x), top, f1(x), bottom)
		p(`<text x="%s" y="%d" text-anchor="middle">%s</text>`+"\n", f1(x), bottom+16, tickLabel(v))
	}
	p(`<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#000000"/>`+"\n", plotLeft, top, plotRight-plotLeft, lineH)
	p(`<text x="%d" y="%d" text-anchor="middle">Time since start (s)</text>`+"\n", (plotLeft+plotRight)/2, bottom+38)
	p(`<text transform="translate(22 %d) rotate(-90)" text-anchor="middle">Max latency (µs)</text>`+"\n", top+lineH/2)
	drawn := false
	for i, t := range tasks {
		if t.WindowNs <= 0 || len(t.WindowMaxNs) == 0 {
			continue
		}
		drawn = true
		var d strings.Builder
		for j, v := range t.WindowMaxNs {
			x0 := X(float64(int64(j)*t.WindowNs) / 1e9)
			x1 := X(float64(int64(j+1)*t.WindowNs) / 1e9)
			y := f1(Y(float64(v) / 1e3))
			if j == 0 {
				fmt.Fprintf(&d, "M%s %s", f1(x0), y)
			} else {
				fmt.Fprintf(&d, "V%s", y)
			}
			fmt.Fprintf(&d, "H%s", f1(x1))
		}
		p(`<path d="%s" fill="none" stroke="%s" stroke-width="1.5"/>`+"\n", d.String(), palette[i%len(palette)])
	}
	if !drawn {
		p(`<text x="%d" y="%d" text-anchor="middle" fill="#999999">no per-window maxima recorded</text>`+"\n", (plotLeft+plotRight)/2, top+lineH/2)
	}
	p("</g>\n")
}

// niceStep returns a step of 1, 2 or 5 times a power of ten that cuts
// span into at most about n intervals.
func niceStep(span float64, n int) float64 {
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw-1e-12 {
			return m * mag
		}
	}
	return 10 * mag
}

func tickLabel(v float64) string {
	return strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64)
}

func decadeLabel(d int) string {
	switch {
	case d < 4:
		return strconv.Itoa(int(math.Pow(10, float64(d))))
	case d < 6:
		return strconv.Itoa(int(math.Pow(10, float64(d-3)))) + "k"
	case d < 9:
		return strconv.Itoa(int(math.Pow(10, float64(d-6)))) + "M"
	default:
		return "1e" + strconv.Itoa(d)
	}
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
