//go:build !race

package shm

import (
	"sync/atomic"
	"testing"
)

// TestImageReadKeepsDst: with one slot (a plain seqlock) and a writer
// that never pauses, many reads fail; every failed Read leaves *dst
// exactly as it was, and every successful one holds a complete write.
func TestImageReadKeepsDst(t *testing.T) {
	im, err := newImage[img256](PrivateRegion(ImageSize[img256]()), 1)
	if err != nil {
		t.Fatal(err)
	}
	var first img256
	makeImg(1, &first)
	im.Write(&first)
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		var v img256
		for seq := uint64(2); !stop.Load(); seq++ {
			makeImg(seq, &v)
			im.Write(&v)
		}
	}()
	var sentinel, dst img256
	makeImg(1<<40, &sentinel)
	var ok, failed int
	for i := 0; i < 200_000 && (failed < 100 || ok < 100); i++ {
		dst = sentinel
		if im.Read(&dst) {
			ok++
			if _, whole := checkImg(&dst); !whole {
				t.Fatalf("read %d returned a torn value: %v", i, dst)
			}
		} else {
			failed++
			if dst != sentinel {
				t.Fatalf("read %d failed and changed *dst: %v", i, dst)
			}
		}
	}
	stop.Store(true)
	<-done
	t.Logf("%d reads succeeded, %d failed with *dst unchanged", ok, failed)
	if failed == 0 {
		t.Skip("the writer never lapped the reader on this machine: the failure path was not exercised")
	}
}
