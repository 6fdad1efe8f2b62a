package shm

import (
	"sync/atomic"
	"testing"
)

type imageReaderResult struct {
	Reads, Failed, Torn, Backwards, Distinct uint64
	Final                                    uint64 // version read after the writer stopped
	FinalWhole                               bool
}

// writeImage writes values numbered by the version they become, as fast
// as it can, while more(writes so far) holds. It returns the count.
func writeImage(im *Image[img256], more func(uint64) bool) uint64 {
	var v img256
	var w uint64
	for more(w) {
		makeImg(im.Version()+1, &v)
		im.Write(&v)
		w++
	}
	return w
}

// readImage reads im until stop is set, counting torn values (words that
// disagree, or a value that is not the version Read says it is). It
// publishes the count of distinct versions seen so far in progress.
func readImage(im *Image[img256], stop *atomic.Bool, progress *atomic.Uint64) imageReaderResult {
	var r imageReaderResult
	var v img256
	var last uint64
	for !stop.Load() {
		r.Reads++
		n, ok := im.ReadVersion(&v)
		if !ok {
			r.Failed++
			continue
		}
		if n == 0 {
			// Before the first write: the zero value.
			if v != (img256{}) {
				r.Torn++
			}
		} else if seq, whole := checkImg(&v); !whole || seq != n {
			r.Torn++
		}
		switch {
		case n < last:
			r.Backwards++
		case n > last:
			r.Distinct++
			progress.Store(r.Distinct)
		}
		last = n
	}
	n, ok := im.ReadVersion(&v)
	seq, whole := checkImg(&v)
	r.Final, r.FinalWhole = n, ok && whole && seq == n
	return r
}

func checkImageReader(t *testing.T, i int, r imageReaderResult, writes uint64) {
	t.Helper()
	t.Logf("reader %d: %d reads, %d gave up (lapped), %d distinct versions", i, r.Reads, r.Failed, r.Distinct)
	if r.Torn != 0 || r.Backwards != 0 {
		t.Errorf("reader %d: %d torn values, version went backwards %d times", i, r.Torn, r.Backwards)
	}
	if r.Final != writes || !r.FinalWhole {
		t.Errorf("reader %d: final read version %d (whole %v), want %d", i, r.Final, r.FinalWhole, writes)
	}
	// Without this the test could pass by never overlapping the writer.
	// A new version seen, or a read lapped by the writer (the usual case
	// with one slot, more so when a busy box slows the reader), each
	// proves an overlap.
	if r.Distinct+r.Failed < 100 {
		t.Errorf("reader %d saw only %d distinct versions and was lapped %d times while the writer ran", i, r.Distinct, r.Failed)
	}
}
