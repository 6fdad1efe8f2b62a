package metrics

import (
	"math"
	"strconv"
	"strings"
)

// The Prometheus text exposition format, version 0.0.4:
// https://prometheus.io/docs/instrumenting/exposition_formats/
//
// A family is "# HELP name text", "# TYPE name type", then its samples,
// contiguous. A sample is `name{label="value",...} value`. In HELP text a
// backslash and a newline are escaped (\\ and \n); in a label value also
// the double quote (\"). Values are Go floats: NaN, +Inf, -Inf or a number.

// ContentType is the Content-Type of the text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// escapeLabelValue escapes v for use between the double quotes of a label
// value. Invalid UTF-8, which Prometheus rejects (failing the whole
// scrape), is replaced by U+FFFD first.
func escapeLabelValue(v string) string {
	return labelEscaper.Replace(strings.ToValidUTF8(v, "\uFFFD"))
}

// escapeHelp escapes the text of a HELP line.
func escapeHelp(s string) string {
	return helpEscaper.Replace(strings.ToValidUTF8(s, "\uFFFD"))
}

// formatFloat formats a sample value as client_golang does: the shortest
// representation that parses back to the same float64.
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, +1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// seconds converts nanoseconds to seconds.
func seconds(ns int64) float64 { return float64(ns) / 1e9 }

// metricType is a family's TYPE.
type metricType string

const (
	typeCounter   metricType = "counter"
	typeGauge     metricType = "gauge"
	typeHistogram metricType = "histogram"
	typeSummary   metricType = "summary"
)

// label is one name="value" pair. Names are constants of this package;
// the value is stored escaped (newLabel), so that a task's label is
// escaped once per scrape, not once per sample.
type label struct{ name, escaped string }

// newLabel returns the label name="value", escaping value.
func newLabel(name, value string) label { return label{name, escapeLabelValue(value)} }

// textWriter accumulates an exposition. It writes into a byte slice that
// the caller reuses between scrapes.
type textWriter struct {
	b []byte
}

// family writes the HELP and TYPE lines of a family.
func (w *textWriter) family(name string, t metricType, help string) {
	w.b = append(w.b, "# HELP "...)
	w.b = append(w.b, name...)
	w.b = append(w.b, ' ')
	w.b = append(w.b, escapeHelp(help)...)
	w.b = append(w.b, "\n# TYPE "...)
	w.b = append(w.b, name...)
	w.b = append(w.b, ' ')
	w.b = append(w.b, t...)
	w.b = append(w.b, '\n')
}

// sampleStart writes `name{labels` without the closing brace, so that a
// histogram or summary can add le or quantile.
func (w *textWriter) sampleStart(name string, labels []label) {
	w.b = append(w.b, name...)
	w.b = append(w.b, '{')
	for i, l := range labels {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = append(w.b, l.name...)
		w.b = append(w.b, `="`...)
		w.b = append(w.b, l.escaped...)
		w.b = append(w.b, '"')
	}
}

// sample writes one sample line with a float value.
func (w *textWriter) sample(name string, labels []label, v float64) {
	w.sampleStart(name, labels)
	w.b = append(w.b, "} "...)
	w.b = append(w.b, formatFloat(v)...)
	w.b = append(w.b, '\n')
}

// sampleUint writes one sample line with an integer value, exactly (a
// float64 would round counts above 2^53).
func (w *textWriter) sampleUint(name string, labels []label, v uint64) {
	w.sampleStart(name, labels)
	w.b = append(w.b, "} "...)
	w.b = strconv.AppendUint(w.b, v, 10)
	w.b = append(w.b, '\n')
}

// bucket writes a histogram bucket: labels plus le.
func (w *textWriter) bucket(name string, labels []label, le string, count uint64) {
	w.sampleStart(name, labels)
	if len(labels) > 0 {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, `le="`...)
	w.b = append(w.b, le...)
	w.b = append(w.b, `"} `...)
	w.b = strconv.AppendUint(w.b, count, 10)
	w.b = append(w.b, '\n')
}

// quantile writes a summary quantile: labels plus quantile.
func (w *textWriter) quantile(name string, labels []label, q string, v float64) {
	w.sampleStart(name, labels)
	if len(labels) > 0 {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, `quantile="`...)
	w.b = append(w.b, q...)
	w.b = append(w.b, `"} `...)
	w.b = append(w.b, formatFloat(v)...)
	w.b = append(w.b, '\n')
}
