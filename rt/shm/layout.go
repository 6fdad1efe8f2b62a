package shm

import (
	"fmt"
	"hash/fnv"
	"reflect"
	"strconv"
	"sync/atomic"
	"unsafe"
)

// LayoutVersion identifies the byte layout of the objects' headers and
// slots. A process refuses a region written with another version.
const LayoutVersion = 1

// CacheLine is the alignment, in bytes, of the parts of an object that
// different processes write (counters, image slots), so that they do not
// share a cache line with the other side's writes.
const CacheLine = 64

// magic is "rtc-shm\0" little-endian.
const magic = 0x006d_6873_2d63_7472

// Object kinds (header.Kind).
const (
	kindImage = 1
	kindRing  = 2
)

var kindNames = map[uint64]string{kindImage: "an image", kindRing: "a ring"}

// header is the first 128 bytes of every object: what it is and which
// element type it holds, so that a mapping opened with the wrong type is
// refused instead of misread.
type header struct {
	Magic    uint64
	Version  uint64
	Kind     uint64
	ElemSize uint64
	TypeHash uint64 // fingerprint of the element type's layout (typeHash)
	Count    uint64 // ring capacity; image slots
	Policy   uint64 // ring policy
	Bytes    uint64 // bytes the object occupies from the region's start
	TypeName [64]byte
}

const headerSize = 128

// Check at compile time that header is headerSize bytes.
var _ [headerSize - unsafe.Sizeof(header{})]byte
var _ [unsafe.Sizeof(header{}) - headerSize]byte

// elemInfo describes an element type, computed once at construction.
type elemInfo struct {
	size uint64
	hash uint64
	name string
}

// checkType returns t's size and fingerprint, or a *TypeError when t
// cannot be placed in shared memory.
func checkType(t reflect.Type) (elemInfo, error) {
	if err := checkKind(t, t, ""); err != nil {
		return elemInfo{}, err
	}
	if t.Size() == 0 {
		return elemInfo{}, &TypeError{Type: t.String(), Kind: "zero-size " + t.Kind().String(),
			Remedy: "an element needs at least one field to carry data"}
	}
	h := fnv.New64a()
	describe(h, t)
	return elemInfo{size: uint64(t.Size()), hash: h.Sum64(), name: t.String()}, nil
}

func checkKind(root, t reflect.Type, path string) error {
	bad := func(remedy string) error {
		return &TypeError{Type: root.String(), Field: path, Kind: t.Kind().String(), Remedy: remedy}
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return nil
	case reflect.Array:
		return checkKind(root, t.Elem(), path+"[i]")
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			p := f.Name
			if path != "" {
				p = path + "." + f.Name
			}
			if err := checkKind(root, f.Type, p); err != nil {
				return err
			}
		}
		return nil
	case reflect.String:
		return bad("a string points to memory the other process cannot see: use a fixed [N]byte array")
	case reflect.Slice:
		return bad("a slice points to memory the other process cannot see: use a fixed [N]T array and a length field")
	case reflect.Uintptr:
		return bad("an address means nothing in another process: use uint64 for numbers")
	default: // Pointer, UnsafePointer, Map, Interface, Chan, Func
		return bad("it points to memory the other process cannot see: store an index or an ID instead")
	}
}

// describe writes a canonical description of t's layout (kinds, sizes,
// field names and offsets) to w, for the fingerprint.
func describe(w interface{ Write([]byte) (int, error) }, t reflect.Type) {
	w.Write([]byte(t.Kind().String() + ":" + strconv.FormatUint(uint64(t.Size()), 10)))
	switch t.Kind() {
	case reflect.Array:
		w.Write([]byte("[" + strconv.Itoa(t.Len()) + "]"))
		describe(w, t.Elem())
	case reflect.Struct:
		w.Write([]byte("{"))
		for i := range t.NumField() {
			f := t.Field(i)
			w.Write([]byte(f.Name + "@" + strconv.FormatUint(uint64(f.Offset), 10) + " "))
			describe(w, f.Type)
			w.Write([]byte(";"))
		}
		w.Write([]byte("}"))
	}
}

// initHeader clears the object's bytes and writes its header; the magic
// goes last, with an atomic store, so a reader never sees a valid magic
// over a half-written header.
func initHeader(mem []byte, kind uint64, e elemInfo, count uint64, policy uint64, size int) {
	clear(mem[:size])
	h := (*header)(unsafe.Pointer(&mem[0]))
	h.Version, h.Kind, h.ElemSize, h.TypeHash = LayoutVersion, kind, e.size, e.hash
	h.Count, h.Policy, h.Bytes = count, policy, uint64(size)
	copy(h.TypeName[:len(h.TypeName)-1], e.name)
	(*atomic.Uint64)(unsafe.Pointer(&h.Magic)).Store(magic)
}

// checkHeader verifies that mem holds an object of kind with element e,
// and returns its header. what names the object for error messages.
func checkHeader(mem []byte, kind uint64, e elemInfo, what string) (*header, error) {
	if len(mem) < headerSize {
		return nil, fmt.Errorf("opening %s: region of %d bytes is smaller than the %d-byte header: %w", what, len(mem), headerSize, ErrMismatch)
	}
	h := (*header)(unsafe.Pointer(&mem[0]))
	if m := (*atomic.Uint64)(unsafe.Pointer(&h.Magic)).Load(); m != magic {
		return nil, fmt.Errorf("opening %s: bad magic %#x, the region holds no rtcell shared object (was it created with NewImage/NewRing?): %w", what, m, ErrMismatch)
	}
	if h.Version != LayoutVersion {
		return nil, fmt.Errorf("opening %s: layout version %d, this build reads version %d; run the same build in both processes: %w", what, h.Version, LayoutVersion, ErrMismatch)
	}
	if h.Kind != kind {
		k, ok := kindNames[h.Kind]
		if !ok {
			k = "object kind " + strconv.FormatUint(h.Kind, 10)
		}
		return nil, fmt.Errorf("opening %s: the region holds %s: %w", what, k, ErrMismatch)
	}
	if h.ElemSize != e.size || h.TypeHash != e.hash {
		return nil, fmt.Errorf("opening %s: the region holds elements of type %s (%d bytes, layout %#x), not %s (%d bytes, layout %#x); open it with the type it was created with: %w",
			what, cString(h.TypeName[:]), h.ElemSize, h.TypeHash, e.name, e.size, e.hash, ErrMismatch)
	}
	if h.Bytes > uint64(len(mem)) {
		return nil, fmt.Errorf("opening %s: the object needs %d bytes, the region has %d: %w", what, h.Bytes, len(mem), ErrMismatch)
	}
	return h, nil
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// word returns the 64-bit atomic at byte offset off of base. off must be a
// multiple of 8 and base 8-byte aligned (64-bit atomics on 32-bit ARM
// fault otherwise).
func word(base unsafe.Pointer, off uintptr) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Add(base, off))
}

func roundUp(n, to uint64) uint64 { return (n + to - 1) / to * to }
