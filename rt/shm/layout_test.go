package shm

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

type okStruct struct {
	A uint64
	B [4]int32
	C struct {
		F float64
		G [2]bool
	}
	D complex64
	E [3][2]uint16
}

type badString struct {
	A uint64
	B struct{ Name string }
}

type badArraySlice struct {
	Tags [4]struct {
		ID   uint32
		Vals []float64
	}
}

type (
	badPtr     struct{ P *int }
	badMap     struct{ M map[int]int }
	badIface   struct{ I any }
	badChan    struct{ C chan int }
	badFunc    struct{ F func() }
	badUintptr struct{ U uintptr }
	badUnsafe  struct{ U unsafe.Pointer }
	empty      struct{}
)

func TestCheckType(t *testing.T) {
	tests := []struct {
		name      string
		typ       reflect.Type
		field     string // offending field; "-" for accepted types
		kind      string
		wantInMsg string
	}{
		{"struct of numbers and arrays", reflect.TypeFor[okStruct](), "-", "", ""},
		{"plain uint64", reflect.TypeFor[uint64](), "-", "", ""},
		{"array of float", reflect.TypeFor[[64]float64](), "-", "", ""},
		{"nested string", reflect.TypeFor[badString](), "B.Name", "string", "[N]byte"},
		{"slice inside array of structs", reflect.TypeFor[badArraySlice](), "Tags[i].Vals", "slice", "array"},
		{"pointer", reflect.TypeFor[badPtr](), "P", "ptr", "index or an ID"},
		{"map", reflect.TypeFor[badMap](), "M", "map", "index or an ID"},
		{"interface", reflect.TypeFor[badIface](), "I", "interface", "index or an ID"},
		{"chan", reflect.TypeFor[badChan](), "C", "chan", "index or an ID"},
		{"func", reflect.TypeFor[badFunc](), "F", "func", "index or an ID"},
		{"uintptr", reflect.TypeFor[badUintptr](), "U", "uintptr", "uint64"},
		{"unsafe.Pointer", reflect.TypeFor[badUnsafe](), "U", "unsafe.Pointer", "index or an ID"},
		{"top-level string", reflect.TypeFor[string](), "", "string", "the type itself"},
		{"empty struct", reflect.TypeFor[empty](), "", "zero-size struct", "at least one field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := checkType(tc.typ)
			if tc.field == "-" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if e.size != uint64(tc.typ.Size()) || e.hash == 0 {
					t.Fatalf("info %+v, want size %d and a fingerprint", e, tc.typ.Size())
				}
				return
			}
			var te *TypeError
			if !errors.As(err, &te) || !errors.Is(err, ErrType) {
				t.Fatalf("err = %v, want a *TypeError matching ErrType", err)
			}
			if te.Field != tc.field || te.Kind != tc.kind {
				t.Errorf("field %q kind %q, want %q %q", te.Field, te.Kind, tc.field, tc.kind)
			}
			if !strings.Contains(err.Error(), tc.wantInMsg) || !strings.Contains(err.Error(), tc.typ.String()) {
				t.Errorf("message %q should name the type and contain %q", err, tc.wantInMsg)
			}
		})
	}
}

func TestFingerprintDistinguishesLayouts(t *testing.T) {
	type a struct{ X, Y uint64 }
	type b struct{ X, Z uint64 } // same layout, other field name
	type c struct {
		X uint64
		Y int64 // same names, other kind
	}
	type d struct{ X, Y uint64 } // same as a
	h := func(typ reflect.Type) uint64 {
		e, err := checkType(typ)
		if err != nil {
			t.Fatal(err)
		}
		return e.hash
	}
	ha := h(reflect.TypeFor[a]())
	if ha != h(reflect.TypeFor[d]()) {
		t.Error("identical layouts have different fingerprints")
	}
	for name, typ := range map[string]reflect.Type{"renamed field": reflect.TypeFor[b](), "other kind": reflect.TypeFor[c](), "array": reflect.TypeFor[[2]uint64]()} {
		if h(typ) == ha {
			t.Errorf("%s: same fingerprint as the original", name)
		}
	}
}

func TestSizes(t *testing.T) {
	if got := unsafe.Sizeof(img256{}); got != 256 {
		t.Fatalf("img256 is %d bytes", got)
	}
	// 128 header + 64 version line + 4 slots of (8+256 → 320).
	if got, want := ImageSize[img256](), 128+64+4*320; got != want {
		t.Errorf("ImageSize[img256] = %d, want %d", got, want)
	}
	if got, want := ImageSize[uint64](), 128+64+4*64; got != want {
		t.Errorf("ImageSize[uint64] = %d, want %d", got, want)
	}
	if got := ImageSize[badString](); got != 0 {
		t.Errorf("ImageSize of a bad type = %d, want 0", got)
	}
	// 128 header + 2 counter lines + capacity × (8+64).
	if got, want := RingSize[item](1024), 256+1024*72; got != want {
		t.Errorf("RingSize[item](1024) = %d, want %d", got, want)
	}
	if got, want := RingSize[uint32](8), 256+8*16; got != want {
		t.Errorf("RingSize[uint32](8) = %d, want %d", got, want)
	}
	for _, c := range []int{0, -4, 3, 1000, MaxRingCapacity + 1, 3 << 29} {
		if got := RingSize[item](c); got != 0 {
			t.Errorf("RingSize(%d) = %d, want 0", c, got)
		}
	}
}

func TestPrivateRegion(t *testing.T) {
	for _, size := range []int{-1, 0, 1, 7, 8, 4097} {
		r := PrivateRegion(size)
		want := (max(size, 0) + 7) / 8 * 8
		if len(r.Bytes()) != want {
			t.Errorf("PrivateRegion(%d): %d bytes, want %d", size, len(r.Bytes()), want)
		}
		if want > 0 && uintptr(unsafe.Pointer(&r.Bytes()[0]))%8 != 0 {
			t.Errorf("PrivateRegion(%d) is not 8-byte aligned", size)
		}
		if err := r.Close(); err != nil || r.Bytes() != nil {
			t.Errorf("Close: %v, bytes %v", err, r.Bytes())
		}
	}
}

func TestOpenRefusesOtherObjects(t *testing.T) {
	ringReg := PrivateRegion(RingSize[item](16))
	if _, err := NewRing[item](ringReg, 16, DropNewest); err != nil {
		t.Fatal(err)
	}
	imgReg := PrivateRegion(ImageSize[img256]())
	if _, err := NewImage[img256](imgReg); err != nil {
		t.Fatal(err)
	}
	type other struct{ A [8]uint64 } // same size as item, other layout
	tests := []struct {
		name string
		open func() error
		want string
	}{
		{"zeroed region", func() error { _, err := OpenRing[item](PrivateRegion(4096)); return err }, "bad magic"},
		{"too small for a header", func() error { _, err := OpenImage[img256](PrivateRegion(64)); return err }, "smaller than the 128-byte header"},
		{"image opened as ring", func() error { _, err := OpenRing[img256](imgReg); return err }, "the region holds an image"},
		{"ring opened as image", func() error { _, err := OpenImage[item](ringReg); return err }, "the region holds a ring"},
		{"ring of another type", func() error { _, err := OpenRing[other](ringReg); return err }, "holds elements of type shm.item (64 bytes"},
		{"image of another size", func() error { _, err := OpenImage[[8]uint64](imgReg); return err }, "holds elements of type shm.img256 (256 bytes"},
		{"truncated region", func() error {
			r := &Region{mem: ringReg.Bytes()[:RingSize[item](16)-8]}
			_, err := OpenRing[item](r)
			return err
		}, "needs 1408 bytes, the region has 1400"},
		{"other layout version", func() error {
			r := PrivateRegion(len(ringReg.Bytes()))
			copy(r.Bytes(), ringReg.Bytes())
			(*header)(unsafe.Pointer(&r.Bytes()[0])).Version = 99
			_, err := OpenRing[item](r)
			return err
		}, "layout version 99"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.open()
			if !errors.Is(err, ErrMismatch) {
				t.Fatalf("err = %v, want ErrMismatch", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}
