package cpulist

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadOnline(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "devices", "system", "cpu")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadOnline(root); err == nil || !strings.Contains(err.Error(), "online CPUs") {
		t.Errorf("missing file: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "online"), []byte("0-2,5\n"), 0o644)
	if got, err := ReadOnline(root); err != nil || !slices.Equal(got, []int{0, 1, 2, 5}) {
		t.Errorf("ReadOnline = %v, %v", got, err)
	}
	os.WriteFile(filepath.Join(dir, "online"), []byte("0-x\n"), 0o644)
	if _, err := ReadOnline(root); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "online")) {
		t.Errorf("malformed: %v, want an error naming the file", err)
	}
}
