package shm

import (
	"fmt"
	"math/bits"
	"reflect"
	"sync/atomic"
	"unsafe"
)

// Policy says what Push does when the ring is full.
type Policy uint8

const (
	// DropNewest refuses the new item: Push returns false and counts it
	// as dropped. The consumer gets an unbroken prefix of the stream, and
	// the producer never touches a slot the consumer may be reading.
	// For commands, and for samples that must be complete up to a gap.
	DropNewest Policy = iota + 1
	// OverwriteOldest stores the new item over the oldest unread one,
	// which counts as dropped. A consumer that keeps up gets every item; one
	// that falls behind finds the newest capacity items. For telemetry and
	// live samples, where fresh beats complete.
	OverwriteOldest
)

func (p Policy) String() string {
	switch p {
	case DropNewest:
		return "DropNewest"
	case OverwriteOldest:
		return "OverwriteOldest"
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}

// RingStats are a ring's counters, readable from either process. When
// neither side is active, Pushed == Popped + Dropped + Len(). At 10 kHz a
// uint64 count lasts 58 million years.
type RingStats struct {
	Pushed  uint64 // items offered to Push, including the dropped ones
	Popped  uint64 // items returned by Pop and PopBatch
	Dropped uint64 // refused (DropNewest); overwritten or skipped unread (OverwriteOldest)
}

// Ring is a lock-free single-producer single-consumer queue of T in a
// region. One goroutine in one process pushes, one goroutine (in the same
// or another process) pops; the same *Ring may serve both in one process.
// Push and Pop are wait-free, allocation-free and nosplit.
//
// Every slot carries a sequence word naming the item it holds and whether
// it is being written or ready. Under DropNewest the producer writes a
// slot only after the consumer has released it (tail), so neither side
// ever sees the other mid-copy. Under OverwriteOldest the producer may
// overwrite the slot the consumer is copying: the slot is then a seqlock.
// The consumer checks the slot's word after its copy with an atomic
// read-modify-write; if the producer has started overwriting the slot the
// copy, possibly torn, is discarded, and the consumer moves on to the
// oldest item still present. So a consumer never returns a torn item.
//
// Counting: items are consumed in order, so every item below the
// consumer's position (tail) was either popped or skipped, and items more
// than a capacity behind the producer's position (head) are gone.
// Dropped under OverwriteOldest is skipped + max(0, head-capacity-tail):
// an item counts as dropped once, from the moment it is overwritten or
// skipped.
type Ring[T any] struct {
	slots  unsafe.Pointer
	stride uintptr
	mask   uint64
	cap    uint64
	policy Policy

	// producer side
	head    *atomic.Uint64 // items written to slots (item numbers 0..head-1)
	refused *atomic.Uint64 // DropNewest: pushes refused
	limit   uint64         // producer-local: head may grow up to this without reading tail

	// consumer side
	tail    *atomic.Uint64 // next item number the consumer wants
	skipped *atomic.Uint64 // OverwriteOldest: items the consumer jumped over
}

// Slot sequence word: (item+1)<<2 | state. 0 is a slot never written.
const (
	stateWriting = 1
	stateReady   = 2
)

func enc(item, state uint64) uint64 { return (item+1)<<2 | state }

// ringPopAttempts bounds the slots Pop looks at under OverwriteOldest when
// the producer keeps overwriting the item it is copying.
const ringPopAttempts = 4

// After its first jump to the oldest item present has failed too, a
// lapped consumer resumes capacity/ringResyncMargin items further on, so
// that the producer does not overwrite its next copies at once.
const ringResyncMargin = 4

// MaxRingCapacity is the largest capacity NewRing accepts.
const MaxRingCapacity = 1 << 30

// Ring layout: header (128 bytes), the producer's counters on one cache
// line, the consumer's on the next, then capacity slots of
// [seq uint64][T], each rounded up to 8 bytes.
const (
	ringHeadOff    = headerSize
	ringRefusedOff = headerSize + 8
	ringTailOff    = headerSize + CacheLine
	ringSkippedOff = headerSize + CacheLine + 8
	ringSlotsOff   = headerSize + 2*CacheLine
)

func ringStride(elemSize uint64) uint64 { return roundUp(8+elemSize, 8) }

// RingSize is the number of bytes a Ring[T] of the given capacity occupies
// in a region. It is 0 if T cannot be placed in shared memory or the
// capacity is not a power of two in [1, MaxRingCapacity] (NewRing says why).
func RingSize[T any](capacity int) int {
	e, err := checkType(reflect.TypeFor[T]())
	if err != nil {
		return 0
	}
	n, err := ringSize(e.size, capacity)
	if err != nil {
		return 0
	}
	return n
}

func ringSize(elemSize uint64, capacity int) (int, error) {
	if capacity < 1 || capacity > MaxRingCapacity || bits.OnesCount64(uint64(capacity)) != 1 {
		return 0, fmt.Errorf("ring capacity %d is not a power of two between 1 and %d (try %d): %w",
			capacity, MaxRingCapacity, nextPow2(capacity), ErrInvalid)
	}
	hi, lo := bits.Mul64(uint64(capacity), ringStride(elemSize))
	maxInt := uint64(^uint(0) >> 1)
	if hi != 0 || lo > maxInt-ringSlotsOff {
		return 0, fmt.Errorf("ring of %d items of %d bytes does not fit in memory: %w", capacity, elemSize, ErrInvalid)
	}
	return int(ringSlotsOff + lo), nil
}

func nextPow2(n int) int {
	if n <= 1 {
		return 1
	}
	if n > MaxRingCapacity {
		return MaxRingCapacity
	}
	return 1 << bits.Len(uint(n-1))
}

// NewRing lays a new, empty Ring[T] over the start of r, overwriting
// whatever was there: call it once, in the process that creates the
// region, before the other process calls OpenRing. capacity must be a
// power of two (ErrInvalid otherwise); T must be pointer-free (a
// *TypeError otherwise); r must hold RingSize[T](capacity) bytes.
func NewRing[T any](r *Region, capacity int, p Policy) (*Ring[T], error) {
	e, err := checkType(reflect.TypeFor[T]())
	if err != nil {
		return nil, fmt.Errorf("creating ring: %w", err)
	}
	if p != DropNewest && p != OverwriteOldest {
		return nil, fmt.Errorf("creating ring of %s: unknown policy %v, use DropNewest or OverwriteOldest: %w", e.name, p, ErrInvalid)
	}
	size, err := ringSize(e.size, capacity)
	if err != nil {
		return nil, fmt.Errorf("creating ring of %s: %w", e.name, err)
	}
	if len(r.mem) < size {
		return nil, fmt.Errorf("creating ring of %s: region is %d bytes, a ring of %d needs %d (size it with RingSize): %w",
			e.name, len(r.mem), capacity, size, ErrInvalid)
	}
	initHeader(r.mem, kindRing, e, uint64(capacity), uint64(p), size)
	return attachRing[T](r.mem, e, uint64(capacity), p), nil
}

// OpenRing attaches to the Ring[T] another process created in r with
// NewRing; capacity and policy come from its header. It fails with
// ErrMismatch, saying what the region holds, if r holds anything else,
// including a ring of another element type.
func OpenRing[T any](r *Region) (*Ring[T], error) {
	e, err := checkType(reflect.TypeFor[T]())
	if err != nil {
		return nil, fmt.Errorf("opening ring: %w", err)
	}
	h, err := checkHeader(r.mem, kindRing, e, "ring of "+e.name)
	if err != nil {
		return nil, err
	}
	p := Policy(h.Policy)
	if h.Policy > 255 || (p != DropNewest && p != OverwriteOldest) {
		return nil, fmt.Errorf("opening ring of %s: header names unknown policy %d: %w", e.name, h.Policy, ErrMismatch)
	}
	if h.Count > MaxRingCapacity {
		return nil, fmt.Errorf("opening ring of %s: header capacity %d is out of range: %w", e.name, h.Count, ErrMismatch)
	}
	size, err := ringSize(e.size, int(h.Count))
	if err != nil {
		return nil, fmt.Errorf("opening ring of %s: header: %w", e.name, err)
	}
	if h.Bytes != uint64(size) {
		return nil, fmt.Errorf("opening ring of %s: header says %d bytes, a ring of %d needs %d: %w", e.name, h.Bytes, h.Count, size, ErrMismatch)
	}
	return attachRing[T](r.mem, e, h.Count, p), nil
}

func attachRing[T any](mem []byte, e elemInfo, capacity uint64, p Policy) *Ring[T] {
	base := unsafe.Pointer(&mem[0])
	return &Ring[T]{
		slots:   unsafe.Add(base, ringSlotsOff),
		stride:  uintptr(ringStride(e.size)),
		mask:    capacity - 1,
		cap:     capacity,
		policy:  p,
		head:    word(base, ringHeadOff),
		refused: word(base, ringRefusedOff),
		tail:    word(base, ringTailOff),
		skipped: word(base, ringSkippedOff),
	}
}

// Capacity is the number of items the ring holds.
func (r *Ring[T]) Capacity() int { return int(r.cap) }

// Policy is what Push does when the ring is full.
func (r *Ring[T]) Policy() Policy { return r.policy }

//go:nosplit
func (r *Ring[T]) slot(item uint64) (*atomic.Uint64, *T) {
	p := unsafe.Add(r.slots, uintptr(item&r.mask)*r.stride)
	return (*atomic.Uint64)(p), (*T)(unsafe.Add(p, 8))
}

// Memory ordering (see also Image):
//
// Producer, item i:
//
//	DropNewest:      i < tail.Load()+cap  acquire: the consumer's copy of
//	                                      item i-cap (before its tail store)
//	                                      is complete before we overwrite.
//	OverwriteOldest: seq.Swap(writing)    RMW, full barrier: the data stores
//	                                      below come after it.
//	*data = *v                            plain copy.
//	seq.Store(ready)                      release: data visible first.
//	head.Store(i+1)                       release: for Len, Stats, resync.
//
// Consumer, item t:
//
//	seq.Load() == ready(t)   acquire: pairs with the producer's Store(ready).
//	*dst = *data             plain copy.
//	loadFence                32-bit ARM only (fence_arm.go).
//	DropNewest:      tail.Store(t+1)    release: the producer reuses the
//	                                    slot only after our copy.
//	OverwriteOldest: seq.Add(0) == ready(t)
//	                                    RMW as the closing read: if the
//	                                    producer's Swap came first, Add sees
//	                                    its value and the copy is discarded;
//	                                    if ours came first, the Swap read our
//	                                    value and acquired from it, so its
//	                                    data stores follow our copy.

// Push appends *v. It returns false only under DropNewest when the ring is
// full; the item is then counted as dropped. Under OverwriteOldest it
// always succeeds, overwriting the oldest unread item when full. Producer
// only. Wait-free, allocation-free, nosplit.
//
//go:nosplit
func (r *Ring[T]) Push(v *T) bool {
	i := r.head.Load()
	seq, data := r.slot(i)
	if r.policy == OverwriteOldest {
		seq.Swap(enc(i, stateWriting))
	} else if i >= r.limit {
		r.limit = r.tail.Load() + r.cap
		if i >= r.limit {
			r.refused.Store(r.refused.Load() + 1)
			return false
		}
	}
	*data = *v
	seq.Store(enc(i, stateReady))
	r.head.Store(i + 1)
	return true
}

// Pop moves the oldest unread item into *dst and reports whether there
// was one. Consumer only. When Pop returns false *dst is unspecified.
// Wait-free, allocation-free, nosplit.
//
// Under OverwriteOldest, a consumer that finds its next item overwritten
// jumps to the oldest item still present; if that one is overwritten
// while it copies it too (the producer is pushing faster than the
// consumer can copy), it jumps a quarter of the ring further, skipping
// those items as dropped. Pop returns false, although items are present,
// if it loses the race on ringPopAttempts (4) slots in a row.
//
//go:nosplit
func (r *Ring[T]) Pop(dst *T) bool {
	t0 := r.tail.Load()
	t, skipped, ok := r.take(t0, dst)
	if t != t0 {
		if skipped != 0 {
			r.skipped.Store(r.skipped.Load() + skipped)
		}
		r.tail.Store(t)
	}
	return ok
}

// PopBatch moves up to len(dst) of the oldest unread items into dst, in
// order, and returns how many. It updates the consumer's position once,
// so it is cheaper per item than Pop. Consumer only. Allocation-free,
// nosplit; it looks at no more than len(dst)+ringPopAttempts slots.
//
//go:nosplit
func (r *Ring[T]) PopBatch(dst []T) int {
	t0 := r.tail.Load()
	t, n, skippedAll := t0, 0, uint64(0)
	for n < len(dst) {
		t1, skipped, ok := r.take(t, &dst[n])
		t = t1
		skippedAll += skipped
		if !ok {
			break
		}
		n++
	}
	if t != t0 {
		if skippedAll != 0 {
			r.skipped.Store(r.skipped.Load() + skippedAll)
		}
		r.tail.Store(t)
	}
	return n
}

// take copies item t, or under OverwriteOldest the oldest item still
// present after it, into dst. It returns the consumer's new position, how
// many items it skipped, and whether it copied one.
//
//go:nosplit
func (r *Ring[T]) take(t uint64, dst *T) (next, skipped uint64, ok bool) {
	if r.policy == DropNewest {
		seq, data := r.slot(t)
		if seq.Load() != enc(t, stateReady) {
			return t, 0, false // not pushed yet
		}
		*dst = *data
		loadFence(seq)
		return t + 1, 0, true
	}
	start, margin := t, uint64(0)
	for range ringPopAttempts {
		seq, data := r.slot(t)
		s := seq.Load()
		if s == enc(t, stateReady) {
			*dst = *data
			loadFence(seq)
			if seq.Add(0) == s {
				return t + 1, t - start, true
			}
			s = seq.Load() // overwritten while we copied
		}
		if s>>2 <= t+1 {
			return t, t - start, false // item t not pushed yet, or being written
		}
		// Item t was overwritten: the slot holds item u = (s>>2)-1 ≥ t+cap
		// (written or being written), so items up to u-cap are gone and
		// the oldest that may be present is u-cap+1, or head-cap if the
		// producer is further ahead.
		nt := (s >> 2) - r.cap
		if h := r.head.Load(); h > r.cap && h-r.cap > nt {
			nt = h - r.cap
		}
		t = nt + margin
		margin = r.cap / ringResyncMargin
	}
	return t, t - start, false
}

// Len is the number of unread items, at most the capacity. It is exact
// when neither side is active and a snapshot otherwise.
func (r *Ring[T]) Len() int {
	t := r.tail.Load()
	h := r.head.Load()
	if h < t {
		return 0
	}
	if h-t > r.cap {
		return int(r.cap)
	}
	return int(h - t)
}

// Stats returns the ring's counters. Either process may call it; the
// counters are exact when neither side is active.
func (r *Ring[T]) Stats() RingStats {
	t, skipped := r.tail.Load(), r.skipped.Load()
	h, refused := r.head.Load(), r.refused.Load()
	st := RingStats{Pushed: h + refused, Popped: t - skipped, Dropped: refused + skipped}
	if h > t+r.cap {
		st.Dropped += h - r.cap - t // overwritten, not yet skipped by the consumer
	}
	return st
}
