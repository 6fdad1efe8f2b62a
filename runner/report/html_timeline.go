package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Timeline plot layout, in px.
const (
	tlTop    = 28
	tlHeight = 200
	tlAxis   = 46
)

// timelineSVG plots the maximum wake latency per window of each column
// one after the other (an idle phase, then a loaded one), on a log
// scale in µs with the deadline as a dashed red line. Runs of k windows
// are drawn as their maximum (decimateMax), so that the plot has at most
// about timelinePoints steps whatever the run's length; the note says
// so when k > 1. Every string is escaped (esc).
func timelineSVG(cols []colView) (template.HTML, string) {
	k := decimation(cols)
	var totalNs int64
	var hiNs, loNs int64 = 0, math.MaxInt64
	for _, c := range cols {
		t := c.T
		if t.WindowNs <= 0 {
			continue
		}
		totalNs += int64(len(t.WindowMaxNs)) * t.WindowNs
		for _, v := range t.WindowMaxNs {
			hiNs = max(hiNs, v)
			if v > 0 {
				loNs = min(loNs, v)
			}
		}
	}
	if totalNs == 0 {
		return "", "no per-window maxima were recorded"
	}
	deadline := cols[0].T.DeadlineNs
	if deadline > 0 {
		hiNs = max(hiNs, deadline)
		loNs = min(loNs, deadline)
	}
	if loNs == math.MaxInt64 {
		loNs = 1000
	}
	// Decades of µs, at least one.
	ylo := math.Floor(math.Log10(math.Max(float64(loNs)/1e3, 0.1)))
	yhi := math.Ceil(math.Log10(math.Max(float64(hiNs)/1e3, 0.1)))
	if yhi <= ylo {
		yhi = ylo + 1
	}
	unit, unitNs := "s", 1e9
	switch {
	case totalNs >= 2*3600e9:
		unit, unitNs = "h", 3600e9
	case totalNs >= 2*60e9:
		unit, unitNs = "min", 60e9
	}
	span := float64(totalNs) / unitNs
	X := func(ns int64) float64 { return plotLeft + float64(ns)/float64(totalNs)*(plotRight-plotLeft) }
	Y := func(ns int64) float64 {
		v := ylo
		if ns > 0 {
			v = math.Max(ylo, math.Log10(float64(ns)/1e3))
		}
		return tlTop + tlHeight - (v-ylo)/(yhi-ylo)*tlHeight
	}
	bottom := tlTop + tlHeight
	legend := 0
	if len(cols) > 1 {
		legend = 18 * len(cols)
	}
	height := bottom + tlAxis + legend

	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`+"\n",
		svgWidth, height, svgWidth, height)
	p(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	for d := ylo; d <= yhi+1e-9; d++ {
		y := Y(int64(math.Pow(10, d) * 1e3))
		p(`<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#dddddd"/>`+"\n", plotLeft, f1(y), plotRight, f1(y))
		p(`<text x="%d" y="%s" text-anchor="end">%s</text>`+"\n", plotLeft-6, f1(y+4), tickLabel(math.Pow(10, d)))
	}
	step := niceStep(span, 10)
	for i := 0; ; i++ {
		v := float64(i) * step
		if v > span+step/1e6 {
			break
		}
		x := X(int64(v * unitNs))
		p(`<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="#dddddd"/>`+"\n", f1(x), tlTop, f1(x), bottom)
		p(`<text x="%s" y="%d" text-anchor="middle">%s</text>`+"\n", f1(x), bottom+16, tickLabel(v))
	}
	p(`<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#000000"/>`+"\n", plotLeft, tlTop, plotRight-plotLeft, tlHeight)
	p(`<text x="%d" y="%d" text-anchor="middle">Time since start (%s)</text>`+"\n", (plotLeft+plotRight)/2, bottom+36, unit)
	p(`<text transform="translate(22 %d) rotate(-90)" text-anchor="middle">Max latency (µs)</text>`+"\n", tlTop+tlHeight/2)
	title := "Maximum wake latency per window"
	if w := cols[0].T.WindowNs; w > 0 {
		title = fmt.Sprintf("Maximum wake latency per %s s", tickLabel(float64(w*int64(k))/1e9))
	}
	p(`<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", plotLeft, tlTop-10, esc(title))

	var off int64
	for i, c := range cols {
		t := c.T
		if t.WindowNs <= 0 || len(t.WindowMaxNs) == 0 {
			continue
		}
		color := palette[i%len(palette)]
		if i > 0 {
			x := f1(X(off))
			p(`<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="#555555" stroke-dasharray="4 3"/>`+"\n", x, tlTop, x, bottom)
		}
		if c.Label != "" {
			p(`<text x="%s" y="%d" font-size="11" fill="%s">%s</text>`+"\n", f1(X(off)+4), tlTop+14, color, esc(c.Label))
		}
		bucket := t.WindowNs * int64(k)
		var d strings.Builder
		for j, v := range decimateMax(t.WindowMaxNs, k) {
			x0 := X(off + int64(j)*bucket)
			x1 := X(min(off+int64(j+1)*bucket, off+int64(len(t.WindowMaxNs))*t.WindowNs))
			y := f1(Y(v))
			if j == 0 {
				fmt.Fprintf(&d, "M%s %s", f1(x0), y)
			} else {
				fmt.Fprintf(&d, "V%s", y)
			}
			fmt.Fprintf(&d, "H%s", f1(x1))
		}
		p(`<path d="%s" fill="none" stroke="%s" stroke-width="1.5"/>`+"\n", d.String(), color)
		off += int64(len(t.WindowMaxNs)) * t.WindowNs
	}
	if deadline > 0 {
		y := f1(Y(deadline))
		p(`<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#cc0000" stroke-dasharray="6 4"/>`+"\n", plotLeft, y, plotRight, y)
		p(`<text x="%d" y="%s" text-anchor="end" fill="#cc0000" font-size="11">deadline %s µs</text>`+"\n", plotRight-4, f1(Y(deadline)-4), us(deadline))
	}
	if legend > 0 {
		for i, c := range cols {
			y := bottom + tlAxis + 14 + 18*i
			p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", plotLeft, y-4, plotLeft+22, y-4, palette[i%len(palette)])
			p(`<text x="%d" y="%d" font-size="11">%s, max %s µs</text>`+"\n", plotLeft+28, y, esc(orDash(c.Label)), us(c.T.LatencyNs.Max))
		}
	}
	p("</svg>\n")
	note := ""
	if k > 1 {
		note = fmt.Sprintf("Each step is the maximum of %d windows of %s s (%d windows in all); the JSON keeps every window.",
			k, tickLabel(float64(cols[0].T.WindowNs)/1e9), totalWindows(cols))
	}
	return template.HTML(b.String()), note
}

func totalWindows(cols []colView) int {
	n := 0
	for _, c := range cols {
		n += len(c.T.WindowMaxNs)
	}
	return n
}
