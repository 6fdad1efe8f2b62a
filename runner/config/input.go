package config

import (
	"errors"
	"fmt"

	"github.com/rtcell/rtcell/rt/regularfile"
)

// Bounds on the input, checked before the TOML decoder sees it. A
// runner config is a few KB and nests three levels at most
// (task = [{name = …}] or [[task]] plus a key), so both limits are far
// above any real file. They exist because BurntSushi/toml v1.6 takes
// time and memory that grow with the square of the nesting depth:
// on a 2-vCPU VM, 10,000 nested inline tables (60 KB of text) took the
// runner 43 s and 4.6 GB of RSS, and a key of 20,000 dotted parts took
// the decoder 67 s and 15 GB of allocations.
const (
	// MaxFileSize is the largest config file Load reads, 1 MiB. Load
	// reads at most one byte more, never the whole file.
	MaxFileSize = 1 << 20
	// MaxDepth is how deeply a config may nest, counting each part of
	// a dotted key or table header and each array or inline table
	// that holds a value: `a = [[1]]` is three levels deep, and so are
	// `[a.b]` plus `c = 1`. Deeper input is refused with its line before
	// it is decoded.
	MaxDepth = 16
)

// readConfig reads the file at path, refusing anything that is not a
// regular file, or that is larger than MaxFileSize, without blocking
// (a named pipe with no writer) and without reading more than
// MaxFileSize+1 bytes (package regularfile).
func readConfig(path string) ([]byte, error) {
	data, err := regularfile.Read(path, MaxFileSize)
	var nr *regularfile.NotRegularError
	var tl *regularfile.TooLargeError
	switch {
	case errors.As(err, &nr):
		return nil, &Error{File: path, Msg: regularfile.Kind(nr.Mode) + ", not a regular file (a config must be a regular .toml file)"}
	case errors.As(err, &tl):
		return nil, &Error{File: path, Msg: fmt.Sprintf("larger than the %d-byte (1 MiB) limit for a config file (a runner config is a few KB: is this the right file?)", MaxFileSize)}
	case err != nil:
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return data, nil
}

// checkDepth scans TOML source for nesting deeper than MaxDepth and
// returns the *Error for the first place it happens, or nil. It counts
// the parts of dotted keys and table headers ([[x]] adds one for the
// array) and every array or inline table that holds a value, skipping
// strings and comments. It runs in one pass with a stack of at most
// MaxDepth frames, and on text that is not TOML it still terminates;
// deciding what is malformed is left to the decoder.
func checkDepth(name, src string) *Error {
	if off, deep := depthScan(src, MaxDepth); deep {
		return &Error{File: name, Line: lineOfOffset(src, off), Key: "toml",
			Msg: fmt.Sprintf("nested more than %d levels deep (arrays, inline tables and dotted key parts; a runner config needs 3)", MaxDepth)}
	}
	return nil
}

func lineOfOffset(src string, off int) int {
	n := 1
	for i := 0; i < off && i < len(src); i++ {
		if src[i] == '\n' {
			n++
		}
	}
	return n
}

// depthFrame is an open array ('[') or inline table ('{').
type depthFrame struct {
	kind    byte
	depth   int  // depth of the values it holds
	inValue bool // inline table: past the '=' of the current key
	keyDots int  // inline table: dots in the current key
	valueAt int  // inline table: depth of the current key's value
}

// depthScan reports whether src nests deeper than limit, and the offset
// at which it first does.
func depthScan(src string, limit int) (off int, deep bool) {
	var stack []depthFrame
	table := 0       // depth of the current [table] or [[array]]
	inValue := false // top level: past the '=' of the current key
	keyDots := 0     // top level: dots in the current key
	valueAt := 0     // top level: depth of the current key's value
	for i := 0; i < len(src); {
		c := src[i]
		switch c {
		case '"', '\'':
			i = skipTOMLString(src, i)
			continue
		case '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			continue
		}
		if len(stack) == 0 {
			switch {
			case c == '\n':
				inValue, keyDots = false, 0
			case !inValue && c == '[':
				end, depth := scanHeader(src, i)
				if depth > limit {
					return i, true
				}
				table, i = depth, end
				continue
			case !inValue && c == '.':
				if keyDots++; table+1+keyDots > limit {
					return i, true
				}
			case !inValue && c == '=':
				if inValue, valueAt = true, table+1+keyDots; valueAt > limit {
					return i, true
				}
			case inValue && (c == '[' || c == '{'):
				if valueAt+1 > limit {
					return i, true
				}
				stack = append(stack, depthFrame{kind: c, depth: valueAt + 1})
			}
			i++
			continue
		}
		top := &stack[len(stack)-1]
		switch {
		case c == ']' || c == '}':
			stack = stack[:len(stack)-1]
		case top.kind == '[' && (c == '[' || c == '{'):
			if top.depth+1 > limit {
				return i, true
			}
			stack = append(stack, depthFrame{kind: c, depth: top.depth + 1})
		case top.kind == '{' && c == ',':
			top.inValue, top.keyDots = false, 0
		case top.kind == '{' && !top.inValue && c == '.':
			if top.keyDots++; top.depth+top.keyDots > limit {
				return i, true
			}
		case top.kind == '{' && !top.inValue && c == '=':
			top.inValue, top.valueAt = true, top.depth+top.keyDots
		case top.kind == '{' && top.inValue && (c == '[' || c == '{'):
			if top.valueAt+1 > limit {
				return i, true
			}
			stack = append(stack, depthFrame{kind: c, depth: top.valueAt + 1})
		}
		i++
	}
	return 0, false
}

// scanHeader reads a [table] or [[array]] header starting at src[i] and
// returns the offset after it and its depth: its dotted parts, plus one
// for an array of tables.
func scanHeader(src string, i int) (end, depth int) {
	i++
	depth = 1
	if i < len(src) && src[i] == '[' {
		depth++
		i++
	}
	for i < len(src) {
		switch src[i] {
		case '"', '\'':
			i = skipTOMLString(src, i)
			continue
		case '.':
			depth++
		case ']', '\n':
			return i + 1, depth
		}
		i++
	}
	return i, depth
}

// skipTOMLString returns the offset after the string that starts at
// src[i]: basic "…" or literal '…' (ending at the line's end if
// unterminated), or multi-line """…""" or ”'…”'.
func skipTOMLString(src string, i int) int {
	q := src[i]
	if i+2 < len(src) && src[i+1] == q && src[i+2] == q {
		for i += 3; i < len(src); i++ {
			switch {
			case q == '"' && src[i] == '\\':
				i++
			case src[i] == q && i+2 < len(src) && src[i+1] == q && src[i+2] == q:
				i += 3
				for n := 0; n < 2 && i < len(src) && src[i] == q; n++ { // up to two quotes may end the content
					i++
				}
				return i
			}
		}
		return len(src)
	}
	for i++; i < len(src); i++ {
		switch {
		case q == '"' && src[i] == '\\':
			i++
		case src[i] == q:
			return i + 1
		case src[i] == '\n':
			return i
		}
	}
	return len(src)
}
