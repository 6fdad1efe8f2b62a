package shm

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// ringPairResult is what a producer/consumer pair reports.
type ringPairResult struct {
	Refused uint64 // pushes that returned false
	Check   streamCheck
	Stats   RingStats
	Len     int
}

// consume pops from r until stop is set and the ring is then empty,
// checking every item. It mixes Pop and PopBatch, and every batch it
// dawdles a little so that it is slower than the producer and the ring
// fills up.
func consume(r *Ring[item], n uint64, stop *atomic.Bool, dawdle func()) streamCheck {
	var c streamCheck
	batch := make([]item, 16)
	for k := 0; ; k++ {
		stopped := stop.Load() // read before popping: after it, an empty ring means done
		size := 1 + k%len(batch)
		got := 0
		if size == 1 {
			if r.Pop(&batch[0]) {
				got = 1
			}
		} else {
			got = r.PopBatch(batch[:size])
		}
		for i := range batch[:got] {
			c.add(&batch[i], n)
		}
		if got == 0 && stopped {
			return c
		}
		dawdle()
	}
}

// produce pushes items 0..n-1 and returns how many were refused.
func produce(r *Ring[item], n uint64, pause func(i uint64)) uint64 {
	var v item
	var refused uint64
	for i := range n {
		makeItem(i, &v)
		if !r.Push(&v) {
			refused++
		}
		pause(i)
	}
	return refused
}

func runRingPair(t *testing.T, p Policy, n uint64) ringPairResult {
	t.Helper()
	r := newTestRing(t, 256, p)
	var stop atomic.Bool
	var res ringPairResult
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		spin := 0
		res.Check = consume(r, n, &stop, func() {
			for range 200 {
				spin++
			}
			if spin%64 == 0 {
				runtime.Gosched()
			}
		})
	}()
	res.Refused = produce(r, n, func(i uint64) {
		if i%4096 == 0 {
			runtime.Gosched() // let the consumer empty the ring now and then
		}
	})
	stop.Store(true)
	wg.Wait()
	res.Stats, res.Len = r.Stats(), r.Len()
	return res
}

// checkRingPair asserts what must hold after n items went through a ring
// under policy p: nothing torn, order kept, every item either popped or
// dropped, and the counters agreeing with what both sides saw.
func checkRingPair(t *testing.T, p Policy, n uint64, res ringPairResult) {
	t.Helper()
	c, st := res.Check, res.Stats
	t.Logf("%v: pushed %d popped %d dropped %d (refused %d), left %d", p, st.Pushed, st.Popped, st.Dropped, res.Refused, res.Len)
	if c.Torn != 0 || c.OutOfOrder != 0 || c.OutOfRange != 0 {
		t.Errorf("consumer saw %d torn, %d out-of-order, %d out-of-range items", c.Torn, c.OutOfOrder, c.OutOfRange)
	}
	if res.Len != 0 {
		t.Errorf("%d items left after draining", res.Len)
	}
	if st.Pushed != n || st.Popped != c.Popped {
		t.Errorf("stats pushed %d popped %d; producer pushed %d, consumer popped %d", st.Pushed, st.Popped, n, c.Popped)
	}
	if st.Pushed != st.Popped+st.Dropped+uint64(res.Len) {
		t.Errorf("pushed %d != popped %d + dropped %d + len %d", st.Pushed, st.Popped, st.Dropped, res.Len)
	}
	// The items the consumer never saw are exactly the dropped ones.
	if gaps := c.Gaps + (n - 1 - c.Last); c.Popped > 0 && gaps != st.Dropped {
		t.Errorf("consumer missed %d items, the ring counted %d dropped", gaps, st.Dropped)
	}
	switch p {
	case DropNewest:
		if res.Refused != st.Dropped {
			t.Errorf("producer saw %d refusals, the ring counted %d dropped", res.Refused, st.Dropped)
		}
	case OverwriteOldest:
		if res.Refused != 0 {
			t.Errorf("%d pushes refused under OverwriteOldest", res.Refused)
		}
	}
	if c.Popped == 0 || st.Dropped == 0 {
		t.Errorf("popped %d, dropped %d: the test did not exercise a full ring (the consumer should be slower than the producer)", c.Popped, st.Dropped)
	}
}

// TestRingConcurrentDropNewest runs a producer and a consumer goroutine.
// Under DropNewest the data copies are properly synchronised (the
// producer reuses a slot only after reading the consumer's tail), so this
// test also runs, and must stay clean, under -race.
func TestRingConcurrentDropNewest(t *testing.T) {
	n := uint64(300_000)
	if testing.Short() || raceEnabled {
		n = 50_000
	}
	checkRingPair(t, DropNewest, n, runRingPair(t, DropNewest, n))
}
