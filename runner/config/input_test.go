package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// Bounds for hostile input: generous enough that a noisy shared box
// never breaks them, far below what the unbounded code takes (22 s and
// 4.6 GB for the nested inline tables below).
const (
	hangGuard = 5 * time.Second
	allocCap  = 64 << 20
)

// bounded runs f and fails the test if it takes longer than hangGuard
// or allocates more than allocCap in total.
func bounded(t *testing.T, what string, f func()) {
	t.Helper()
	boundedBy(t, what, allocCap, hangGuard, f)
}

func boundedBy(t *testing.T, what string, allocCap uint64, hangGuard time.Duration, f func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	done := make(chan struct{})
	start := time.Now()
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(hangGuard):
		t.Fatalf("%s: still running after %v", what, hangGuard)
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > allocCap {
		t.Errorf("%s: allocated %d MiB, want < %d MiB", what, d>>20, allocCap>>20)
	}
	t.Logf("%s: %v, %d KiB allocated", what, elapsed.Round(time.Microsecond), (after.TotalAlloc-before.TotalAlloc)>>10)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Hostile inputs that nest deeply: each is refused before decoding.
var deepInputs = []struct {
	name, src string
	line      int
}{
	{"200 KB of nested arrays", "a = " + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + "\n", 1},
	{"10,000 nested inline tables", "a = " + strings.Repeat("{a = ", 10_000) + "1" + strings.Repeat("}", 10_000) + "\n", 1},
	{"dotted key of 20,000 parts", "[run]\n" + strings.Repeat("a.", 20_000) + "b = 1\n", 2},
	{"table header of 20,000 parts", okTask + "[" + strings.Repeat("a.", 20_000) + "b]\n", 4},
	{"array header of 20,000 parts", "[[" + strings.Repeat("a.", 20_000) + "b]]\n", 1},
	{"nested arrays after a multi-line string", "a = \"\"\"\n[[[[\n\"\"\"\nb = [\n" + strings.Repeat("[", 50_000) + "\n", 5},
}

func TestLoadRefusesDeepNesting(t *testing.T) {
	for _, tc := range deepInputs {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "deep.toml", tc.src)
			var err error
			bounded(t, "Load", func() { _, err = Load(path, twoCPUs) })
			want := fmt.Sprintf("%s:%d: toml: nested more than %d levels deep", path, tc.line, MaxDepth)
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("error %v, want prefix %q", err, want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) is false for %v", err)
			}
		})
	}
}

// TestKeyLinesLinear checks that the line scanner alone, which Parse runs
// only on input that passed checkDepth, stays linear on deep or long
// input, and still finds the key after it.
func TestKeyLinesLinear(t *testing.T) {
	long := strings.Repeat("k", 400_000)
	tests := []struct {
		name, src string
		after     string // key path of "after = 1", appended on a new last line; "": not recorded
	}{
		{"200 KB of nested arrays", deepInputs[0].src, "after"},
		{"10,000 nested inline tables", deepInputs[1].src, "after"},
		{"dotted key of 20,000 parts", deepInputs[2].src, "run.after"},
		{"table header of 20,000 parts", deepInputs[3].src, ""},
		{"100,000 nested arrays, unclosed", "a = " + strings.Repeat("[", 100_000) + "\n", ""},
		{"one long key above many keys", "[" + long + "]\n" + strings.Repeat("a = 1\n", 100_000), ""},
		{"long key in nested inline tables", "x = {" + long + " = " + strings.Repeat("{a = 1, b = ", 5_000) + "1" + strings.Repeat("}", 5_000) + "}\n", "after"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got map[string]int
			bounded(t, "keyLines", func() { got = keyLines(tc.src + "after = 1\n") })
			if tc.after == "" {
				return
			}
			if want := strings.Count(tc.src, "\n") + 1; got[tc.after] != want {
				t.Errorf("%s on line %d, want %d", tc.after, got[tc.after], want)
			}
		})
	}
}

func TestCheckDepth(t *testing.T) {
	n := func(s string, k int) string { return strings.Repeat(s, k) }
	tests := []struct {
		name string
		src  string
		line int // 0: accepted
	}{
		{"shipped shape", "[run]\nduration = \"1s\"\n[[task]]\nname = \"a\"\n[report]\njson = \"x\"\n", 0},
		{"inline task array", "task = [{name = \"a\", period = \"1ms\"}, {name = \"b\"}]\n", 0},
		{"arrays at the limit", "a = " + n("[", MaxDepth-1) + n("]", MaxDepth-1) + "\n", 0},
		{"arrays past the limit", "a = " + n("[", MaxDepth) + n("]", MaxDepth) + "\n", 1},
		{"inline tables at the limit", "a = " + n("{b = ", MaxDepth-1) + "1" + n("}", MaxDepth-1) + "\n", 0},
		{"inline tables past the limit", "a = " + n("{b = ", MaxDepth) + "1" + n("}", MaxDepth) + "\n", 1},
		{"dotted key at the limit", n("a.", MaxDepth-1) + "b = 1\n", 0},
		{"dotted key past the limit", n("a.", MaxDepth) + "b = 1\n", 1},
		{"header at the limit", "[" + n("a.", MaxDepth-1) + "b]\n", 0},
		{"header past the limit", "x = 1\n[" + n("a.", MaxDepth) + "b]\n", 2},
		{"key below a header at the limit", "[" + n("a.", MaxDepth-1) + "b]\nc = 1\n", 2},
		{"key below a header just under the limit", "[" + n("a.", MaxDepth-2) + "b]\nc = 1\n", 0},
		{"array header counts its index", "[[" + n("a.", MaxDepth-1) + "b]]\n", 1},
		{"header plus key", "[" + n("a.", 7) + "b]\n" + n("c.", 7) + "d = 1\n", 0},
		{"header plus key past the limit", "[" + n("a.", 7) + "b]\n" + n("c.", 8) + "d = 1\n", 2},
		{"header plus key plus array", "[" + n("a.", 7) + "b]\n" + n("c.", 7) + "d = [1]\n", 2},
		{"new header resets the depth", "[" + n("a.", 14) + "b]\n[c]\nd = [[[1]]]\n", 0},
		{"dotted key inside an inline table", "a = {" + n("b.", MaxDepth-2) + "c = 1}\n", 0},
		{"dotted key inside an inline table past the limit", "a = {" + n("b.", MaxDepth-1) + "c = 1}\n", 1},
		{"floats are not dotted keys", "a = [" + n("1.5, ", 100) + "]\nb = {c = 1.5, d = 2.5}\n", 0},
		{"brackets in strings", "a = \"" + n("[", 100) + "\"\nb = '" + n("{", 100) + "'\nc = \"\\\"" + n("[", 100) + "\"\n", 0},
		{"brackets in multi-line strings", "a = \"\"\"\n" + n("[", 100) + "\n\"\"\"\nb = '''" + n("{", 100) + "'''\n", 0},
		{"brackets in comments", "# " + n("[", 100) + "\na = [ # " + n("{", 100) + "\n 1,\n]\n", 0},
		{"dots in quoted keys", "\"" + n("a.", 100) + "\" = 1\n['" + n("b.", 100) + "']\n", 0},
		{"multi-line array, deep on line 3", "a = [\n  1,\n  " + n("[", MaxDepth) + "\n", 3},
		{"not TOML: stray closers", n("]}", 100) + "\n" + n("[", 100), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := checkDepth("d.toml", tc.src)
			switch {
			case tc.line == 0 && e != nil:
				t.Errorf("refused: %v", e)
			case tc.line != 0 && e == nil:
				t.Errorf("accepted, want refused on line %d", tc.line)
			case tc.line != 0 && (e.Line != tc.line || e.Key != "toml" || e.File != "d.toml"):
				t.Errorf("got %v, want d.toml:%d: toml", e, tc.line)
			}
		})
	}
}

// TestShippedConfigsDepth checks the claim in checkDepth's message: the
// shipped configs, and the inline form of a task array, nest 3 levels.
func TestShippedConfigsDepth(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "configs", "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no configs/*.toml: %v", err)
	}
	srcs := map[string]string{"inline": "task = [{name = \"a\", period = \"1ms\"}]\n[report]\njson = \"x\"\n"}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs[f] = string(b)
	}
	for name, src := range srcs {
		if _, deep := depthScan(src, 3); deep {
			t.Errorf("%s nests deeper than 3", name)
		}
		if _, deep := depthScan(src, 2); !deep {
			t.Errorf("%s nests 2 levels or less; checkDepth's message says 3", name)
		}
	}
}

// treeDepth is the number of steps from the root of a decoded TOML
// document to its deepest value, an empty array or table counting as
// one step further.
func treeDepth(v any) int {
	d := 0
	switch v := v.(type) {
	case map[string]any:
		for _, x := range v {
			d = max(d, treeDepth(x))
		}
		return d + 1
	case []map[string]any:
		for _, x := range v {
			d = max(d, treeDepth(x))
		}
		return d + 1
	case []any:
		for _, x := range v {
			d = max(d, treeDepth(x))
		}
		return d + 1
	}
	return 0
}

// FuzzCheckDepth checks checkDepth against the decoder: whatever it
// passes decodes to a document no deeper than MaxDepth, and valid TOML
// it refuses is deeper than MaxDepth-1 (it counts an empty array or
// table one level deeper than the decoder's tree).
func FuzzCheckDepth(f *testing.F) {
	for _, tc := range deepInputs {
		f.Add(tc.src[:min(len(tc.src), 200)])
	}
	f.Add("[[a.b]]\nc.d = [{e = [1, {f.g = 2}]}]\n")
	f.Add("a = \"\"\"[[\"\"\"\nb = '{' # [\n")
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 4096 {
			return
		}
		e := checkDepth("f.toml", src)
		if e != nil && (e.Line < 1 || e.Line > strings.Count(src, "\n")+1) {
			t.Fatalf("line %d out of range", e.Line)
		}
		var raw map[string]any
		if _, err := toml.Decode(src, &raw); err != nil {
			return
		}
		d := treeDepth(raw) - 1 // the root table is not a level
		if e == nil && d > MaxDepth {
			t.Fatalf("passed a document %d levels deep", d)
		}
		if e != nil && d < MaxDepth {
			t.Fatalf("refused a document %d levels deep: %v", d, e)
		}
	})
}

func TestLoadSize(t *testing.T) {
	pad := func(n int) string {
		s := okTask + "# "
		return s + strings.Repeat("x", n-len(s)-1) + "\n"
	}
	t.Run("exactly the limit", func(t *testing.T) {
		if _, err := Load(writeFile(t, "max.toml", pad(MaxFileSize)), twoCPUs); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("one byte over", func(t *testing.T) {
		path := writeFile(t, "big.toml", pad(MaxFileSize+1))
		_, err := Load(path, twoCPUs)
		if err == nil || !strings.HasPrefix(err.Error(), path+": larger than the 1048576-byte (1 MiB) limit") || !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v, want the file and the limit", err)
		}
	})
	t.Run("sparse 8 GiB file is not read whole", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "huge.toml")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(8 << 30); err != nil {
			f.Close()
			t.Skipf("cannot make a sparse file here: %v", err)
		}
		f.Close()
		bounded(t, "Load", func() { _, err = Load(path, twoCPUs) })
		if err == nil || !strings.Contains(err.Error(), "1 MiB") {
			t.Fatalf("error %v, want the size limit", err)
		}
	})
	t.Run("Parse also refuses it", func(t *testing.T) {
		_, err := Parse("p.toml", []byte(pad(MaxFileSize+1)), twoCPUs)
		if err == nil || !strings.HasPrefix(err.Error(), "p.toml: larger than") {
			t.Fatalf("error %v", err)
		}
	})
}
