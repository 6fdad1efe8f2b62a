//go:build !race

package shm

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// These tests are not built under -race. The seqlock reads in Image.Read
// and in Ring.Pop under OverwriteOldest deliberately copy memory that the
// writer may be overwriting at the same moment, then throw the copy away
// when the sequence word shows it happened: a data race by design, which
// the race detector rightly reports. The multi-process tests check the
// same properties across processes, where the detector cannot look.

const raceEnabled = false

func TestRingConcurrentOverwriteOldest(t *testing.T) {
	n := uint64(300_000)
	if testing.Short() {
		n = 50_000
	}
	checkRingPair(t, OverwriteOldest, n, runRingPair(t, OverwriteOldest, n))
}

// TestImageConcurrent: one writer goroutine writing as fast as it can,
// three readers, no torn value, with ImageSlots and with one slot. The writer runs until every reader has
// seen 10,000 versions (or a generous time limit, after which
// checkImageReader reports how few it saw).
func TestImageConcurrent(t *testing.T) {
	for _, slots := range []int{ImageSlots, 1} {
		t.Run(fmt.Sprintf("slots=%d", slots), func(t *testing.T) { testImageConcurrent(t, slots) })
	}
}

func testImageConcurrent(t *testing.T, slots int) {
	im, err := newImage[img256](PrivateRegion(ImageSize[img256]()), slots)
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	results := make([]imageReaderResult, 3)
	progress := make([]atomic.Uint64, len(results))
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = readImage(im, &stop, &progress[i])
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	writes := writeImage(im, func(w uint64) bool {
		if w%1024 != 0 {
			return true
		}
		for i := range progress {
			if progress[i].Load() < 10_000 {
				return time.Now().Before(deadline)
			}
		}
		return false
	})
	stop.Store(true)
	wg.Wait()
	for i, r := range results {
		checkImageReader(t, i, r, writes)
	}
	if im.Version() != writes {
		t.Errorf("Version %d after %d writes", im.Version(), writes)
	}
}
