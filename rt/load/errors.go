package load

import (
	"errors"

	"github.com/rtcell/rtcell/rt/internal/errs"
)

// Sentinel errors.
var (
	// ErrNotInstalled: a load generator is not on PATH.
	ErrNotInstalled = errors.New("load generator not installed")
	// ErrNoCPUs: no CPU is left for the load (every online CPU runs a
	// task), or the spec names none.
	ErrNoCPUs = errors.New("no CPU for the load")
	// ErrNotSupported is returned on platforms other than Linux.
	ErrNotSupported = errs.ErrNotSupported
	// ErrInvalid marks a bad spec.
	ErrInvalid = errs.ErrInvalid
)
