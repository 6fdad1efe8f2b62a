package shm

import "testing"

// The header is a parser of bytes another process wrote: whatever is in
// the region, opening it must either fail or give an object whose
// operations stay inside the region (a bad header must not turn into an
// out-of-bounds access), and Pop must not return more than it was asked.

func regionOf(data []byte) *Region {
	r := PrivateRegion(len(data))
	copy(r.Bytes(), data)
	return r
}

func FuzzOpenRing(f *testing.F) {
	for _, p := range []Policy{DropNewest, OverwriteOldest} {
		reg := PrivateRegion(RingSize[item](4))
		r, err := NewRing[item](reg, 4, p)
		if err != nil {
			f.Fatal(err)
		}
		for seq := range uint64(6) {
			push(f, r, seq)
		}
		f.Add(append([]byte(nil), reg.Bytes()...))
	}
	f.Add(make([]byte, 300))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := OpenRing[item](regionOf(data))
		if err != nil {
			return
		}
		var v item
		dst := make([]item, 3)
		for i := range 10 {
			r.Push(&v)
			r.Pop(&v)
			if n := r.PopBatch(dst[:i%4]); n > i%4 {
				t.Fatalf("PopBatch returned %d for %d", n, i%4)
			}
		}
		if l := r.Len(); l < 0 || l > r.Capacity() {
			t.Fatalf("Len %d with capacity %d", l, r.Capacity())
		}
		_ = r.Stats()
	})
}

func FuzzOpenImage(f *testing.F) {
	for _, slots := range []int{1, ImageSlots} {
		reg := PrivateRegion(ImageSize[img256]())
		im, err := newImage[img256](reg, slots)
		if err != nil {
			f.Fatal(err)
		}
		var v img256
		for seq := range uint64(5) {
			makeImg(seq, &v)
			im.Write(&v)
		}
		f.Add(append([]byte(nil), reg.Bytes()...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := OpenImage[img256](regionOf(data))
		if err != nil {
			return
		}
		var v img256
		for range 3 {
			im.Read(&v)
			im.Write(&v)
		}
		_ = im.Version()
	})
}
