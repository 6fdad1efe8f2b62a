package shm

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestNewRegionSharesMemory(t *testing.T) {
	a, f, err := NewRegion("shm-test", 5000)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if len(a.Bytes()) != 5000 {
		t.Fatalf("region is %d bytes, want 5000", len(a.Bytes()))
	}
	// The memfd shows up under its name, as a tool like lsof would see it.
	link, err := os.Readlink(filepath.Join("/proc/self/fd", strconv.Itoa(int(f.Fd()))))
	if err != nil || !strings.Contains(link, "memfd:shm-test") {
		t.Errorf("fd links to %q (%v), want a memfd named shm-test", link, err)
	}
	b, err := OpenRegion(f) // a second mapping, as the other process makes
	if err != nil {
		t.Fatal(err)
	}
	a.Bytes()[4999] = 0x5a
	if b.Bytes()[4999] != 0x5a {
		t.Fatal("a write through one mapping is not seen through the other")
	}
	// An image made through one mapping opens through the other.
	if _, err := NewImage[img256](a); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenImage[img256](b); err != nil {
		t.Fatalf("opening through the second mapping: %v", err)
	}
	for _, r := range []*Region{a, b} {
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil || r.Bytes() != nil {
			t.Fatalf("second Close: %v, bytes %v", err, r.Bytes())
		}
	}
}

func TestRegionErrors(t *testing.T) {
	for _, size := range []int{0, -1} {
		if _, _, err := NewRegion("bad", size); !errors.Is(err, ErrInvalid) {
			t.Errorf("NewRegion(%d): err = %v, want ErrInvalid", size, err)
		}
	}
	empty, err := os.CreateTemp(t.TempDir(), "empty")
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	if _, err := OpenRegion(empty); !errors.Is(err, ErrInvalid) {
		t.Errorf("OpenRegion(empty file): err = %v, want ErrInvalid", err)
	}
	closed, err := os.CreateTemp(t.TempDir(), "closed")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	if _, err := OpenRegion(closed); err == nil {
		t.Error("OpenRegion(closed file) succeeded")
	}
}
