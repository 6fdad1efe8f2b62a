package stats

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"
)

// TestTaskInSharedMapping maps one file twice, as the RT process and the
// reporter would, writes through one mapping and reads through the other.
func TestTaskInSharedMapping(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stats"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size := SizeofTask + 8*HistogramWords(50)
	if err := f.Truncate(int64(size)); err != nil {
		t.Fatal(err)
	}
	mmap := func() []byte {
		b, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Munmap(b) })
		return b
	}
	wb, rb := mmap(), mmap()
	w := (*Task)(unsafe.Pointer(&wb[0]))
	if err := w.Init(DefaultWindowNs, 0); err != nil {
		t.Fatal(err)
	}
	hw, err := NewHistogram(unsafe.Slice((*uint64)(unsafe.Pointer(&wb[SizeofTask])), HistogramWords(50)))
	if err != nil {
		t.Fatal(err)
	}
	rec := NewRecorder(w, hw)
	for i := range int64(1000) {
		rec.Record(Sample{Cycle: uint64(i), AtNs: i * 1_000_000, LatencyNs: 10_000 + i%7*1000, JitterNs: i%3 - 1, ExecNs: 2000})
	}

	r := *(*Task)(unsafe.Pointer(&rb[0])) // the reader's snapshot
	if err := r.Check(); err != nil {
		t.Fatal(err)
	}
	hr, _ := NewHistogram(unsafe.Slice((*uint64)(unsafe.Pointer(&rb[SizeofTask])), HistogramWords(50)))
	if got, want := r.Latency.Summary(), w.Latency.Summary(); got != want || got.Count != 1000 || got.Max != 16_000 {
		t.Errorf("reader sees %+v, writer has %+v", got, want)
	}
	if hr.Bin(10) != hw.Bin(10) || hr.Bin(10) == 0 || hr.Total() != 1000 {
		t.Errorf("reader histogram bin10=%d total=%d, writer bin10=%d", hr.Bin(10), hr.Total(), hw.Bin(10))
	}
	if r.Jitter.Negative != w.Jitter.Negative || r.Jitter.Negative == 0 {
		t.Errorf("reader jitter negatives %d, writer %d", r.Jitter.Negative, w.Jitter.Negative)
	}
}
