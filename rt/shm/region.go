package shm

import "unsafe"

// Region is a block of memory that shared objects (Image, Ring) are laid
// over. A region from NewRegion or OpenRegion is a MAP_SHARED mapping of
// a memfd, seen by every process that maps the same file; a region from
// PrivateRegion is ordinary heap memory, for tests and single-process use.
//
// The memory is 8-byte aligned (page-aligned for a mapping), so the
// objects can place 64-bit atomics in it on 32-bit ARM too.
type Region struct {
	mem   []byte
	words []uint64 // backing store of a private region (keeps it alive)
	unmap func([]byte) error
}

// PrivateRegion returns a zeroed, heap-backed region of size bytes
// (rounded up to a multiple of 8), aligned to 8 bytes. It allocates; call
// it before the real-time loop starts. A negative size counts as 0.
func PrivateRegion(size int) *Region {
	if size < 0 {
		size = 0
	}
	words := make([]uint64, (size+7)/8)
	r := &Region{words: words}
	if len(words) > 0 {
		r.mem = unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)
	}
	return r
}

// Bytes is the region's memory. Objects laid over it write it with atomics
// and plain copies; do not write it yourself while they are in use.
func (r *Region) Bytes() []byte { return r.mem }

// Close unmaps a shared region; it is a no-op for a private one. Objects
// laid over the region must not be used afterwards (they would fault).
// Close is idempotent.
func (r *Region) Close() error {
	mem, unmap := r.mem, r.unmap
	r.mem, r.words, r.unmap = nil, nil, nil
	if unmap == nil || mem == nil {
		return nil
	}
	return unmap(mem)
}
