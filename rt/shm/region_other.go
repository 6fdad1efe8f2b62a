//go:build !linux

package shm

import (
	"fmt"
	"os"
)

// NewRegion is Linux-only (memfd_create); use PrivateRegion elsewhere.
func NewRegion(name string, size int) (*Region, *os.File, error) {
	return nil, nil, fmt.Errorf("creating shared region %q: %w", name, ErrNotSupported)
}

// OpenRegion is Linux-only.
func OpenRegion(f *os.File) (*Region, error) {
	return nil, fmt.Errorf("opening shared region %s: %w", f.Name(), ErrNotSupported)
}
