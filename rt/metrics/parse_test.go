package metrics

import (
	"bufio"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// A strict parser of the Prometheus text format 0.0.4, written for these
// tests. It checks what a Prometheus server and promtool would reject or
// warn about: every line parses; each family has HELP then TYPE before its
// samples, and its samples are contiguous; sample names belong to their
// family; no series twice; counters end in _total; histogram buckets have
// ascending le ending in +Inf, non-decreasing counts, and +Inf == _count;
// summaries have quantiles in [0, 1], _sum and _count.

type expSample struct {
	name   string
	labels map[string]string
	value  float64
}

type expFamily struct {
	name    string
	help    string
	typ     string
	samples []expSample
}

type exposition struct {
	families []*expFamily
	byName   map[string]*expFamily
}

func isNameStart(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
func isNameChar(c byte) bool { return isNameStart(c) || c >= '0' && c <= '9' }

func validMetricName(s string) bool {
	if s == "" || !isNameStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return false
		}
	}
	return true
}

func validLabelName(s string) bool {
	return validMetricName(s) && !strings.Contains(s, ":") && !strings.HasPrefix(s, "__")
}

// unescape undoes the escaping of a HELP text (quote false) or a label
// value (quote true); any other backslash sequence is an error.
func unescape(s string, quote bool) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			return "", fmt.Errorf("trailing backslash in %q", s)
		}
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		case '"':
			if !quote {
				return "", fmt.Errorf(`\" in HELP text %q`, s)
			}
			b.WriteByte('"')
		default:
			return "", fmt.Errorf("bad escape \\%c in %q", s[i], s)
		}
	}
	return b.String(), nil
}

// parseSampleLine parses `name{a="x",b="y"} value`.
func parseSampleLine(line string) (expSample, error) {
	s := expSample{labels: map[string]string{}}
	i := 0
	for i < len(line) && isNameChar(line[i]) {
		i++
	}
	s.name = line[:i]
	if !validMetricName(s.name) {
		return s, fmt.Errorf("bad metric name in %q", line)
	}
	if i < len(line) && line[i] == '{' {
		i++
		for {
			if i < len(line) && line[i] == '}' {
				i++
				break
			}
			j := i
			for j < len(line) && isNameChar(line[j]) {
				j++
			}
			name := line[i:j]
			if !validLabelName(name) {
				return s, fmt.Errorf("bad label name %q in %q", name, line)
			}
			if !strings.HasPrefix(line[j:], `="`) {
				return s, fmt.Errorf(`label %s without ="  in %q`, name, line)
			}
			j += 2
			k := j
			for k < len(line) && line[k] != '"' {
				if line[k] == '\\' {
					k++
				}
				k++
			}
			if k >= len(line) {
				return s, fmt.Errorf("unterminated label value in %q", line)
			}
			v, err := unescape(line[j:k], true)
			if err != nil {
				return s, err
			}
			if _, dup := s.labels[name]; dup {
				return s, fmt.Errorf("label %s twice in %q", name, line)
			}
			s.labels[name] = v
			i = k + 1
			if i < len(line) && line[i] == ',' {
				i++
				continue
			}
			if i < len(line) && line[i] == '}' {
				i++
				break
			}
			return s, fmt.Errorf("expected , or } after label %s in %q", name, line)
		}
	}
	if i >= len(line) || line[i] != ' ' {
		return s, fmt.Errorf("no single space before the value in %q", line)
	}
	val := line[i+1:]
	if strings.ContainsAny(val, " \t") {
		return s, fmt.Errorf("extra fields (a timestamp?) in %q", line)
	}
	v, err := parseValue(val)
	if err != nil {
		return s, fmt.Errorf("bad value in %q: %w", line, err)
	}
	s.value = v
	return s, nil
}

func parseValue(s string) (float64, error) {
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "+Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	}
	if s == "" || strings.ContainsAny(s, "xXpP_") || strings.EqualFold(s, "inf") || strings.EqualFold(s, "infinity") || strings.EqualFold(s, "nan") {
		return 0, fmt.Errorf("%q is not a Prometheus float", s)
	}
	return strconv.ParseFloat(s, 64)
}

// familyOf returns the family a sample name belongs to, given its type.
func belongs(f *expFamily, sample string) bool {
	switch f.typ {
	case "histogram":
		return sample == f.name+"_bucket" || sample == f.name+"_sum" || sample == f.name+"_count"
	case "summary":
		return sample == f.name || sample == f.name+"_sum" || sample == f.name+"_count"
	}
	return sample == f.name
}

// seriesKey is the sample name and its sorted labels.
func seriesKey(s expSample) string {
	keys := make([]string, 0, len(s.labels))
	for k := range s.labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(s.name)
	for _, k := range keys {
		fmt.Fprintf(&b, "\x00%s=%q", k, s.labels[k])
	}
	return b.String()
}

// groupKey is seriesKey without le / quantile and the suffix: one
// histogram or summary per group.
func groupKey(s expSample) string {
	t := expSample{labels: map[string]string{}}
	for k, v := range s.labels {
		if k != "le" && k != "quantile" {
			t.labels[k] = v
		}
	}
	return seriesKey(t)
}

// parseExposition parses and validates a whole exposition.
func parseExposition(text string) (*exposition, error) {
	e := &exposition{byName: map[string]*expFamily{}}
	if text != "" && !strings.HasSuffix(text, "\n") {
		return nil, fmt.Errorf("exposition does not end in a newline")
	}
	var cur *expFamily
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if line == "" {
			return nil, fmt.Errorf("line %d: empty line", n)
		}
		if rest, ok := strings.CutPrefix(line, "# HELP "); ok {
			name, help, _ := strings.Cut(rest, " ")
			if !validMetricName(name) {
				return nil, fmt.Errorf("line %d: bad family name %q", n, name)
			}
			if e.byName[name] != nil {
				return nil, fmt.Errorf("line %d: family %s declared twice", n, name)
			}
			h, err := unescape(help, false)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			cur = &expFamily{name: name, help: h}
			e.families = append(e.families, cur)
			e.byName[name] = cur
			continue
		}
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(rest, " ")
			if cur == nil || cur.name != name || cur.typ != "" || len(cur.samples) > 0 {
				return nil, fmt.Errorf("line %d: TYPE %s not right after its HELP", n, name)
			}
			switch typ {
			case "counter", "gauge", "histogram", "summary":
			default:
				return nil, fmt.Errorf("line %d: type %q", n, typ)
			}
			if typ == "counter" && !strings.HasSuffix(name, "_total") {
				return nil, fmt.Errorf("line %d: counter %s does not end in _total", n, name)
			}
			cur.typ = typ
			continue
		}
		if strings.HasPrefix(line, "#") {
			return nil, fmt.Errorf("line %d: unexpected comment %q", n, line)
		}
		s, err := parseSampleLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if cur == nil || cur.typ == "" || !belongs(cur, s.name) {
			return nil, fmt.Errorf("line %d: sample %s outside its family's HELP and TYPE", n, s.name)
		}
		k := seriesKey(s)
		if seen[k] {
			return nil, fmt.Errorf("line %d: duplicate series %s", n, line)
		}
		seen[k] = true
		if cur.typ == "counter" && !(s.value >= 0) {
			return nil, fmt.Errorf("line %d: counter value %v", n, s.value)
		}
		cur.samples = append(cur.samples, s)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, f := range e.families {
		if f.typ == "" {
			return nil, fmt.Errorf("family %s has HELP but no TYPE", f.name)
		}
		var err error
		switch f.typ {
		case "histogram":
			err = checkHistogram(f)
		case "summary":
			err = checkSummary(f)
		}
		if err != nil {
			return nil, err
		}
	}
	return e, nil
}

func checkHistogram(f *expFamily) error {
	type hist struct {
		les         []float64
		counts      []float64
		sum, count  float64
		hasSum, hsc bool
	}
	groups := map[string]*hist{}
	var order []string
	get := func(s expSample) *hist {
		k := groupKey(s)
		if groups[k] == nil {
			groups[k] = &hist{}
			order = append(order, k)
		}
		return groups[k]
	}
	for _, s := range f.samples {
		h := get(s)
		switch s.name {
		case f.name + "_bucket":
			le, ok := s.labels["le"]
			if !ok {
				return fmt.Errorf("%s: bucket without le", f.name)
			}
			v, err := parseValue(le)
			if err != nil {
				return fmt.Errorf("%s: le %q: %w", f.name, le, err)
			}
			if h.hasSum || h.hsc {
				return fmt.Errorf("%s: bucket after _sum or _count", f.name)
			}
			if n := len(h.les); n > 0 && !(v > h.les[n-1]) {
				return fmt.Errorf("%s: le %v after %v: not increasing", f.name, v, h.les[n-1])
			}
			if n := len(h.counts); n > 0 && s.value < h.counts[n-1] {
				return fmt.Errorf("%s: bucket le=%s count %v below the previous %v", f.name, le, s.value, h.counts[n-1])
			}
			h.les, h.counts = append(h.les, v), append(h.counts, s.value)
		case f.name + "_sum":
			if _, ok := s.labels["le"]; ok {
				return fmt.Errorf("%s_sum with le", f.name)
			}
			h.sum, h.hasSum = s.value, true
		case f.name + "_count":
			if _, ok := s.labels["le"]; ok {
				return fmt.Errorf("%s_count with le", f.name)
			}
			h.count, h.hsc = s.value, true
		}
	}
	for _, k := range order {
		h := groups[k]
		n := len(h.les)
		if n == 0 || !math.IsInf(h.les[n-1], 1) {
			return fmt.Errorf("%s: buckets do not end in +Inf", f.name)
		}
		if !h.hasSum || !h.hsc {
			return fmt.Errorf("%s: missing _sum or _count", f.name)
		}
		if h.counts[n-1] != h.count {
			return fmt.Errorf("%s: +Inf bucket %v != _count %v", f.name, h.counts[n-1], h.count)
		}
	}
	return nil
}

func checkSummary(f *expFamily) error {
	sums, counts, groups := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, s := range f.samples {
		k := groupKey(s)
		groups[k] = true
		switch s.name {
		case f.name:
			q, ok := s.labels["quantile"]
			if !ok {
				return fmt.Errorf("%s: sample without quantile", f.name)
			}
			v, err := parseValue(q)
			if err != nil || !(v >= 0 && v <= 1) {
				return fmt.Errorf("%s: quantile %q", f.name, q)
			}
		case f.name + "_sum":
			sums[k] = true
		case f.name + "_count":
			if !(s.value >= 0) {
				return fmt.Errorf("%s_count %v", f.name, s.value)
			}
			counts[k] = true
		}
	}
	for k := range groups {
		if !sums[k] || !counts[k] {
			return fmt.Errorf("%s: a series lacks _sum or _count", f.name)
		}
	}
	return nil
}

// value returns the value of the sample name{labels} (labels given as
// name, value pairs), and whether it exists.
func (e *exposition) value(name string, kv ...string) (float64, bool) {
	want := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		want[kv[i]] = kv[i+1]
	}
	for _, f := range e.families {
		for _, s := range f.samples {
			if s.name != name || len(s.labels) != len(want) {
				continue
			}
			match := true
			for k, v := range want {
				if s.labels[k] != v {
					match = false
				}
			}
			if match {
				return s.value, true
			}
		}
	}
	return 0, false
}
