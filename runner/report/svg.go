package report

import (
	"bufio"
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// SVG layout, in px.
const (
	svgWidth  = 900
	plotLeft  = 80
	plotRight = 870
	histH     = 330 // histogram plot area height
	lineH     = 170 // timeline plot area height
	axisGap   = 62  // room under a plot for tick labels and the axis title
	// The histogram's rightmost ovWidth px hold the overflow column: one
	// bar per series for the samples beyond its histogram range.
	ovWidth = 70
	ovLeft  = plotRight - ovWidth
	histR   = ovLeft - 10 // right edge of the histogram's latency axis
	legendL = 18          // height of one legend line
	// maxTitleNames is how many task names the title lists before "and
	// N more".
	maxTitleNames = 4
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

// rangeNs is where the series' histogram ends: samples beyond it are
// its overflow.
func (s series) rangeNs() int64 { return s.h.BinNs * int64(len(s.h.Counts)) }

// WriteSVG writes a self-contained SVG plot in the style of OSADL's
// latency plots: on top the wake-up latency histogram of every task
// (x: latency in µs, y: number of samples on a log scale where 0 sits on
// the axis, one step line per task and phase, the cyclictest
// cross-check dashed), with a column at the right edge where each
// series' overflow (the samples beyond its histogram range) is a bar
// labelled with its count and the maximum latency; below it the maximum
// latency per window over the run. The title names the tasks; a run that
// was not real-time says NOT REAL-TIME and why in red above the plots.
// The output depends only on r.
func WriteSVG(w io.Writer, r *Report) error { return writeSVG(w, r, true) }

// writeSVG is WriteSVG, with the timeline panel or without it (the HTML
// report draws its own timeline, on a log scale with the deadline).
func writeSVG(w io.Writer, r *Report, timeline bool) error {
	var ss []series
	for i, t := range r.Tasks {
		name := t.Name
		if t.Phase != "" {
			name += " [" + t.Phase + "]"
		}
		ss = append(ss, series{
			label: fmt.Sprintf("%s (CPU %d, %s %d)", name, t.CPU, orDash(t.Policy), t.Priority),
			color: palette[i%len(palette)], h: t.Histogram, maxNs: t.LatencyNs.Max,
		})
	}
	if x := r.Cyclictest; x != nil && len(x.Histogram.Counts) > 0 {
		ss = append(ss, series{
			label: fmt.Sprintf("cyclictest %s (CPU %d, SCHED_FIFO %d)", x.Version, x.CPU, x.Priority),
			color: "#555555", dashed: true, h: x.Histogram, maxNs: x.LatencyNs.Max,
		})
	}

	notRT := r.NotRealtime || r.Verdict == VerdictNotRealtime
	top := 58
	if notRT {
		top += 22
	}
	legendH := legendL * len(ss)
	histTop := top + 10
	lineTop := histTop + histH + axisGap + legendH + 34
	height := lineTop + lineH + axisGap
	if !timeline {
		height = lineTop - 10
	}

	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	p(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`+"\n",
		svgWidth, height, svgWidth, height)
	p(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	p(`<text x="%d" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", plotLeft, esc(svgTitle(r.Tasks)))
	h := r.Host
	sub := fmt.Sprintf("%s: Linux %s %s %s, %d CPUs", orDash(h.Hostname), orDash(h.KernelRelease), h.KernelVersion, h.Machine, h.CPUs)
	if !r.StartTime.IsZero() {
		sub += ", " + r.StartTime.UTC().Format("2006-01-02 15:04:05 MST")
	}
	sub += ", verdict: " + VerdictLabel(r.Verdict)
	p(`<text x="%d" y="44" fill="#333333">%s</text>`+"\n", plotLeft, esc(sub))
	if notRT {
		p(`<text x="%d" y="66" fill="#cc0000" font-weight="bold">%s</text>`+"\n", plotLeft,
			esc("NOT REAL-TIME: "+r.NotRealtimeReason()+"; these are not real-time results."))
	}

	writeHistPanel(p, ss, histTop)
	if timeline {
		writeTimelinePanel(p, r.Tasks, lineTop)
	}
	p("</svg>\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing svg: %w", err)
	}
	return nil
}

// svgTitle names the tasks, each once (with phases a task has one
// result per phase), the first maxTitleNames of them.
func svgTitle(tasks []Task) string {
	var names []string
	for _, t := range tasks {
		if !slices.Contains(names, t.Name) {
			names = append(names, t.Name)
		}
	}
	switch {
	case len(names) == 0:
		return "Wake-up latency"
	case len(names) > maxTitleNames:
		return fmt.Sprintf("Wake-up latency of %s and %d more tasks", strings.Join(names[:maxTitleNames], ", "), len(names)-maxTitleNames)
	case len(names) == 1:
		return "Wake-up latency of task " + names[0]
	}
	return "Wake-up latency of tasks " + strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

type printer func(format string, a ...any)

func writeHistPanel(p printer, ss []series, top int) {
	// x range: up to the highest occupied bin of any series. y range: up
	// to the highest count, overflow counts included.
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
		cmax = max(cmax, s.h.Overflow)
	}
	if xmaxUS == 0 {
		xmaxUS = 10
	}
	xstep := niceStep(xmaxUS, 10)
	xmaxUS = math.Ceil(xmaxUS/xstep-1e-9) * xstep
	// The top decade is at least twice the highest count, leaving room
	// above the peak for the overflow labels.
	decades := 1
	if cmax > 0 {
		decades = max(1, int(math.Ceil(math.Log10(2*float64(cmax)))))
	}
	// The y axis is logarithmic and starts at 0.5, so that a count of 1
	// is a visible step and a count of 0 sits on the axis.
	ylo, yhi := math.Log10(0.5), float64(decades)
	X := func(us float64) float64 { return plotLeft + us/xmaxUS*(histR-plotLeft) }
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
	p(`<text x="%d" y="%d" text-anchor="middle">Latency (µs)</text>`+"\n", (plotLeft+histR)/2, bottom+38)
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
		end := math.Min(xmaxUS, float64(s.rangeNs())/1e3)
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

	writeOverflow(p, ss, Y, top)

	// Legend, under the axis title, one line per series.
	for i, s := range ss {
		y := bottom + 58 + legendL*i
		dash := ""
		if s.dashed {
			dash = ` stroke-dasharray="5 3"`
		}
		label := fmt.Sprintf("%s, max %s µs", s.label, us(s.maxNs))
		if s.h.Overflow > 0 {
			label += fmt.Sprintf(", %d beyond %s µs", s.h.Overflow, us(s.rangeNs()))
		}
		p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", plotLeft, y-4, plotLeft+22, y-4, s.color, dash)
		p(`<text x="%d" y="%d" font-size="11">%s</text>`+"\n", plotLeft+28, y, esc(label))
	}
	if cmax == 0 {
		p(`<text x="%d" y="%d" text-anchor="middle" fill="#999999">no histogram data</text>`+"\n", (plotLeft+histR)/2, top+histH/2)
	}
	p("</g>\n")
}

// writeOverflow draws the overflow column at the right edge of the
// histogram: for each series with samples beyond its range, a bar as
// high as their count on the same log scale, and a label left of the
// column with the count, the range and the maximum latency. Labels that
// would overlap are pushed down.
func writeOverflow(p printer, ss []series, Y func(uint64) float64, top int) {
	bottom := float64(top + histH)
	p(`<line x1="%d" y1="%d" x2="%d" y2="%s" stroke="#000000" stroke-dasharray="2 2"/>`+"\n", ovLeft, top, ovLeft, f1(bottom))
	p(`<text x="%d" y="%s" text-anchor="middle">beyond</text>`+"\n", ovLeft+ovWidth/2, f1(bottom+16))
	var over []series
	for _, s := range ss {
		if s.h.Overflow > 0 && s.h.BinNs > 0 {
			over = append(over, s)
		}
	}
	if len(over) == 0 {
		return
	}
	p(`<g id="overflow">` + "\n")
	bar := min(16, (ovWidth-12)/len(over))
	x0 := ovLeft + (ovWidth-bar*len(over))/2
	for i, s := range over {
		y := Y(s.h.Overflow)
		p(`<rect x="%d" y="%s" width="%d" height="%s" fill="%s" fill-opacity="0.6" stroke="%s"/>`+"\n",
			x0+bar*i, f1(y), bar, f1(bottom-y), s.color, s.color)
	}
	// Labels from the highest bar down, each at least a line below the
	// one before.
	slices.SortStableFunc(over, func(a, b series) int { return cmp.Compare(b.h.Overflow, a.h.Overflow) })
	lastY := math.Inf(-1)
	for _, s := range over {
		ly := math.Max(Y(s.h.Overflow)+4, lastY+13)
		lastY = ly
		p(`<text x="%d" y="%s" text-anchor="end" font-size="11" fill="%s">%s</text>`+"\n", ovLeft-6, f1(ly), s.color,
			esc(fmt.Sprintf("%d beyond %s µs, max %s µs", s.h.Overflow, us(s.rangeNs()), us(s.maxNs))))
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
