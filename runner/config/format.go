package config

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// TOML writes the effective config back as TOML, with every default
// spelled out, for reports and `runner --print-config`. Parsing it on
// the same machine gives the same Config, except that CPUs picked
// automatically are written as numbers (with a comment) and so come
// back with CPUAuto false.
func (c *Config) TOML() []byte {
	var b strings.Builder
	b.WriteString("[run]\n")
	if c.Run.Duration > 0 {
		fmt.Fprintf(&b, "duration = %s\n", quoteTOML(formatDuration(c.Run.Duration)))
	}
	fmt.Fprintf(&b, "preflight = %t\n", c.Run.Preflight)
	fmt.Fprintf(&b, "allow_non_rt = %t\n", c.Run.AllowNonRT)
	for _, t := range c.Tasks {
		b.WriteString("\n[[task]]\n")
		fmt.Fprintf(&b, "name = %s\n", quoteTOML(t.Name))
		fmt.Fprintf(&b, "period = %s\n", quoteTOML(formatDuration(t.Period)))
		fmt.Fprintf(&b, "deadline = %s\n", quoteTOML(formatDuration(t.Deadline)))
		fmt.Fprintf(&b, "priority = %d\n", t.Priority)
		fmt.Fprintf(&b, "policy = %s\n", quoteTOML(string(t.Policy)))
		if t.CPUAuto {
			fmt.Fprintf(&b, "cpu = %d # picked automatically\n", t.CPU)
		} else {
			fmt.Fprintf(&b, "cpu = %d\n", t.CPU)
		}
		fmt.Fprintf(&b, "wake = %s\n", quoteTOML(string(t.Wake)))
		if t.MarginAuto {
			b.WriteString("margin = \"auto\"\n")
		} else {
			fmt.Fprintf(&b, "margin = %s\n", quoteTOML(formatDuration(t.Margin)))
		}
		fmt.Fprintf(&b, "overrun = %s\n", quoteTOML(string(t.Overrun)))
		fmt.Fprintf(&b, "workload = %s\n", quoteTOML(t.Workload.String()))
		fmt.Fprintf(&b, "cycles = %d\n", t.Cycles)
		fmt.Fprintf(&b, "histogram_us = %d\n", t.HistogramUS)
	}
	r := c.Report
	if r == (Report{}) {
		return []byte(b.String())
	}
	b.WriteString("\n[report]\n")
	for _, kv := range []struct{ k, v string }{
		{"json", r.JSON}, {"histfile", r.Histfile}, {"svg", r.SVG}, {"html", r.HTML},
		{"metrics", r.Metrics}, {"metrics_textfile", r.MetricsTextfile},
	} {
		if kv.v != "" {
			fmt.Fprintf(&b, "%s = %s\n", kv.k, quoteTOML(kv.v))
		}
	}
	return []byte(b.String())
}

// quoteTOML writes s as a TOML basic string.
func quoteTOML(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == utf8.RuneError:
			b.WriteString(`\uFFFD`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
