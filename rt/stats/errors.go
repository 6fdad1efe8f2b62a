package stats

import "errors"

// Sentinel errors. Wrapped errors carry the detail and the remedy; test for
// the kind with errors.Is.
var (
	// ErrInvalid marks a bad argument: a histogram buffer too small, a
	// non-positive window length.
	ErrInvalid = errors.New("invalid argument")
	// ErrLayout means a Task's Version field does not match LayoutVersion:
	// the reader and the writer were built from different rtcell versions.
	ErrLayout = errors.New("statistics layout version mismatch")
)
