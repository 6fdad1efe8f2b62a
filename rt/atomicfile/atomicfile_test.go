package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out", "sub", "run.json")
	err := Write(path, func(w io.Writer) error {
		_, err := io.WriteString(w, "one")
		return err
	}, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "one" {
		t.Fatalf("content %q, %v", b, err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	di, _ := os.Stat(filepath.Join(dir, "out"))
	if di.Mode().Perm() != 0o755 {
		t.Errorf("created directory mode %v, want 0755", di.Mode().Perm())
	}

	// A write that fails halfway leaves the old file and no temporary.
	boom := errors.New("boom")
	err = Write(path, func(w io.Writer) error {
		io.WriteString(w, strings.Repeat("x", 200_000)) // past the buffer: really on disk
		return boom
	}, 0o640)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want boom naming %s", err, path)
	}
	if b, _ := os.ReadFile(path); string(b) != "one" {
		t.Errorf("old file changed to %.20q…", b)
	}
	if names := dirEntries(t, filepath.Dir(path)); len(names) != 1 || names[0] != "run.json" {
		t.Errorf("left behind: %v", names)
	}

	// A second write replaces the file.
	if err := Write(path, func(w io.Writer) error { _, err := fmt.Fprint(w, "two"); return err }, 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "two" {
		t.Errorf("content %q, want two", b)
	}
	if names := dirEntries(t, filepath.Dir(path)); len(names) != 1 {
		t.Errorf("left behind: %v", names)
	}
}

func TestWriteBadDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "afile")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	called := false
	write := func(w io.Writer) error { called = true; return nil }
	for _, path := range []string{
		filepath.Join(file, "run.json"),           // parent is a file
		filepath.Join(file, "deeper", "run.json"), // cannot be created
	} {
		err := Write(path, write, 0o644)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("err = %v, want an error naming %s", err, path)
		}
	}
	if called {
		t.Error("write was called although the directory is unusable")
	}
	if names := dirEntries(t, dir); len(names) != 1 {
		t.Errorf("left behind: %v", names)
	}
}
