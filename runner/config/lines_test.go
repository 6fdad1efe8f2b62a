package config

import "testing"

func TestKeyLines(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want map[string]int // entries that must be present; -1: must be absent
	}{
		{"tables and arrays", "[run]\nduration = \"1s\"\n\n[[task]]\nname = \"a\"\n[[task]]\nname = \"b\"\n\n[report]\njson = \"x\"\n",
			map[string]int{"run": 1, "run.duration": 2, "task": 4, "task[0]": 4, "task[0].name": 5, "task[1]": 6, "task[1].name": 7, "report.json": 10}},
		{"top-level dotted key", "run.duration = \"1s\"\nrun.preflight = true\n",
			map[string]int{"run": 1, "run.duration": 1, "run.preflight": 2}},
		{"spaces and quotes in keys", "[ run ]\n  \"duration\" = \"1s\"\n'allow_non_rt' = false\n\"a b\" = 1\n",
			map[string]int{"run.duration": 2, "run.allow_non_rt": 3, `run."a b"`: 4}},
		{"comments are not keys", "# priority = 1\n[run] # [report]\n# x = 2\nduration = \"1s\" # y = 3\n",
			map[string]int{"run": 2, "run.duration": 4, "priority": -1, "report": -1, "run.x": -1, "run.y": -1}},
		{"multi-line strings hide keys", "a = \"\"\"\nb = 1\n[c]\n\"\"\"\nd = '''\ne = 2\n'''\nf = \"\"\"x\\\"\"\"\"\ng = 3\n",
			map[string]int{"a": 1, "b": -1, "c": -1, "d": 5, "e": -1, "f": 8, "g": 9}},
		{"multi-line arrays", "a = [\n  1, # ] not the end\n  \"]\",\n]\nb = 2\n",
			map[string]int{"a": 1, "a[0]": 2, "a[1]": 3, "b": 5}},
		{"inline tables", "r = {json = \"x\", svg = 'y', n = {m = 1}}\n",
			map[string]int{"r.json": 1, "r.svg": 1, "r.n.m": 1}},
		{"array of inline tables", "task = [\n {name = \"a\"},\n {name = \"b\", cpu = 1},\n]\n",
			map[string]int{"task": 1, "task[0].name": 2, "task[1].name": 3, "task[1].cpu": 3}},
		{"sub-table of an array entry", "[[task]]\nname = \"a\"\n[[task]]\n[task.x]\ny = 1\n",
			map[string]int{"task[1].x": 4, "task[1].x.y": 5, "task.x": -1}},
		{"nested arrays of tables", "[[a]]\n[[a.b]]\n[[a.b]]\nk = 1\n[[a]]\n[[a.b]]\nk = 2\n",
			map[string]int{"a[0].b[1].k": 4, "a[1].b[0].k": 7}},
		{"CRLF line ends", "[run]\r\nduration = \"1s\"\r\n[[task]]\r\nname = \"a\"\r\n",
			map[string]int{"run.duration": 2, "task[0].name": 4}},
		{"first occurrence wins", "[[task]]\nname = \"a\"\n[[task]]\nname = \"a\"\n",
			map[string]int{"task": 1, "task[1].name": 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := keyLines(tc.src)
			for k, want := range tc.want {
				line, ok := got[k]
				switch {
				case want == -1 && ok:
					t.Errorf("%s: found on line %d, want absent", k, line)
				case want != -1 && line != want:
					t.Errorf("%s: line %d (found %t), want %d; all: %v", k, line, ok, want, got)
				}
			}
		})
	}
}

func TestKeyLinesMalformed(t *testing.T) {
	// Not TOML: must terminate and not panic.
	for _, src := range []string{"[", "[[", "a = [", "a = {", "a = \"", "a = '''", "a = \"\"\"\\", "=", "]]]", "a.", "\"", "a = [{,}]", "a = {b = }", "a = [1 2]"} {
		keyLines(src)
	}
}
