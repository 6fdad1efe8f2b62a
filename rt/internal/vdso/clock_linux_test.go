package vdso

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/rtcell/rtcell/rt/rttest"
	"golang.org/x/sys/unix"
)

func liveImageForTest() ([]byte, error) {
	base, err := vdsoBase()
	if err != nil {
		return nil, err
	}
	return readImage(base)
}

func sysRaw(t testing.TB) int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC_RAW, &ts); err != nil {
		t.Fatalf("clock_gettime(CLOCK_MONOTONIC_RAW): %v", err)
	}
	return ts.Nano()
}

// TestFastOnThisMachine: on linux/amd64 with a vDSO mapped, the fast path
// must be on; elsewhere it must be off with the right reason.
func TestFastOnThisMachine(t *testing.T) {
	_, baseErr := vdsoBase()
	switch {
	case runtime.GOARCH == "amd64" && baseErr == nil:
		if !Fast() {
			t.Fatalf("Fast() = false on linux/amd64 with a vDSO: %v", FallbackReason())
		}
		if err := FallbackReason(); err != nil {
			t.Fatalf("FallbackReason() = %v with Fast() true", err)
		}
	case runtime.GOARCH == "amd64":
		if Fast() || !errors.Is(FallbackReason(), ErrNoVDSO) {
			t.Fatalf("no vDSO (%v), but Fast() = %v, FallbackReason() = %v", baseErr, Fast(), FallbackReason())
		}
	default:
		if Fast() || !errors.Is(FallbackReason(), ErrNotSupported) {
			t.Fatalf("linux/%s: Fast() = %v, FallbackReason() = %v; want false and ErrNotSupported", runtime.GOARCH, Fast(), FallbackReason())
		}
	}
	t.Logf("Fast() = %v, FallbackReason() = %v", Fast(), FallbackReason())
}

// TestLiveImage resolves the symbol in this kernel's vDSO with findSymbol
// and checks it against debug/elf, an independent parser.
func TestLiveImage(t *testing.T) {
	img, err := liveImageForTest()
	if errors.Is(err, ErrNoVDSO) {
		t.Skipf("no vDSO in this process (%v): qemu-user or vdso=0", err)
	}
	if err != nil {
		t.Fatalf("reading the live vDSO: %v", err)
	}
	f, err := elf.NewFile(bytes.NewReader(img))
	if err != nil {
		t.Fatalf("debug/elf rejects the image findSymbol was given: %v", err)
	}
	key := keyAMD64
	if f.Machine == elf.EM_AARCH64 {
		key = keyARM64
	}
	got, err := findSymbol(img, key)
	if err != nil {
		t.Fatalf("findSymbol(live vDSO, %s@%s): %v", key.Name, key.Version, err)
	}
	syms, err := f.DynamicSymbols()
	if err != nil {
		t.Fatalf("debug/elf: %v", err)
	}
	var load *elf.Prog
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			load = p
			break
		}
	}
	var want uint64
	found := false
	for _, s := range syms {
		if s.Name == key.Name && s.Version == key.Version {
			want, found = s.Value-load.Vaddr+load.Off, true
		}
	}
	if !found {
		t.Fatalf("debug/elf finds no %s@%s in the live vDSO", key.Name, key.Version)
	}
	if got != want {
		t.Fatalf("findSymbol = %#x, debug/elf says %#x", got, want)
	}
	n, err := imageSize(img[:min(len(img), os.Getpagesize())])
	if err != nil || n != len(img) {
		t.Fatalf("imageSize(first page) = %d, %v; read %d bytes", n, err, len(img))
	}
	t.Logf("%s@%s at offset %#x of the %d-byte vDSO", key.Name, key.Version, got, len(img))
}

// TestAuxvMatchesProc checks the pure auxv parser against the runtime's copy.
func TestAuxvMatchesProc(t *testing.T) {
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		t.Skipf("no /proc/self/auxv: %v", err)
	}
	pairs, err := unix.Auxv()
	if err != nil {
		t.Skipf("unix.Auxv: %v", err)
	}
	var want uint64
	for _, kv := range pairs {
		if kv[0] == atSysinfoEhdr {
			want = uint64(kv[1])
			break
		}
	}
	got, err := auxvLookup(b, int(unsafe.Sizeof(uintptr(0))), atSysinfoEhdr)
	if want == 0 {
		if !errors.Is(err, ErrNoVDSO) {
			t.Fatalf("runtime auxv has no vDSO, parser says %#x, %v", got, err)
		}
		return
	}
	if err != nil || got != want {
		t.Fatalf("auxvLookup(/proc/self/auxv) = %#x, %v; runtime says %#x", got, err, want)
	}
}

// TestMonotonicRawBracketed: every read lies between two raw system-call
// reads of CLOCK_MONOTONIC_RAW taken just before and just after it.
func TestMonotonicRawBracketed(t *testing.T) {
	fast := func() int64 {
		v, ok := fastRaw()
		if !ok {
			return -1 // fails the bracket below
		}
		return v
	}
	for _, tt := range []struct {
		name     string
		read     func() int64
		needFast bool
	}{
		{name: "MonotonicRaw", read: MonotonicRaw},
		{name: "syscallRaw", read: syscallRaw},
		{name: "fastRaw", read: fast, needFast: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needFast && !Fast() {
				t.Skipf("fast path off: %v", FallbackReason())
			}
			for i := range 10_000 {
				s1 := sysRaw(t)
				v := tt.read()
				s2 := sysRaw(t)
				if v < s1 || v > s2 {
					t.Fatalf("read %d: %d not in [%d, %d]", i, v, s1, s2)
				}
			}
		})
	}
}

// TestLockedFIFOThread runs the clock from a goroutine locked to a
// SCHED_FIFO thread that sleeps with raw clock_nanosleep calls, as the RT
// loop does.
func TestLockedFIFOThread(t *testing.T) {
	rttest.RequireRoot(t)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: 10}
		if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
			done <- err
			return
		}
		const periodNs = 100_000
		m0 := Nanotime()
		r0 := MonotonicRaw()
		next, prev := m0, r0
		for i := range 200 {
			next += periodNs
			ts := unix.NsecToTimespec(next)
			for {
				_, _, e := unix.RawSyscall6(unix.SYS_CLOCK_NANOSLEEP, unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
				if e == 0 {
					break
				}
				if e != unix.EINTR {
					done <- e
					return
				}
			}
			v := MonotonicRaw()
			if v < prev {
				done <- fmt.Errorf("cycle %d: RAW went back from %d to %d", i, prev, v)
				return
			}
			prev = v
		}
		// Every sleep ended at or after its MONOTONIC deadline, so RAW must
		// have advanced at least as far (less 0.1 %: the two clocks' rates
		// differ by at most 500 ppm).
		if span := next - m0; prev-r0 < span*999/1000 {
			done <- fmt.Errorf("RAW advanced %d ns over 200 absolute sleeps spanning %d ns", prev-r0, span)
			return
		}
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestSignalsDuringCalls sends signals to threads that are busy in
// MonotonicRaw: CPU-profiling SIGPROF, SIGURG async preemption (the
// goroutines spin, so the runtime preempts them), and a SIGUSR1 storm sent
// with tgkill to exactly those threads. Most land inside the vDSO or on
// the private stack; the process must survive and the clock stay sane.
func TestSignalsDuringCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("1 s signal storm; skipped in -short")
	}
	var prof bytes.Buffer
	if err := pprof.StartCPUProfile(&prof); err != nil {
		t.Skipf("CPU profiling already on: %v", err)
	}
	defer pprof.StopCPUProfile()
	usr1 := make(chan os.Signal, 1024)
	signal.Notify(usr1, unix.SIGUSR1)
	defer signal.Stop(usr1)

	const workers = 4
	// One P per worker plus spare ones, so the sender keeps running.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(workers + 2))
	var stop atomic.Bool
	tids := make(chan int, workers)
	var wg sync.WaitGroup
	var bad atomic.Int64
	for range workers {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			tids <- unix.Gettid()
			prev := MonotonicRaw()
			for !stop.Load() {
				v := MonotonicRaw()
				if v < prev {
					bad.Add(1)
				}
				prev = v
			}
		})
	}
	pid := os.Getpid()
	var list []int
	for range workers {
		list = append(list, <-tids)
	}
	sent := 0
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		for _, tid := range list {
			if err := unix.Tgkill(pid, tid, unix.SIGUSR1); err == nil {
				sent++
			}
		}
		time.Sleep(50 * time.Microsecond)
	}
	stop.Store(true)
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d backward steps under signals", bad.Load())
	}
	t.Logf("survived %d SIGUSR1 plus SIGPROF/SIGURG while %d threads called MonotonicRaw", sent, workers)
}

func BenchmarkSyscallRaw(b *testing.B) {
	var ts unix.Timespec
	for b.Loop() {
		_ = unix.ClockGettime(unix.CLOCK_MONOTONIC_RAW, &ts)
	}
	sink = ts.Nano()
}

func BenchmarkRawSyscallFallback(b *testing.B) {
	for b.Loop() {
		sink = syscallRaw()
	}
}
