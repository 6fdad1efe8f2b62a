package shm

import (
	"errors"

	"github.com/rtcell/rtcell/rt/internal/errs"
)

// Sentinel errors. Wrapped errors carry the detail and the remedy; test
// for the kind with errors.Is.
var (
	// ErrNotSupported is returned by NewRegion and OpenRegion on platforms
	// other than Linux. PrivateRegion works everywhere.
	ErrNotSupported = errs.ErrNotSupported
	// ErrInvalid marks a bad argument: a capacity that is not a power of
	// two, a region too small for the object, an unknown policy.
	ErrInvalid = errs.ErrInvalid
	// ErrType means the element type cannot live in shared memory: it holds
	// a pointer, slice, string, map, interface, channel, function or
	// uintptr, or has size 0. The error is a *TypeError naming the field.
	ErrType = errors.New("type cannot be placed in shared memory")
	// ErrMismatch means a region's header does not describe the object
	// being opened: not an rtcell object, another layout version, an image
	// where a ring was expected, or another element type. Both processes
	// must be the same build and open the region with the same type.
	ErrMismatch = errors.New("shared memory object does not match")
)

// TypeError says which field of an element type keeps it out of shared
// memory, and what to use instead. It matches ErrType with errors.Is.
type TypeError struct {
	Type   string // the element type, e.g. "main.Inputs"
	Field  string // path to the offending field, e.g. "Tags[i].Name"; "" for the type itself
	Kind   string // reflect kind of the offending field, e.g. "string"
	Remedy string
}

func (e *TypeError) Error() string {
	where := "field " + e.Field
	if e.Field == "" {
		where = "the type itself"
	}
	return "type " + e.Type + " cannot be placed in shared memory: " + where + " is a " + e.Kind + "; " + e.Remedy
}

// Is reports whether target is ErrType.
func (e *TypeError) Is(target error) bool { return target == ErrType }
