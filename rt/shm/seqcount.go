package shm

import (
	"sync/atomic"
	"unsafe"
)

// A sequence counter (Linux's seqcount) guards a block that one writer
// updates in place and readers copy: the writer makes the counter odd
// before an update and even after it; a reader copies the block between
// SeqReadBegin and SeqReadRetry and retries while the counter was odd or
// moved. The writer never waits for readers and takes no lock, so a
// real-time loop can publish a large block (statistics, a histogram) in
// place every cycle; a reader that needs a consistent copy pays with
// retries. Use Image instead for values small enough to copy whole on
// each write: its readers never retry because of a stalled writer.
//
// The counter is a plain uint64 inside the guarded block's header, so
// the header stays a pointer-free struct that can be copied and laid
// over shared memory. All functions are nosplit and allocation-free.

// SeqWriteBegin marks the start of an in-place update (the counter turns
// odd). One writer only.
//
//go:nosplit
func SeqWriteBegin(seq *uint64) { atomic.AddUint64(seq, 1) }

// SeqWriteEnd marks the end of an update (the counter turns even).
//
//go:nosplit
func SeqWriteEnd(seq *uint64) { atomic.AddUint64(seq, 1) }

// SeqReadBegin returns the counter before a reader's copy.
//
//go:nosplit
func SeqReadBegin(seq *uint64) uint64 { return atomic.LoadUint64(seq) }

// SeqReadRetry reports whether the copy made since SeqReadBegin returned
// start must be discarded: an update was in progress or completed during
// it. The closing read is an atomic read-modify-write, which (unlike a
// plain load on arm64 and arm) cannot be satisfied before the copy's
// loads; on 32-bit ARM a fence comes first (see fence_arm.go). Being a
// write, it makes two readers of one block race in the eyes of the race
// detector: serialise readers of one block.
//
//go:nosplit
func SeqReadRetry(seq *uint64, start uint64) bool {
	w := (*atomic.Uint64)(unsafe.Pointer(seq))
	loadFence(w)
	return start%2 != 0 || w.Add(0) != start
}
