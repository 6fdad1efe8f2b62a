package metrics

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

// A valid exposition with one family of each type, the base of the
// malformed cases below.
const goodExposition = `# HELP a_total A counter.
# TYPE a_total counter
a_total{task="x"} 3
# HELP g A gauge with \\ and \n in its help.
# TYPE g gauge
g{task="x",path="C:\\dir \"q\"\nnext"} NaN
# HELP h A histogram.
# TYPE h histogram
h_bucket{task="x",le="1e-06"} 1
h_bucket{task="x",le="0.5"} 2
h_bucket{task="x",le="+Inf"} 2
h_sum{task="x"} 0.25
h_count{task="x"} 2
# HELP s A summary.
# TYPE s summary
s{task="x",quantile="0.5"} 1
s{task="x",quantile="0.99"} 2
s_sum{task="x"} 3
s_count{task="x"} 2
`

func TestParserAcceptsGood(t *testing.T) {
	e, err := parseExposition(goodExposition)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := e.value("g", "task", "x", "path", "C:\\dir \"q\"\nnext"); !ok || !math.IsNaN(v) {
		t.Errorf("escaped label value not parsed back: %v %v", v, ok)
	}
	if f := e.byName["g"]; f.help != "A gauge with \\ and \n in its help." {
		t.Errorf("help %q", f.help)
	}
}

// TestParserRejects: the test parser must reject what Prometheus rejects,
// or the collector tests built on it prove nothing.
func TestParserRejects(t *testing.T) {
	cases := []struct{ name, old, new string }{
		{"no trailing newline", "s_count{task=\"x\"} 2\n", "s_count{task=\"x\"} 2"},
		{"sample before TYPE", "# TYPE a_total counter\n", ""},
		{"TYPE before HELP", "# HELP a_total A counter.\n# TYPE a_total counter\n", "# TYPE a_total counter\n# HELP a_total A counter.\n"},
		{"counter without _total", "a_total", "a_count"},
		{"negative counter", "a_total{task=\"x\"} 3", "a_total{task=\"x\"} -3"},
		{"unknown type", "# TYPE g gauge", "# TYPE g gauges"},
		{"duplicate series", "a_total{task=\"x\"} 3\n", "a_total{task=\"x\"} 3\na_total{task=\"x\"} 4\n"},
		{"family twice", "# HELP s A summary.", "# HELP a_total again\n# TYPE a_total counter\n# HELP s A summary."},
		{"sample of another family", "g{task=\"x\",path", "a_total{task=\"y\",path"},
		{"unterminated label value", `path="C:\\dir \"q\"\nnext"}`, `path="C:\\dir`},
		{"raw quote in label value", `\"q\"`, `"q"`},
		{"bad escape", `\nnext`, `\tnext`},
		{"bad label name", `path=`, `0path=`},
		{"reserved label name", `path=`, `__path=`},
		{"label twice", `{task="x",path=`, `{task="x",task=`},
		{"timestamp", "a_total{task=\"x\"} 3\n", "a_total{task=\"x\"} 3 1700000000\n"},
		{"bad value", "a_total{task=\"x\"} 3\n", "a_total{task=\"x\"} three\n"},
		{"hex value", "a_total{task=\"x\"} 3\n", "a_total{task=\"x\"} 0x3\n"},
		{"empty line", "# HELP g", "\n# HELP g"},
		{"stray comment", "# HELP g", "# hello\n# HELP g"},
		{"bucket without le", `h_bucket{task="x",le="0.5"}`, `h_bucket{task="x"}`},
		{"le not increasing", `le="0.5"`, `le="1e-07"`},
		{"le repeated", `le="0.5"`, `le="1e-06"`},
		{"bucket count decreasing", `le="0.5"} 2`, `le="0.5"} 0`},
		{"no +Inf bucket", "h_bucket{task=\"x\",le=\"+Inf\"} 2\n", ""},
		{"+Inf != _count", `h_count{task="x"} 2`, `h_count{task="x"} 3`},
		{"histogram without _sum", "h_sum{task=\"x\"} 0.25\n", ""},
		{"quantile out of range", `quantile="0.99"`, `quantile="1.5"`},
		{"summary without _count", "s_count{task=\"x\"} 2\n", ""},
		{"summary sample without quantile", `s{task="x",quantile="0.5"}`, `s{task="x"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(goodExposition, c.old) {
				t.Fatalf("case does not apply: %q not in the base exposition", c.old)
			}
			bad := strings.Replace(goodExposition, c.old, c.new, 1)
			if _, err := parseExposition(bad); err == nil {
				t.Errorf("accepted:\n%s", bad)
			}
		})
	}
}

func TestEscapeLabelValue(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "pump-1", "pump-1"},
		{"empty", "", ""},
		{"quote", `a"b`, `a\"b`},
		{"backslash", `a\b`, `a\\b`},
		{"newline", "a\nb", `a\nb`},
		{"backslash n is not a newline", `a\nb`, `a\\nb`},
		{"all", "\\\"\n", `\\\"\n`},
		{"utf-8 kept", "Förderband µs", "Förderband µs"},
		{"invalid utf-8 replaced", "a\xffb", "a\uFFFDb"},
		{"tab and braces kept", "a\t{b}=,", "a\t{b}=,"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := escapeLabelValue(c.in); got != c.want {
				t.Errorf("escapeLabelValue(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

// FuzzLabelEscaping: any task name, once escaped, makes a sample line that
// the strict parser reads back as the same name (invalid UTF-8 replaced),
// and a HELP text survives the same way.
func FuzzLabelEscaping(f *testing.F) {
	for _, s := range []string{"", "pump", `a"b`, `a\b`, "a\nb", `\n`, "\\\"\n", "a\xffb", "}", `"} 1`, "\r\n", "µ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var w textWriter
		w.family("m", typeGauge, "help "+s)
		w.sample("m", []label{newLabel("task", s), newLabel("other", s)}, 1)
		w.quantile("m_q", []label{newLabel("task", s)}, "0.5", 2)
		out := string(w.b)
		if n := strings.Count(out, "\n"); n != 4 {
			t.Fatalf("%d lines, want 4 (an unescaped newline?):\n%s", n, out)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("output is not valid UTF-8: %q", out)
		}
		lines := strings.Split(out, "\n")
		want := strings.ToValidUTF8(s, "\uFFFD")
		smp, err := parseSampleLine(lines[2])
		if err != nil {
			t.Fatalf("%v", err)
		}
		if smp.labels["task"] != want || smp.labels["other"] != want || smp.value != 1 {
			t.Fatalf("round trip of %q gave %q", s, smp.labels)
		}
		q, err := parseSampleLine(lines[3])
		if err != nil || q.labels["task"] != want || q.labels["quantile"] != "0.5" {
			t.Fatalf("quantile line %q: %v %v", lines[3], q.labels, err)
		}
		help, err := unescape(strings.TrimPrefix(lines[0], "# HELP m "), false)
		if err != nil || help != "help "+want {
			t.Fatalf("help line %q: %q %v", lines[0], help, err)
		}
	})
}

func TestFormatFloat(t *testing.T) {
	cases := []struct {
		name string
		in   float64
		want string
	}{
		{"NaN", math.NaN(), "NaN"},
		{"+Inf", math.Inf(1), "+Inf"},
		{"-Inf", math.Inf(-1), "-Inf"},
		{"zero", 0, "0"},
		{"1 µs", 1e-6, "1e-06"},
		{"ms", 0.001, "0.001"},
		{"unix time", 1.7e9 + 0.25, "1.70000000025e+09"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := formatFloat(c.in)
			if got != c.want {
				t.Errorf("formatFloat(%v) = %q, want %q", c.in, got, c.want)
			}
			back, err := parseValue(got)
			if err != nil || (back != c.in && !(math.IsNaN(back) && math.IsNaN(c.in))) {
				t.Errorf("%q parses back as %v, %v", got, back, err)
			}
		})
	}
}
