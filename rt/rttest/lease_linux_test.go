package rttest

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestLeaseCPU: parallel tests of one binary that lease the same CPU run
// one after the other, each holds the CPU's lock file while it runs, and
// the lock is free once they end.
func TestLeaseCPU(t *testing.T) {
	dir := t.TempDir()
	// Not t.Setenv: the subtests below are parallel.
	old, had := os.LookupEnv("RTCELL_LOCK_DIR")
	os.Setenv("RTCELL_LOCK_DIR", dir)
	defer func() {
		if had {
			os.Setenv("RTCELL_LOCK_DIR", old)
		} else {
			os.Unsetenv("RTCELL_LOCK_DIR")
		}
	}()
	lockFile := filepath.Join(dir, "rtcell-cpu5.lock")
	// free reports whether a fresh descriptor can lock the file, i.e. no
	// lease holds it (flock locks of two descriptors conflict even in one
	// process).
	free := func() bool {
		f, err := os.Open(lockFile)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
			return false
		}
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		return true
	}
	var inside, most, runs atomic.Int32
	t.Run("group", func(t *testing.T) {
		for range 4 {
			t.Run("holder", func(t *testing.T) {
				t.Parallel()
				LeaseCPU(t, 5)
				n := inside.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				if free() {
					t.Error("the CPU's lock file is not locked during the test")
				}
				time.Sleep(20 * time.Millisecond)
				inside.Add(-1)
				runs.Add(1)
			})
		}
	})
	if runs.Load() != 4 || most.Load() != 1 {
		t.Errorf("%d tests ran, at most %d at once on the CPU; want 4 and 1", runs.Load(), most.Load())
	}
	if !free() {
		t.Error("the lease outlived the tests")
	}
}

// TestLeaseCPUNested: a test that holds a CPU may lease it again, and so
// may its subtests, without waiting for itself.
func TestLeaseCPUNested(t *testing.T) {
	t.Setenv("RTCELL_LOCK_DIR", t.TempDir())
	done := make(chan struct{})
	go func() {
		defer close(done)
		LeaseCPU(t, 6)
		LeaseCPU(t, 6)
		t.Run("sub", func(t *testing.T) { LeaseCPU(t, 6) })
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("nested leases of one CPU did not return in a minute")
	}
}
