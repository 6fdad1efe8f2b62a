package vdso

import (
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSleepMonotonic: the reading SleepMonotonic returns must be taken
// after the target (the sleep is not cut short) and before the caller's
// next clock read, on whichever path this platform has.
func TestSleepMonotonic(t *testing.T) {
	for i := range 50 {
		target := Nanotime() + int64(50+i*10)*1000
		got := SleepMonotonic(target)
		after := Nanotime()
		if got < target || got > after {
			t.Fatalf("sleep %d: reading %d outside [target %d, next read %d]", i, got, target, after)
		}
	}
	// A target in the past returns at once with the current time.
	before := Nanotime()
	got := SleepMonotonic(before - int64(time.Millisecond))
	if after := Nanotime(); got < before || got > after {
		t.Fatalf("past target: reading %d outside [%d, %d]", got, before, after)
	}
	t.Logf("fast path %v", Fast())
}

// TestSleepSyscall covers the fallback sleep that platforms without the
// assembly use.
func TestSleepSyscall(t *testing.T) {
	target := Nanotime() + int64(200*time.Microsecond)
	ts := unix.NsecToTimespec(target)
	sleepSyscall(&ts)
	if now := Nanotime(); now < target {
		t.Fatalf("woke at %d, before the target %d", now, target)
	}
}

// TestSleepMonotonicSignals interrupts the sleep with signals (SIGUSR1
// sent with tgkill to the sleeping thread, which Go's handler takes, so
// clock_nanosleep returns EINTR): every sleep must still last until its
// target, and MonotonicRaw calls on other goroutines, which compete for
// the private stacks that SleepMonotonic holds while it sleeps, must keep
// working.
func TestSleepMonotonicSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("0.5 s or more of signals; skipped in -short")
	}
	usr1 := make(chan os.Signal, 4096)
	signal.Notify(usr1, unix.SIGUSR1)
	defer signal.Stop(usr1)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))

	var stop atomic.Bool
	var wg sync.WaitGroup
	var backwards atomic.Int64
	for range 2 {
		wg.Go(func() {
			prev := MonotonicRaw()
			for !stop.Load() {
				v := MonotonicRaw()
				if v < prev {
					backwards.Add(1)
				}
				prev = v
			}
		})
	}
	tid := make(chan int)
	var early, sleeps atomic.Int64
	var sleeperStop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid <- unix.Gettid()
		for !sleeperStop.Load() {
			target := Nanotime() + int64(2*time.Millisecond)
			if got := SleepMonotonic(target); got < target {
				early.Add(1)
			}
			sleeps.Add(1)
		}
	}()
	id := <-tid
	const want = 300
	sent := 0
	pid := os.Getpid()
	// At least 0.5 s and 300 signals; a loaded machine may need longer.
	start := time.Now()
	for (sent < want || time.Since(start) < 500*time.Millisecond) && time.Since(start) < 30*time.Second {
		if unix.Tgkill(pid, id, unix.SIGUSR1) == nil {
			sent++
		}
		time.Sleep(300 * time.Microsecond)
	}
	sleeperStop.Store(true)
	<-done
	stop.Store(true)
	wg.Wait()
	if early.Load() != 0 {
		t.Fatalf("%d of %d sleeps returned before their target under %d signals", early.Load(), sleeps.Load(), sent)
	}
	if backwards.Load() != 0 {
		t.Fatalf("MonotonicRaw stepped back %d times", backwards.Load())
	}
	if sent < want {
		t.Fatalf("only %d signals sent in 30 s; the test proves nothing", sent)
	}
	t.Logf("%d sleeps, %d SIGUSR1, fast path %v", sleeps.Load(), sent, Fast())
}
