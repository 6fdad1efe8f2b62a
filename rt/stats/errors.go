package stats

import (
	"errors"

	"github.com/rtcell/rtcell/rt/internal/errs"
)

// Sentinel errors. Wrapped errors carry the detail and the remedy; test for
// the kind with errors.Is.
var (
	// ErrInvalid marks a bad argument: a histogram buffer too small, a
	// non-positive window length.
	ErrInvalid = errs.ErrInvalid
	// ErrLayout means a Task's Version field does not match LayoutVersion:
	// the reader and the writer were built from different rtcell versions.
	ErrLayout = errors.New("statistics layout version mismatch")
)
