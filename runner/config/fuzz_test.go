package config

import (
	"reflect"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(okTask))
	f.Add([]byte("[run]\nduration = \"1s\"\n" + okTask + "cpu = 0\nwake = \"hybrid\"\nmargin = \"20us\"\nworkload = \"busy:1us-2ms\"\n[[task]]\nname = \"b\"\nperiod = \"10us\"\n[report]\nmetrics = \":1\"\n"))
	f.Add([]byte("task = [{name = \"a\", period = \"1ms\"}, {name = \"b\", period = \"2ms\", cpu = 1}]\n"))
	f.Add([]byte("[[task]]\n[task.x]\n[[task]]\nname = 1\n"))
	f.Add([]byte("a = '''\n[[task]]\n'''\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.toml", data, isolated)
		if err != nil {
			if cfg != nil {
				t.Fatal("config returned with an error")
			}
			nlines := strings.Count(string(data), "\n") + 1
			for _, e := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(e, "fuzz.toml:") {
					t.Fatalf("error line %q does not name the file", e)
				}
			}
			var es []*Error
			collect(err, &es)
			for _, e := range es {
				if e.Line < 1 || e.Line > nlines {
					t.Fatalf("error %q: line %d outside 1–%d", e, e.Line, nlines)
				}
			}
			return
		}
		if len(cfg.Tasks) == 0 {
			t.Fatal("accepted a config with no task")
		}
		for _, task := range cfg.Tasks {
			if task.Priority < 1 || task.Priority > 99 || task.Period < MinPeriod || task.Period > MaxPeriod ||
				task.Deadline <= 0 || task.Deadline > task.Period || task.CPU < 0 || task.CPU > 3 ||
				task.HistogramUS < 1 || task.HistogramUS > MaxHistogramUS || !validName(task.Name) {
				t.Fatalf("accepted an impossible task %+v", task)
			}
		}
		if cfg.Run.Duration == 0 {
			for _, task := range cfg.Tasks {
				if task.Cycles == 0 {
					t.Fatalf("task %q has neither cycles nor a run duration", task.Name)
				}
			}
		}
		// The effective config must re-parse to the same thing.
		again, err := Parse("fuzz.toml", cfg.TOML(), isolated)
		if err != nil {
			t.Fatalf("re-parsing\n%s: %v", cfg.TOML(), err)
		}
		for i := range cfg.Tasks {
			cfg.Tasks[i].CPUAuto = false
		}
		cfg.Warnings, again.Warnings = nil, nil
		cfg.outputFrom, again.outputFrom = nil, nil // the rewrite moves lines
		cfg.Text, again.Text = "", ""               // the text is the file as written
		if !reflect.DeepEqual(cfg, again) {
			t.Fatalf("round trip changed the config:\n got %+v\nwant %+v", again, cfg)
		}
	})
}

// collect flattens errors.Join trees into their *Error leaves.
func collect(err error, out *[]*Error) {
	switch e := err.(type) {
	case *Error:
		*out = append(*out, e)
	case interface{ Unwrap() []error }:
		for _, x := range e.Unwrap() {
			collect(x, out)
		}
	}
}

func FuzzParseCPUList(f *testing.F) {
	for _, s := range []string{"", "0", "0-3", "0-1,4,6-7\n", "0-7:2/4", "3-1", "1,,2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cpus, err := parseCPUList(s)
		if err != nil {
			return
		}
		for i, c := range cpus {
			if c < 0 || c >= maxCPU || i > 0 && c <= cpus[i-1] {
				t.Fatalf("parseCPUList(%q) = %v: not sorted, distinct CPU numbers", s, cpus)
			}
		}
		if len(cpus) == 0 {
			return
		}
		again, err := parseCPUList(formatCPUList(cpus))
		if err != nil || !reflect.DeepEqual(again, cpus) {
			t.Fatalf("round trip of %v via %q gave %v, %v", cpus, formatCPUList(cpus), again, err)
		}
	})
}

func FuzzKeyLines(f *testing.F) {
	f.Add("[run]\nduration = \"1s\"\n[[task]]\nname = 'a'\nx = [1, {y = 2}]\n")
	f.Add("a = \"\"\"\n\"\"\"\"\nb = '''x'''''\n")
	f.Fuzz(func(t *testing.T, s string) {
		n := strings.Count(s, "\n") + 1
		for k, line := range keyLines(s) {
			if line < 1 || line > n {
				t.Fatalf("%s on line %d of %d", k, line, n)
			}
		}
	})
}

func FuzzParseWorkload(f *testing.F) {
	for _, s := range []string{"none", "busy:300us", "busy:200us-900us", "busy:", "busy:1h-2h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseWorkload(s)
		if err != nil {
			return
		}
		again, err := ParseWorkload(w.String())
		if err != nil || again != w {
			t.Fatalf("ParseWorkload(%q) = %+v; String %q re-parses to %+v, %v", s, w, w.String(), again, err)
		}
	})
}
