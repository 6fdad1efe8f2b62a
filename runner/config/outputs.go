package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// OutputFlag is a report path given on the command line, overriding the config.
type OutputFlag struct {
	Key  string // "json", "histfile", "svg" or "html": the [report] key it overrides
	Flag string // the flag as the user typed it, for errors: "--json"
	Path string // the path; "" keeps the config's
}

// outputKeys are the [report] keys that name files, in the order they
// are checked; a path that repeats an earlier one is reported on the
// later key.
var outputKeys = []string{"json", "histfile", "svg", "html", "metrics_textfile", "trace"}

// output is one report file and where its path came from.
type output struct {
	key  string // [report] key
	path string
	origin
}

func (r *Report) pathOf(key string) *string {
	switch key {
	case "json":
		return &r.JSON
	case "histfile":
		return &r.Histfile
	case "svg":
		return &r.SVG
	case "html":
		return &r.HTML
	case "metrics_textfile":
		return &r.MetricsTextfile
	case "trace":
		return &r.Trace
	}
	return nil
}

// ApplyOutputFlags sets the report paths given on the command line and
// then checks every output file together, as Load does for the config
// alone: no two outputs on one file (compared as cleaned absolute paths,
// and as the same file when both exist), none that is an existing
// directory, and a metrics_textfile that ends in ".prom" for
// node_exporter's textfile collector. A flag with an empty Path keeps
// the config's path.
//
// Each problem is an *Error naming the flag ("--json: …") when the path
// came from a flag, else "file:line: report.key: …"; all are joined and
// match ErrInvalid. On error c is left unchanged. It only reads the
// file system (stat), relative paths against the working directory.
func (c *Config) ApplyOutputFlags(flags ...OutputFlag) error {
	outs := c.outputs()
	var errs []error
	for _, f := range flags {
		name := f.Flag
		if name == "" {
			name = "--" + f.Key
		}
		i := -1
		for j, o := range outs {
			if o.key == f.Key && f.Key != "metrics_textfile" && f.Key != "trace" {
				i = j
			}
		}
		switch {
		case i < 0:
			errs = append(errs, &Error{Key: name, Msg: fmt.Sprintf("%q is not an output a flag can set (use json, histfile, svg or html)", f.Key)})
		case f.Path != "":
			outs[i] = output{key: f.Key, path: f.Path, origin: origin{flag: name}}
		}
	}
	for _, e := range checkOutputs(c.File, outs) {
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	from := map[string]origin{}
	for _, o := range outs {
		*c.Report.pathOf(o.key) = o.path
		if o.path != "" {
			from[o.key] = o.origin
		}
	}
	c.outputFrom = from
	return nil
}

// outputs lists c's output files, one per key, with "" for none.
func (c *Config) outputs() []output {
	outs := make([]output, len(outputKeys))
	for i, k := range outputKeys {
		outs[i] = output{key: k, path: *c.Report.pathOf(k), origin: c.outputFrom[k]}
	}
	return outs
}

// checkOutputs checks output paths against each other and the file
// system; file is the config file, for errors on paths it gave.
func checkOutputs(file string, outs []output) []*Error {
	var errs []*Error
	fail := func(o output, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if o.flag != "" {
			errs = append(errs, &Error{Key: o.flag, Msg: msg})
		} else {
			errs = append(errs, &Error{File: file, Line: max(o.line, 1), Key: "report." + o.key, Msg: msg})
		}
	}
	where := func(o output) string {
		if o.flag != "" {
			return o.flag
		}
		return fmt.Sprintf("report.%s at %s:%d", o.key, file, max(o.line, 1))
	}
	type seenFile struct {
		out output
		abs string
		fi  os.FileInfo
	}
	var seen []seenFile
	for _, o := range outs {
		if o.path == "" {
			continue
		}
		if strings.TrimSpace(o.path) == "" {
			fail(o, "path is blank (give a file path)")
			continue
		}
		if o.key == "metrics_textfile" && !strings.HasSuffix(o.path, ".prom") {
			fail(o, "%q does not end in .prom (node_exporter's textfile collector reads only *.prom files)", o.path)
		}
		abs, err := filepath.Abs(o.path)
		if err != nil {
			fail(o, "%q: %v", o.path, err)
			continue
		}
		fi, statErr := os.Stat(o.path)
		switch {
		case statErr == nil && fi.IsDir():
			fail(o, "%q is an existing directory (give a file path inside it)", o.path)
			continue
		case strings.HasSuffix(o.path, string(filepath.Separator)):
			fail(o, "%q ends in %c, so it names a directory (give a file path)", o.path, filepath.Separator)
			continue
		}
		dup := false
		for _, s := range seen {
			if s.abs == abs || (statErr == nil && s.fi != nil && os.SameFile(s.fi, fi)) {
				// Blame the flag, if one of them is: the user just typed it.
				if o.flag == "" && s.out.flag != "" {
					fail(s.out, "%q is also %s (give each output its own file)", s.out.path, where(o))
				} else {
					fail(o, "%q is also %s (give each output its own file)", o.path, where(s.out))
				}
				dup = true
				break
			}
		}
		if !dup {
			if statErr != nil {
				fi = nil
			}
			seen = append(seen, seenFile{o, abs, fi})
		}
	}
	return errs
}
