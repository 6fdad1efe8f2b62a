package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseChecksOutputs covers the output checks Parse (and so Load)
// runs on the config alone.
func TestParseChecksOutputs(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f.json")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard.json")
	if err := os.Link(file, hard); err != nil {
		t.Fatal(err)
	}
	sym := filepath.Join(dir, "sym.json")
	if err := os.Symlink(file, sym); err != nil {
		t.Fatal(err)
	}
	q := func(s string) string { return `"` + s + `"` }
	tests := []struct {
		name   string
		report string // [report] body, starting on line 5
		want   string // "" or "line: key: fragment"
	}{
		{"distinct outputs", "json = \"out/a.json\"\nhistfile = \"out/h.txt\"\nsvg = \"out/l.svg\"\nhtml = \"out/r.html\"\nmetrics_textfile = \"out/m.prom\"\n", ""},
		{"html on the svg's path", "svg = \"out/r\"\nhtml = \"out/r\"\n", `6: report.html: "out/r" is also report.svg at bad.toml:5`},
		{"same path", "json = \"out/x\"\nsvg = \"out/x\"\n", `6: report.svg: "out/x" is also report.json at bad.toml:5`},
		{"same path once cleaned", "json = \"out/x\"\nhistfile = \"./out//y/../x\"\n", `6: report.histfile: "./out//y/../x" is also report.json at bad.toml:5`},
		{"relative and absolute", "json = \"x.json\"\nsvg = " + q(filepath.Join(mustGetwd(t), "x.json")) + "\n", "6: report.svg: "},
		{"output on the metrics textfile", "metrics_textfile = \"out/m.prom\"\njson = \"out/m.prom\"\n", `5: report.metrics_textfile: "out/m.prom" is also report.json at bad.toml:6`},
		{"hard link to another output", "json = " + q(file) + "\nsvg = " + q(hard) + "\n", "6: report.svg: "},
		{"symlink to another output", "json = " + q(file) + "\nsvg = " + q(sym) + "\n", "6: report.svg: "},
		{"existing directory", "json = " + q(dir) + "\n", "5: report.json: " + q(dir) + " is an existing directory"},
		{"trailing slash", "svg = \"out/\"\n", `5: report.svg: "out/" ends in /, so it names a directory`},
		{"textfile without .prom", "metrics_textfile = \"out/m.txt\"\n", `5: report.metrics_textfile: "out/m.txt" does not end in .prom`},
		{"existing file is fine", "json = " + q(file) + "\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("bad.toml", []byte(okTask+"[report]\n"+tc.report), twoCPUs)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted %+v", cfg.Report)
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "bad.toml:"+tc.want) {
				t.Errorf("error %v, want %q", err, "bad.toml:"+tc.want)
			}
		})
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

func TestApplyOutputFlags(t *testing.T) {
	dir := t.TempDir()
	// Lines: json 5, svg 6, metrics_textfile 7.
	const src = okTask + "[report]\njson = \"out/run.json\"\nsvg = \"out/l.svg\"\nmetrics_textfile = \"out/m.prom\"\n"
	tests := []struct {
		name  string
		flags []OutputFlag
		want  []string // error lines, in order; nil: accepted
		json  string   // Report.JSON after success
	}{
		{"no flags", nil, nil, "out/run.json"},
		{"flag overrides", []OutputFlag{{"json", "--json", "other.json"}}, nil, "other.json"},
		{"empty flag keeps the config's", []OutputFlag{{"json", "--json", ""}}, nil, "out/run.json"},
		{"flag takes a path the flag frees", []OutputFlag{{"json", "--json", "out/l.svg"}, {"svg", "--svg", "x.svg"}}, nil, "out/l.svg"},
		{"flag on another output of the config", []OutputFlag{{"histfile", "--histfile", "out/l.svg"}},
			[]string{`--histfile: "out/l.svg" is also report.svg at c.toml:6 (give each output its own file)`}, ""},
		{"config output on a flag's path", []OutputFlag{{"json", "--json", "out/l.svg"}},
			[]string{`--json: "out/l.svg" is also report.svg at c.toml:6 (give each output its own file)`}, ""},
		{"two flags on one path", []OutputFlag{{"json", "--json", "r"}, {"svg", "--svg", "./r"}},
			[]string{`--svg: "./r" is also --json (give each output its own file)`}, ""},
		{"flag on the metrics textfile", []OutputFlag{{"json", "--json", "out/m.prom"}},
			[]string{`--json: "out/m.prom" is also report.metrics_textfile at c.toml:7 (give each output its own file)`}, ""},
		{"flag names a directory", []OutputFlag{{"svg", "--svg", dir}},
			[]string{`--svg: "` + dir + `" is an existing directory (give a file path inside it)`}, ""},
		{"flag spelled by the caller", []OutputFlag{{"svg", "-svg", dir}}, []string{`-svg: "`}, ""},
		{"unknown key", []OutputFlag{{"pdf", "--pdf", "x.pdf"}}, []string{`--pdf: "pdf" is not an output a flag can set`}, ""},
		{"textfile is not a flag", []OutputFlag{{"metrics_textfile", "--prom", "x.prom"}}, []string{`--prom: "metrics_textfile" is not an output`}, ""},
		{"every problem at once", []OutputFlag{{"json", "--json", dir}, {"histfile", "--histfile", "out/l.svg"}},
			[]string{`--json: "` + dir + `" is an existing directory`, `--histfile: "out/l.svg" is also report.svg at c.toml:6`}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("c.toml", []byte(src), twoCPUs)
			if err != nil {
				t.Fatal(err)
			}
			before := cfg.Report
			err = cfg.ApplyOutputFlags(tc.flags...)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.Report.JSON != tc.json {
					t.Errorf("json %q, want %q", cfg.Report.JSON, tc.json)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", cfg.Report)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) is false for %v", err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("%d errors, want %d:\n%v", len(lines), len(tc.want), err)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("error %d = %q, want prefix %q", i, lines[i], w)
				}
			}
			if cfg.Report != before {
				t.Errorf("report changed on error: %+v, was %+v", cfg.Report, before)
			}
		})
	}
}

// TestApplyOutputFlagsTwice checks that the line of a config path that a
// flag replaced is not used for later errors.
func TestApplyOutputFlagsTwice(t *testing.T) {
	cfg, err := Parse("c.toml", []byte(okTask+"[report]\njson = \"a.json\"\n"), twoCPUs)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.ApplyOutputFlags(OutputFlag{"json", "--json", "b.json"}); err != nil {
		t.Fatal(err)
	}
	err = cfg.ApplyOutputFlags(OutputFlag{"svg", "--svg", "b.json"})
	if err == nil || err.Error() != `--svg: "b.json" is also --json (give each output its own file)` {
		t.Errorf("error %v, want it to name --json", err)
	}
}
