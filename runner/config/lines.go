package config

import (
	"sort"
	"strconv"
	"strings"
)

// keyPath names a value in a config file the way error messages spell
// it: "run.duration", "task[1].priority". Each element is either a key
// or an array index written "[n]".
type keyPath []string

// Bounds on the key paths keyLines records. Parse looks up paths of
// three elements at most (task[0].priority); the bounds keep the work
// per key constant, so that keyLines stays linear in its input however
// deep or long the keys are. Without them, each of n nested levels
// copies and prints a path of up to n elements: quadratic.
const (
	maxPathElems = MaxDepth + 2 // elements, keys and indices
	maxPathBytes = 256          // bytes of the printed path
)

// key returns p extended by k. A path already longer than maxPathElems
// is returned as is: it is never recorded, and nor is anything below it.
func (p keyPath) key(k string) keyPath {
	if len(p) > maxPathElems {
		return p
	}
	q := make(keyPath, len(p), len(p)+1)
	copy(q, p)
	return append(q, quoteKey(k))
}

func (p keyPath) index(n int) keyPath {
	if len(p) > maxPathElems {
		return p
	}
	q := make(keyPath, len(p), len(p)+1)
	copy(q, p)
	return append(q, "["+strconv.Itoa(n)+"]")
}

// fits reports whether p is within the bounds keyLines records.
func (p keyPath) fits() bool {
	if len(p) > maxPathElems {
		return false
	}
	n := 0
	for _, e := range p {
		n += len(e) + 1
	}
	return n <= maxPathBytes+1
}

func (p keyPath) String() string {
	var b strings.Builder
	for i, s := range p {
		if i > 0 && !strings.HasPrefix(s, "[") {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

func isBareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// quoteKey writes k as TOML would need it in a dotted key: bare when it
// can be, double-quoted otherwise.
func quoteKey(k string) string {
	if k == "" {
		return `""`
	}
	for i := 0; i < len(k); i++ {
		if !isBareKeyChar(k[i]) {
			return strconv.Quote(k)
		}
	}
	return k
}

// keyLines scans TOML source and returns the 1-based line on which each
// key path first appears, e.g. "task[1].priority" or "task[1]" for the
// second [[task]] header. Arrays of inline tables get indices too, so
// task = [{name = "a"}, {name = "b"}] yields "task[1].name".
//
// BurntSushi/toml v1.6 keeps key positions private and, for arrays of
// tables, keeps only the last one, so this small scanner tracks the
// current [table] and [[array]] index itself. It is meant for input
// that already parsed as TOML; on anything else it returns what it
// found, and it always terminates without panicking. Its time and
// memory grow linearly with the input: paths deeper or longer than
// maxPathElems and maxPathBytes are not recorded (lookups fall back to
// the enclosing table's line), and values nested deeper than MaxDepth
// are skipped without recursion.
func keyLines(src string) map[string]int {
	s := &lineScanner{src: src, out: map[string]int{}, arrays: map[string]int{}}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			s.nl = append(s.nl, i)
		}
	}
	s.run()
	return s.out
}

type lineScanner struct {
	src    string
	i      int
	nl     []int          // offsets of '\n'
	out    map[string]int // key path -> line
	arrays map[string]int // [[array]] path -> headers seen so far
	table  keyPath        // current table
}

func (s *lineScanner) lineAt(off int) int {
	return sort.SearchInts(s.nl, off) + 1
}

func (s *lineScanner) record(p keyPath, off int) {
	if !p.fits() {
		return
	}
	k := p.String()
	if _, ok := s.out[k]; !ok {
		s.out[k] = s.lineAt(off)
	}
}

func (s *lineScanner) peek(n int) byte {
	if s.i+n < len(s.src) {
		return s.src[s.i+n]
	}
	return 0
}

func (s *lineScanner) skipSpace() {
	for s.i < len(s.src) && (s.src[s.i] == ' ' || s.src[s.i] == '\t' || s.src[s.i] == '\r') {
		s.i++
	}
}

// skipBlank skips spaces, newlines and comments, as allowed inside
// arrays (and inline tables in TOML 1.1).
func (s *lineScanner) skipBlank() {
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		case '#':
			s.skipLine()
		default:
			return
		}
	}
}

func (s *lineScanner) skipLine() {
	for s.i < len(s.src) && s.src[s.i] != '\n' {
		s.i++
	}
}

func (s *lineScanner) run() {
	for s.i < len(s.src) {
		start := s.i
		switch c := s.src[s.i]; {
		case c == '\n' || c == ' ' || c == '\t' || c == '\r':
			s.i++
		case c == '#':
			s.skipLine()
		case c == '[':
			s.header()
		default:
			keys := s.keys()
			if len(keys) > 0 {
				p := s.table
				for _, k := range keys {
					p = p.key(k)
					s.record(p, start)
				}
				s.skipSpace()
				if s.peek(0) == '=' {
					s.i++
					s.value(p, 1)
				}
			}
			s.skipLine()
		}
		if s.i == start {
			s.i++ // never stall on input that is not TOML
		}
	}
}

// header handles [a.b] and [[a.b]] lines.
func (s *lineScanner) header() {
	start := s.i
	s.i++
	array := s.peek(0) == '['
	if array {
		s.i++
	}
	keys := s.keys()
	var p keyPath
	for j, k := range keys {
		p = p.key(k)
		if !p.fits() {
			break // too deep to record: keys below it fall back to line 1
		}
		s.record(p, start)
		name := p.String()
		switch {
		case j == len(keys)-1 && array:
			n := s.arrays[name]
			s.arrays[name] = n + 1
			p = p.index(n)
			s.record(p, start)
		case s.arrays[name] > 0:
			p = p.index(s.arrays[name] - 1)
		}
	}
	s.table = p
	s.skipLine()
}

// keys reads a possibly dotted, possibly quoted key and stops before
// '=', ']' or anything else that cannot continue it.
func (s *lineScanner) keys() []string {
	var keys []string
	for {
		s.skipSpace()
		switch c := s.peek(0); {
		case c == '"':
			raw := s.basicString()
			if u, err := strconv.Unquote(raw); err == nil {
				keys = append(keys, u)
			} else {
				keys = append(keys, strings.Trim(raw, `"`))
			}
		case c == '\'':
			keys = append(keys, strings.Trim(s.literalString(), "'"))
		case isBareKeyChar(c):
			st := s.i
			for s.i < len(s.src) && isBareKeyChar(s.src[s.i]) {
				s.i++
			}
			keys = append(keys, s.src[st:s.i])
		default:
			return keys
		}
		s.skipSpace()
		if s.peek(0) != '.' {
			return keys
		}
		s.i++
	}
}

// basicString reads "..." (single line) and returns it with its quotes.
func (s *lineScanner) basicString() string {
	st := s.i
	s.i++
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case '\\':
			s.i += 2
			continue
		case '"':
			s.i++
			return s.src[st:s.i]
		case '\n':
			return s.src[st:s.i]
		}
		s.i++
	}
	s.i = len(s.src)
	return s.src[st:]
}

func (s *lineScanner) literalString() string {
	st := s.i
	s.i++
	for s.i < len(s.src) && s.src[s.i] != '\'' && s.src[s.i] != '\n' {
		s.i++
	}
	if s.peek(0) == '\'' {
		s.i++
	}
	return s.src[st:s.i]
}

// multiline skips a """ or ”' string; q is the quote byte.
func (s *lineScanner) multiline(q byte) {
	s.i += 3
	for s.i < len(s.src) {
		c := s.src[s.i]
		if c == '\\' && q == '"' {
			s.i += 2
			continue
		}
		if c == q && s.peek(1) == q && s.peek(2) == q {
			s.i += 3
			for n := 0; n < 2 && s.peek(0) == q; n++ { // up to two quotes may end the content
				s.i++
			}
			return
		}
		s.i++
	}
	s.i = len(s.src)
}

// value skips one value, recording keys inside inline tables and
// indices inside arrays under path p. depth counts the arrays and
// inline tables around it; past MaxDepth the value is skipped whole.
func (s *lineScanner) value(p keyPath, depth int) {
	s.skipSpace()
	switch c := s.peek(0); c {
	case '[', '{':
		if depth > MaxDepth {
			s.skipNested()
			return
		}
	}
	switch c := s.peek(0); c {
	case '"', '\'':
		if s.peek(1) == c && s.peek(2) == c {
			s.multiline(c)
		} else if c == '"' {
			s.basicString()
		} else {
			s.literalString()
		}
	case '[':
		s.i++
		for n := 0; s.i < len(s.src); n++ {
			s.skipBlank()
			if s.peek(0) == ']' {
				s.i++
				return
			}
			el := p.index(n)
			s.record(el, s.i)
			st := s.i
			s.value(el, depth+1)
			s.skipBlank()
			if s.peek(0) == ',' {
				s.i++
			} else if s.peek(0) != ']' && s.i == st {
				s.i++ // not TOML: make progress
			}
		}
	case '{':
		s.i++
		for s.i < len(s.src) {
			s.skipBlank()
			switch s.peek(0) {
			case '}':
				s.i++
				return
			case ',':
				s.i++
				continue
			}
			st := s.i
			q := p
			for _, k := range s.keys() {
				q = q.key(k)
				s.record(q, st)
			}
			s.skipSpace()
			if s.peek(0) == '=' {
				s.i++
				s.value(q, depth+1)
			}
			if s.i == st {
				s.i++ // not TOML: make progress
			}
		}
	default:
		for s.i < len(s.src) {
			switch s.src[s.i] {
			case '\n', '#', ',', ']', '}':
				return
			}
			s.i++
		}
	}
}

// skipNested skips an array or inline table, and everything inside it,
// without recording keys and without recursion.
func (s *lineScanner) skipNested() {
	depth := 0
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case '"', '\'':
			s.i = skipTOMLString(s.src, s.i)
			continue
		case '#':
			s.skipLine()
			continue
		case '[', '{':
			depth++
		case ']', '}':
			if depth--; depth == 0 {
				s.i++
				return
			}
		}
		s.i++
	}
}
