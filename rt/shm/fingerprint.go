package shm

import "reflect"

// TypeInfo describes an element type as shared memory sees it.
type TypeInfo struct {
	// Name is the type's Go name, for messages.
	Name string
	// Size is the type's size in bytes.
	Size int
	// Fingerprint is a hash of the type's layout: kinds, sizes, field
	// names and offsets. Two types with the same fingerprint have the
	// same byte layout; a changed field changes it.
	Fingerprint uint64
}

// TypeOf returns T's name, size and layout fingerprint, the same ones
// the headers of images and rings carry, or a *TypeError (matching
// ErrType) when T cannot be placed in shared memory. Other stores of
// pointer-free values (rt's retained data files) use it to refuse data
// written by another type.
func TypeOf[T any]() (TypeInfo, error) {
	e, err := checkType(reflect.TypeFor[T]())
	if err != nil {
		return TypeInfo{}, err
	}
	return TypeInfo{Name: e.name, Size: int(e.size), Fingerprint: e.hash}, nil
}
