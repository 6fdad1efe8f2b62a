//go:build !linux

package rt

import "os"

// NewSharedTelemetry is Linux-only.
func NewSharedTelemetry(histUS int) (*Telemetry, *os.File, error) { return nil, nil, ErrNotSupported }

// OpenTelemetry is Linux-only.
func OpenTelemetry(f *os.File) (*Telemetry, error) { return nil, ErrNotSupported }
