package shm

import (
	"errors"
	"testing"
)

func newTestImage(t testing.TB) *Image[img256] {
	t.Helper()
	im, err := NewImage[img256](PrivateRegion(ImageSize[img256]()))
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func TestNewImageErrors(t *testing.T) {
	if _, err := NewImage[img256](PrivateRegion(ImageSize[img256]() - 8)); !errors.Is(err, ErrInvalid) {
		t.Errorf("small region: err = %v, want ErrInvalid", err)
	}
	if _, err := NewImage[badString](PrivateRegion(4096)); !errors.Is(err, ErrType) {
		t.Errorf("bad type: err = %v, want ErrType", err)
	}
	if _, err := OpenImage[badMap](PrivateRegion(4096)); !errors.Is(err, ErrType) {
		t.Errorf("bad type on open: err = %v, want ErrType", err)
	}
}

func TestImageZeroBeforeFirstWrite(t *testing.T) {
	im := newTestImage(t)
	var v img256
	makeImg(7, &v)
	n, ok := im.ReadVersion(&v)
	if !ok || n != 0 || v != (img256{}) || im.Version() != 0 {
		t.Fatalf("before any write: version %d ok %v value %v; want the zero value at version 0", n, ok, v.W[:2])
	}
}

func TestImageWriteRead(t *testing.T) {
	im := newTestImage(t)
	var in, out img256
	// More writes than slots, so every slot is reused several times.
	for seq := uint64(1); seq <= 3*ImageSlots+1; seq++ {
		makeImg(seq, &in)
		im.Write(&in)
		if im.Version() != seq {
			t.Fatalf("Version after %d writes = %d", seq, im.Version())
		}
		n, ok := im.ReadVersion(&out)
		got, whole := checkImg(&out)
		if !ok || n != seq || got != seq || !whole {
			t.Fatalf("after write %d: read version %d ok %v, value seq %d whole %v", seq, n, ok, got, whole)
		}
	}
}

// TestImageOpenSharesState checks that a second handle on the same memory
// (what the other process does) sees the writes and continues the count.
func TestImageOpenSharesState(t *testing.T) {
	reg := PrivateRegion(ImageSize[img256]())
	w, err := NewImage[img256](reg)
	if err != nil {
		t.Fatal(err)
	}
	var v img256
	makeImg(1, &v)
	w.Write(&v)
	r, err := OpenImage[img256](reg)
	if err != nil {
		t.Fatal(err)
	}
	makeImg(2, &v)
	r.Write(&v) // a restarted writer continues from the shared count
	var out img256
	if n, ok := w.ReadVersion(&out); !ok || n != 2 || out.W[0]>>8 != 2 {
		t.Fatalf("read %d ok %v seq %d, want version 2", n, ok, out.W[0]>>8)
	}
}

// TestImageStalledWriter: a writer stopped half-way through a write (a
// preempted or dead process) must not keep readers from the last complete
// value.
func TestImageStalledWriter(t *testing.T) {
	im := newTestImage(t)
	var v, out img256
	for seq := uint64(1); seq <= 5; seq++ {
		makeImg(seq, &v)
		im.Write(&v)
	}
	// The first half of write 6: mark its slot odd and scribble over it.
	s := &im.slots[6&(ImageSlots-1)]
	s.seq.Swap(2*6 - 1)
	makeImg(999, s.data)
	s.data.W[3] = 0
	n, ok := im.ReadVersion(&out)
	if seq, whole := checkImg(&out); !ok || n != 5 || seq != 5 || !whole {
		t.Fatalf("with write 6 stalled: read version %d ok %v seq %d whole %v; want version 5 intact", n, ok, seq, whole)
	}
}

// TestImageReadGivesUpWhenLapped: if the slot of the published version is
// being rewritten (the writer lapped the reader), Read must refuse rather
// than return what it copied, and must stop after ImageReadAttempts.
func TestImageReadGivesUpWhenLapped(t *testing.T) {
	im := newTestImage(t)
	var v, out img256
	for seq := uint64(1); seq <= 2; seq++ {
		makeImg(seq, &v)
		im.Write(&v)
	}
	s := &im.slots[2&(ImageSlots-1)]
	s.seq.Store(2*(2+ImageSlots) - 1) // write 6 in progress in version 2's slot
	if _, ok := im.ReadVersion(&out); ok {
		t.Fatal("read succeeded from a slot being rewritten")
	}
	s.seq.Store(2 * 2)
	if n, ok := im.ReadVersion(&out); !ok || n != 2 {
		t.Fatalf("after the slot is restored: version %d ok %v", n, ok)
	}
}

func TestImageNoAllocs(t *testing.T) {
	im := newTestImage(t)
	var v, out img256
	makeImg(1, &v)
	if a := testing.AllocsPerRun(1000, func() {
		im.Write(&v)
		im.Read(&out)
	}); a != 0 {
		t.Fatalf("Write+Read allocate %.1f times per call", a)
	}
}
