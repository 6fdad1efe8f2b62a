package shm

import (
	"fmt"
	"reflect"
	"sync/atomic"
	"unsafe"
)

// Image is a typed process image in shared memory: one value of T that a
// single writer replaces, typically once per cycle, and any number of
// readers copy. Inputs are written by the non-real-time side and read by
// the real-time loop; outputs the other way round. Use one Image per
// direction: there must never be two writers.
//
// Design: ImageSlots copies of T, each guarded by its own sequence word
// (a seqlock per slot, the Linux seqcount_latch pattern). Write number n
// goes to slot n mod ImageSlots, then publishes n; Read copies the slot of
// the newest published write and checks that slot's sequence did not move.
//
//   - The writer is wait-free: it never looks at readers, never retries,
//     never blocks. Three atomic stores and one copy of T.
//   - A reader never returns a torn value: the slot's sequence word is
//     checked before and after the copy.
//   - A writer stopped half-way through a write (a preempted non-RT
//     process, or one that died) does not hold up readers: it is writing a
//     slot other than the published one, so readers keep getting the last
//     complete value. A single-buffer seqlock would make the RT reader fail
//     for as long as the writer is descheduled.
//   - A reader has to retry only if the writer completes ImageSlots-1
//     writes and starts another while the reader copies one value: never,
//     for a copy of a few hundred ns and a writer that writes once per
//     cycle. Read makes at most ImageReadAttempts attempts.
//
// Write and Read are allocation-free and nosplit (they add no preemption
// point to the loop). Before the first Write, Read returns the zero value
// and Version is 0.
type Image[T any] struct {
	ver   *atomic.Uint64 // number of completed writes
	mask  uint64         // slots-1
	slots [ImageSlots]imageSlot[T]
	// temps are this process's scratch copies: Read copies the slot into
	// one and checks it before it touches *dst. A reader claims one with
	// a CAS on its busy word.
	temps [ImageTemps]imageTemp[T]
}

type imageTemp[T any] struct {
	busy atomic.Uint32
	v    *T
}

// ImageTemps is how many goroutines of one process can read one Image at
// the same moment without Read allocating: each needs a scratch copy of
// T, and the Image keeps this many (in private memory).
const ImageTemps = 4

type imageSlot[T any] struct {
	seq  *atomic.Uint64 // 2n-1 while write n is in progress, 2n when it is complete
	data *T
}

// ImageSlots is the number of copies of T an Image keeps. A power of two,
// so that the slot index is a mask.
const ImageSlots = 4

// ImageReadAttempts bounds the attempts Read makes before it gives up and
// returns false. Each attempt costs one copy of T.
const ImageReadAttempts = 4

// Image layout: header (128 bytes), the write count on its own cache line,
// then ImageSlots slots of [seq uint64][T], each rounded up to a cache line.
const (
	imageVerOff   = headerSize
	imageSlotsOff = headerSize + CacheLine
)

func imageStride(elemSize uint64) uint64 { return roundUp(8+elemSize, CacheLine) }

// ImageSize is the number of bytes an Image[T] occupies in a region
// (header and ImageSlots copies of T). It is 0 if T cannot be placed in
// shared memory (NewImage says why).
func ImageSize[T any]() int {
	e, err := checkType(reflect.TypeFor[T]())
	if err != nil {
		return 0
	}
	return imageSize(e.size, ImageSlots)
}

func imageSize(elemSize uint64, slots int) int {
	return imageSlotsOff + slots*int(imageStride(elemSize))
}

// NewImage lays a new Image[T] over the start of r, overwriting whatever
// was there: call it once, in the process that creates the region, before
// handing the region to the other process, which calls OpenImage. It fails
// with a *TypeError (ErrType) if T holds pointers, slices, strings, maps,
// interfaces, channels, functions or uintptrs, and with ErrInvalid if r is
// smaller than ImageSize[T]().
func NewImage[T any](r *Region) (*Image[T], error) { return newImage[T](r, ImageSlots) }

// newImage makes an image with fewer slots for the tests: with one slot it
// is a plain seqlock, whose readers a fast writer laps all the time, which
// exercises the torn-copy checks far more than ImageSlots does.
func newImage[T any](r *Region, slots int) (*Image[T], error) {
	e, err := checkType(reflect.TypeFor[T]())
	if err != nil {
		return nil, fmt.Errorf("creating image: %w", err)
	}
	size := imageSize(e.size, slots)
	if len(r.mem) < size {
		return nil, fmt.Errorf("creating image of %s: region is %d bytes, needs %d (size it with ImageSize): %w", e.name, len(r.mem), size, ErrInvalid)
	}
	initHeader(r.mem, kindImage, e, uint64(slots), 0, size)
	return attachImage[T](r.mem, e, slots), nil
}

// OpenImage attaches to the Image[T] that another process created in r
// with NewImage. It fails with ErrMismatch, saying what the region holds,
// if r holds anything else, including an image of another type.
func OpenImage[T any](r *Region) (*Image[T], error) {
	e, err := checkType(reflect.TypeFor[T]())
	if err != nil {
		return nil, fmt.Errorf("opening image: %w", err)
	}
	h, err := checkHeader(r.mem, kindImage, e, "image of "+e.name)
	if err != nil {
		return nil, err
	}
	slots := int(h.Count)
	if (h.Count != 1 && h.Count != 2 && h.Count != ImageSlots) || h.Bytes != uint64(imageSize(e.size, slots)) {
		return nil, fmt.Errorf("opening image of %s: header says %d slots in %d bytes, this build uses %d slots in %d bytes: %w",
			e.name, h.Count, h.Bytes, ImageSlots, imageSize(e.size, ImageSlots), ErrMismatch)
	}
	return attachImage[T](r.mem, e, slots), nil
}

func attachImage[T any](mem []byte, e elemInfo, slots int) *Image[T] {
	base := unsafe.Pointer(&mem[0])
	im := &Image[T]{ver: word(base, imageVerOff), mask: uint64(slots - 1)}
	temps := make([]T, ImageTemps)
	for i := range im.temps {
		im.temps[i].v = &temps[i]
	}
	stride := uintptr(imageStride(e.size))
	for i := range im.slots {
		// With fewer slots, the unused entries alias the used ones; the
		// mask never selects them.
		p := unsafe.Add(base, imageSlotsOff+uintptr(i%slots)*stride)
		im.slots[i] = imageSlot[T]{seq: (*atomic.Uint64)(p), data: (*T)(unsafe.Add(p, 8))}
	}
	return im
}

// Memory ordering (Go's sync/atomic operations are sequentially
// consistent; what each one is compiled to, and why that suffices):
//
// Writer, write n into slot s:
//
//	s.seq.Swap(2n-1)  atomic read-modify-write (amd64 XCHG; arm64 SWPAL or
//	                  LDAXR/STLXR; arm LDREXD, DMB ISHST, STREXD, DMB ISH):
//	                  the data stores below cannot become visible before
//	                  the slot is marked odd.
//	*s.data = *v      plain copy (memmove).
//	s.seq.Store(2n)   release store (amd64 XCHG; arm64 STLR; arm DMB ISHST
//	                  before STREXD): the data stores are visible first.
//	ver.Store(n)      release store: publishes n after slot s is complete.
//
// Reader:
//
//	n := ver.Load()            acquire load (arm64 LDAR; arm LDREXD+DMB).
//	                           It reads the writer's ver.Store(n), so the
//	                           copy below sees at least write n's data.
//	s.seq.Load() == 2n         early exit if the slot is being rewritten.
//	*dst = *s.data             plain copy, possibly racing a later write.
//	loadFence                  32-bit ARM only: DMB ISH (see fence_arm.go).
//	s.seq.Add(0) == 2n         atomic read-modify-write as the closing read,
//	                           as in shm.SeqReadRetry. A plain load
//	                           could be satisfied before the copy's loads
//	                           (arm64 and arm reorder loads); an RMW cannot:
//	                           it has release semantics, so the copy's loads
//	                           are done before it. And RMWs on one word are
//	                           totally ordered: if the writer's next
//	                           Swap(2(n+ImageSlots)-1) came after our Add in
//	                           that order, the Swap read our Add and
//	                           acquired from it, so the writer's new data
//	                           stores come after our copy; if it came
//	                           before, the Add returns a later value and
//	                           the attempt is discarded. So a reader never
//	                           sees the new sequence with old data, nor old
//	                           data mixed with new.

// Write publishes *v as the image's new value. One writer only. It is
// wait-free, allocation-free and nosplit; it costs one copy of T and three
// atomic stores.
//
//go:nosplit
func (im *Image[T]) Write(v *T) {
	n := im.ver.Load() + 1
	s := &im.slots[n&im.mask&(ImageSlots-1)]
	s.seq.Swap(2*n - 1)
	*s.data = *v
	s.seq.Store(2 * n)
	im.ver.Store(n)
}

// Read copies the newest complete value into *dst and reports whether it
// got a consistent copy. On false *dst is unchanged: keep using your
// previous value. It returns false only when the writer lapped it on
// every one of ImageReadAttempts attempts (it completed ImageSlots-1
// writes during each copy). It never blocks and never spins beyond that
// bound.
//
// Each attempt copies into a scratch copy of T kept by the Image, and
// only a consistent copy is copied on into *dst: one more copy of T than
// a plain seqlock read, for a *dst that is never torn. Read is nosplit
// and allocation-free while at most ImageTemps goroutines of a process
// read the image at the same moment (an RT loop is its process's only
// reader); a reader beyond that gets a scratch copy from the heap.
//
//go:nosplit
func (im *Image[T]) Read(dst *T) bool {
	_, ok := im.ReadVersion(dst)
	return ok
}

// ReadVersion is Read that also returns which write the copy holds (its
// 1-based number; 0 for the zero value before the first write). A reader
// that sees the version stop moving knows its writer has stalled. On
// false *dst is unchanged.
//
//go:nosplit
func (im *Image[T]) ReadVersion(dst *T) (version uint64, ok bool) {
	for i := range im.temps {
		t := &im.temps[i]
		if t.busy.CompareAndSwap(0, 1) {
			n, ok := im.readInto(t.v)
			if ok {
				*dst = *t.v
			}
			t.busy.Store(0)
			return n, ok
		}
	}
	return im.readHeap(dst)
}

// readHeap is ReadVersion with a scratch copy from the heap, for a reader
// that found every scratch copy in use.
//
//go:noinline
func (im *Image[T]) readHeap(dst *T) (uint64, bool) {
	v := new(T)
	n, ok := im.readInto(v)
	if ok {
		*dst = *v
	}
	return n, ok
}

// readInto copies the newest complete value into *v, which may be left
// torn when it returns false.
//
//go:nosplit
func (im *Image[T]) readInto(v *T) (version uint64, ok bool) {
	for range ImageReadAttempts {
		n := im.ver.Load()
		s := &im.slots[n&im.mask&(ImageSlots-1)]
		if s.seq.Load() != 2*n {
			// Already being rewritten: skip the copy. (An early exit
			// only; the closing check alone is enough for correctness,
			// since a slot's sequence only grows.)
			continue
		}
		*v = *s.data
		loadFence(s.seq)
		if s.seq.Add(0) == 2*n {
			return n, true
		}
	}
	return 0, false
}

// Version is the number of writes completed so far. At 10 kHz it would
// take 58 million years to overflow.
func (im *Image[T]) Version() uint64 { return im.ver.Load() }

// CheckType reports whether values of T can be placed in shared memory
// (as an Image, the items of a Ring): nil, or a *TypeError (ErrType)
// naming the type, the path of the offending field and its kind.
func CheckType[T any]() error {
	_, err := checkType(reflect.TypeFor[T]())
	return err
}
