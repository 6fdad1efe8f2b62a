package shm

import (
	"errors"
	"testing"
)

// TestImageReadScratch: Read is allocation-free while a scratch copy is
// free, and still reads correctly, from a heap scratch copy, when every
// one is in use by other readers.
func TestImageReadScratch(t *testing.T) {
	im, err := NewImage[img256](PrivateRegion(ImageSize[img256]()))
	if err != nil {
		t.Fatal(err)
	}
	var in, out img256
	makeImg(7, &in)
	im.Write(&in)
	if a := testing.AllocsPerRun(100, func() { im.Read(&out) }); a != 0 || out != in {
		t.Errorf("Read: %.0f allocations, value ok %v; want 0, true", a, out == in)
	}
	for i := range im.temps {
		im.temps[i].busy.Store(1) // held by other readers
	}
	out = img256{}
	if n, ok := im.ReadVersion(&out); !ok || n != 1 || out != in {
		t.Errorf("ReadVersion with every scratch copy busy: version %d, ok %v, value ok %v", n, ok, out == in)
	}
	for i := range im.temps {
		if im.temps[i].busy.Load() != 1 {
			t.Errorf("scratch copy %d released by a reader that did not hold it", i)
		}
		im.temps[i].busy.Store(0)
	}
	if n, ok := im.ReadVersion(&out); !ok || n != 1 {
		t.Errorf("ReadVersion after release: %d, %v", n, ok)
	}
	for i := range im.temps {
		if im.temps[i].busy.Load() != 0 {
			t.Errorf("scratch copy %d still claimed after Read returned", i)
		}
	}
}

func TestCheckTypeExported(t *testing.T) {
	type tag struct {
		ID   uint32
		Name string
	}
	type bad struct {
		Speed float64
		Tags  [2]tag
	}
	err := CheckType[bad]()
	var te *TypeError
	if !errors.As(err, &te) || !errors.Is(err, ErrType) || te.Field != "Tags[i].Name" || te.Kind != "string" {
		t.Errorf("CheckType[bad]() = %v, want a *TypeError for field Tags[i].Name, a string", err)
	}
	if err := CheckType[img256](); err != nil {
		t.Errorf("CheckType[img256]() = %v", err)
	}
}
