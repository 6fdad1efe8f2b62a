package shm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rtcell/rtcell/rt/rttest"
)

// Multi-process tests: writers and readers are separate processes (this
// test binary re-executed, see TestMain) sharing a memfd region passed as
// fd 3. This is the real deployment, and the only place where the
// seqlocks' racy copies can be exercised at full speed: the race detector
// does not look at shared mappings.
//
// The writing process runs on CPU 0 and the reading ones on CPU 1, so
// that every reader runs truly in parallel with the writer whenever it
// runs: left to the scheduler, a reader sharing the writer's CPU would
// only ever see the image between two writes.

func init() {
	children["image-writer"] = childImageWriter
	children["image-reader"] = childImageReader
	children["ring-producer"] = childRingProducer
	children["ring-consumer"] = childRingConsumer
}

// childRegion pins the child to the CPU in SHM_CPU and maps the region
// at fd 3.
func childRegion() (*Region, error) {
	if err := pinProcess(int(envUint("SHM_CPU"))); err != nil {
		return nil, err
	}
	return OpenRegion(os.NewFile(3, "region"))
}

// pinProcess sets the affinity of every thread of the process to cpu.
// Threads created later inherit it from their creator. It goes over the
// thread list a few times in case the runtime starts one meanwhile.
func pinProcess(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	for range 3 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		for _, task := range tasks {
			tid, err := strconv.Atoi(task.Name())
			if err != nil {
				continue
			}
			if err := unix.SchedSetaffinity(tid, &set); err != nil && err != unix.ESRCH {
				return fmt.Errorf("pinning thread %d to CPU %d: %w", tid, cpu, err)
			}
		}
	}
	return nil
}

func envUint(name string) uint64 {
	v, _ := strconv.ParseUint(os.Getenv(name), 10, 64)
	return v
}

// stopOnStdinEOF returns a flag that is set when the parent closes our
// stdin: the parent's way to say "the other side has finished".
func stopOnStdinEOF() *atomic.Bool {
	var stop atomic.Bool
	go func() {
		io.Copy(io.Discard, os.Stdin)
		stop.Store(true)
	}()
	return &stop
}

func childImageWriter() (any, error) {
	reg, err := childRegion()
	if err != nil {
		return nil, err
	}
	im, err := OpenImage[img256](reg)
	if err != nil {
		return nil, err
	}
	// Write for SHM_DURATION_MS at least, then until the parent closes
	// stdin (it waits for the readers to have seen the writes), for 20 s
	// at most.
	start := time.Now()
	until := start.Add(time.Duration(envUint("SHM_DURATION_MS")) * time.Millisecond)
	stop := stopOnStdinEOF()
	return writeImage(im, func(w uint64) bool {
		if w%1024 != 0 {
			return true
		}
		now := time.Now()
		return now.Before(until) || !stop.Load() && now.Before(start.Add(20*time.Second))
	}), nil
}

func childImageReader() (any, error) {
	reg, err := childRegion()
	if err != nil {
		return nil, err
	}
	im, err := OpenImage[img256](reg)
	if err != nil {
		return nil, err
	}
	stop := stopOnStdinEOF()
	var progress atomic.Uint64
	if os.Getenv("SHM_READY") != "" {
		// Tell the parent, through fd 4, that reading starts now (it
		// starts the writer only then: a reader may take longer to start
		// than the writer runs, under -race or on a busy box), and again
		// once this reader has seen 100 versions (the parent keeps the
		// writer going until then, as the box may have kept the reader
		// and the writer from running at the same time).
		ready := os.NewFile(4, "ready")
		ready.Write([]byte{1})
		go func() {
			defer ready.Close()
			for progress.Load() < 100 && !stop.Load() {
				time.Sleep(time.Millisecond)
			}
			ready.Write([]byte{2})
		}()
	}
	return readImage(im, stop, &progress), nil
}

func childRingProducer() (any, error) {
	reg, err := childRegion()
	if err != nil {
		return nil, err
	}
	r, err := OpenRing[item](reg)
	if err != nil {
		return nil, err
	}
	// Pause now and then so that the consumer empties the ring and the
	// empty-ring paths run concurrently too.
	return produce(r, envUint("SHM_ITEMS"), func(i uint64) {
		if i%65536 == 65535 {
			time.Sleep(200 * time.Microsecond)
		}
	}), nil
}

func childRingConsumer() (any, error) {
	reg, err := childRegion()
	if err != nil {
		return nil, err
	}
	r, err := OpenRing[item](reg)
	if err != nil {
		return nil, err
	}
	spin := 0
	return consume(r, envUint("SHM_ITEMS"), stopOnStdinEOF(), func() {
		for range 500 { // slower than the producer
			spin++
		}
	}), nil
}

type child struct {
	name           string
	cmd            *exec.Cmd
	stdin          io.WriteCloser
	stdout, stderr bytes.Buffer
}

func startChild(t *testing.T, role string, cpu int, f *os.File, env ...string) *child {
	t.Helper()
	return startChildFiles(t, role, cpu, []*os.File{f}, env...)
}

// startChildFiles starts a child with files as fd 3, 4, …
func startChildFiles(t *testing.T, role string, cpu int, files []*os.File, env ...string) *child {
	t.Helper()
	c := &child{name: role}
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	c.cmd.Env = append(append(os.Environ(), envChild+"="+role, fmt.Sprintf("SHM_CPU=%d", cpu),
		// Under -race, a child would otherwise sleep 1 s at exit.
		"GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0"), env...)
	c.cmd.ExtraFiles = files
	c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", role, err)
	}
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
	})
	return c
}

// wait closes the child's stdin (its signal to finish) and decodes its
// JSON result into out.
func (c *child) wait(t *testing.T, out any) {
	t.Helper()
	c.stdin.Close()
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("%s: %v\nstderr:\n%s", c.name, err, c.stderr.String())
	}
	if err := json.Unmarshal(c.stdout.Bytes(), out); err != nil {
		t.Fatalf("%s: decoding %q: %v", c.name, c.stdout.String(), err)
	}
}

// TestImageMultiProcess: one writer process writes 256-byte values as fast
// as it can for about a second while three reader processes read
// continuously. No reader may see a torn value or a value that is not the
// version Read reports, and each must have seen many versions. It runs
// with the real ImageSlots and with a single slot, a plain seqlock that
// the writer laps all the time, so that the torn-copy checks do work.
func TestImageMultiProcess(t *testing.T) {
	rttest.RequireCPU(t, 0)
	rttest.RequireCPU(t, 1)
	// No other package's RT loop may run on these CPUs meanwhile: a
	// SCHED_FIFO loop would starve the readers pinned there.
	rttest.LeaseCPU(t, 0)
	rttest.LeaseCPU(t, 1)
	durMs := 1000
	if testing.Short() || raceEnabled { // the detector cannot see into shared mappings anyway
		durMs = 200
	}
	for _, slots := range []int{ImageSlots, 1} {
		t.Run(fmt.Sprintf("slots=%d", slots), func(t *testing.T) {
			reg, f, err := NewRegion("shm-test-image", ImageSize[img256]())
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Close()
			defer f.Close()
			im, err := newImage[img256](reg, slots)
			if err != nil {
				t.Fatal(err)
			}
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer pr.Close()
			var readers []*child
			for range 3 {
				readers = append(readers, startChildFiles(t, "image-reader", 1, []*os.File{f, pw}, "SHM_READY=1"))
			}
			pw.Close()
			if _, err := io.ReadFull(pr, make([]byte, len(readers))); err != nil {
				t.Fatalf("waiting for the readers to start: %v", err)
			}
			writer := startChild(t, "image-writer", 0, f, fmt.Sprintf("SHM_DURATION_MS=%d", durMs))
			// Each reader says when it has seen 100 versions; the writer
			// stops 20 s after its start at the latest.
			pr.SetReadDeadline(time.Now().Add(25 * time.Second))
			io.ReadFull(pr, make([]byte, len(readers)))
			var writes uint64
			writer.wait(t, &writes)
			if im.Version() != writes {
				t.Errorf("Version %d, the writer made %d writes", im.Version(), writes)
			}
			t.Logf("writer: %d writes in %d ms or more", writes, durMs)
			for _, c := range readers {
				c.stdin.Close()
			}
			for i, c := range readers {
				var r imageReaderResult
				c.wait(t, &r)
				checkImageReader(t, i, r, writes)
			}
		})
	}
}

// TestRingMultiProcess: a producer process pushes sequence-numbered,
// checksummed items into a 256-slot ring as fast as it can, under each
// policy, while a slower consumer process pops them.
func TestRingMultiProcess(t *testing.T) {
	rttest.RequireCPU(t, 0)
	rttest.RequireCPU(t, 1)
	// No other package's RT loop may run on these CPUs meanwhile: a
	// SCHED_FIFO loop would starve the readers pinned there.
	rttest.LeaseCPU(t, 0)
	rttest.LeaseCPU(t, 1)
	n := uint64(2_000_000)
	if testing.Short() || raceEnabled {
		n = 300_000
	}
	for _, p := range []Policy{DropNewest, OverwriteOldest} {
		t.Run(p.String(), func(t *testing.T) {
			reg, f, err := NewRegion("shm-test-ring", RingSize[item](256))
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Close()
			defer f.Close()
			r, err := NewRing[item](reg, 256, p)
			if err != nil {
				t.Fatal(err)
			}
			items := fmt.Sprintf("SHM_ITEMS=%d", n)
			consumer := startChild(t, "ring-consumer", 1, f, items)
			producer := startChild(t, "ring-producer", 0, f, items)
			var res ringPairResult
			producer.wait(t, &res.Refused)
			consumer.wait(t, &res.Check)
			res.Stats, res.Len = r.Stats(), r.Len()
			checkRingPair(t, p, n, res)
		})
	}
}
