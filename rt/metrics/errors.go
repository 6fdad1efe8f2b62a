package metrics

import (
	"errors"

	"github.com/rtcell/rtcell/rt/internal/errs"
)

// Sentinel errors. Wrapped errors carry the detail and the remedy; test for
// the kind with errors.Is.
var (
	// ErrDuplicateTask means two tasks have the same name: their series
	// would collide, and Prometheus rejects a scrape with duplicate series.
	ErrDuplicateTask = errors.New("duplicate task name")
	// ErrInvalid marks a bad argument: a task without a name, a textfile
	// path that node_exporter would ignore, a non-positive interval.
	ErrInvalid = errs.ErrInvalid
)
