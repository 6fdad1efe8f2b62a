//go:build !linux

package trace

import (
	"io"
	"os"
)

// Instance is a private ftrace instance; ftrace is Linux's, so elsewhere
// NewInstance fails with ErrNotSupported.
type Instance struct{}

// NewInstance fails with ErrNotSupported: ftrace needs Linux.
func NewInstance(InstanceOptions) (*Instance, error) { return nil, ErrNotSupported }

// Sweep fails with ErrNotSupported.
func Sweep(string) ([]string, error) { return nil, ErrNotSupported }

// Name is "".
func (*Instance) Name() string { return "" }

// Dir is "".
func (*Instance) Dir() string { return "" }

// Mounted is false.
func (*Instance) Mounted() bool { return false }

// Swept is nil.
func (*Instance) Swept() []string { return nil }

// Enabled is nil.
func (*Instance) Enabled() []string { return nil }

// TriggerFiles fails with ErrNotSupported.
func (*Instance) TriggerFiles() (marker, tracingOn *os.File, err error) {
	return nil, nil, ErrNotSupported
}

// Stop fails with ErrNotSupported.
func (*Instance) Stop() error { return ErrNotSupported }

// Recording fails with ErrNotSupported.
func (*Instance) Recording() (bool, error) { return false, ErrNotSupported }

// WriteTrace fails with ErrNotSupported.
func (*Instance) WriteTrace(io.Writer) error { return ErrNotSupported }

// Remove does nothing.
func (*Instance) Remove() error { return nil }
