package metrics

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteTextfile(t *testing.T) {
	loop := runTestLoop(t, "tf", 15)
	c := static(Task{Name: "tf", Source: loop})
	dir := t.TempDir()
	path := filepath.Join(dir, "rtcell.prom")
	if err := os.WriteFile(path, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteTextfile(path, c); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := parseExposition(string(b))
	if err != nil {
		t.Fatalf("textfile is not a valid exposition: %v", err)
	}
	if n, _ := e.value("rtcell_task_cycles_total", "task", "tf"); n != 15 {
		t.Errorf("cycles %v, want 15", n)
	}
	if names := dirNames(t, dir); len(names) != 1 || names[0] != "rtcell.prom" {
		t.Errorf("directory holds %v, want only rtcell.prom (a temporary file left behind?)", names)
	}
	// Missing directories are created, as for the runner's other reports.
	deep := filepath.Join(dir, "out", "node", "rtcell.prom")
	if err := WriteTextfile(deep, c); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, filepath.Dir(deep)); len(names) != 1 {
		t.Errorf("new directory holds %v", names)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644 so node_exporter can read it", st.Mode().Perm(), err)
	}
}

func TestWriteTextfileErrors(t *testing.T) {
	good := static(Task{Name: "a"})
	dup := static(Task{Name: "a"}, Task{Name: "a"})
	cases := []struct {
		name   string
		file   string // relative to a temp dir
		c      *Collector
		want   error
		exists bool // a file is there before, and must be untouched
	}{
		{name: "not .prom", file: "rtcell.txt", c: good, want: ErrInvalid},
		{name: ".prom only as a prefix", file: "rtcell.prom.bak", c: good, want: ErrInvalid},
		{name: "parent is a file", file: "file/rtcell.prom", c: good, want: syscall.ENOTDIR, exists: true},
		{name: "collector fails", file: "rtcell.prom", c: dup, want: ErrDuplicateTask, exists: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tc.file)
			existing := path
			if tc.want == syscall.ENOTDIR {
				existing = filepath.Dir(path)
			}
			if tc.exists {
				if err := os.WriteFile(existing, []byte("old\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := WriteTextfile(path, tc.c)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if tc.exists {
				if b, _ := os.ReadFile(existing); string(b) != "old\n" {
					t.Errorf("the existing file was changed to %q", b)
				}
			}
			want := 0
			if tc.exists {
				want = 1
			}
			if names := dirNames(t, dir); len(names) != want {
				t.Errorf("directory holds %v after a failed write", names)
			}
		})
	}
}

func TestWriteTextfileEvery(t *testing.T) {
	if err := WriteTextfileEvery(context.Background(), "x.prom", 0, static()); !errors.Is(err, ErrInvalid) {
		t.Errorf("interval 0: %v, want ErrInvalid", err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "rtcell.prom")
	ctx, cancel := context.WithCancel(context.Background())
	writes := 0
	c := NewCollector(func() []Task {
		writes++ // one goroutine writes: no lock needed
		if writes == 3 {
			cancel()
		}
		return []Task{{Name: "a"}}
	})
	if err := WriteTextfileEvery(ctx, path, time.Millisecond, c); err != nil {
		t.Fatal(err)
	}
	// The first write, ticks until the third, and the final one.
	if writes < 4 {
		t.Errorf("%d writes, want the first, the ticks and a final one after cancel", writes)
	}
	if _, err := os.Stat(path); err != nil {
		t.Error(err)
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Errorf("directory holds %v", names)
	}
}
