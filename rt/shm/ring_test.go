package shm

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func newTestRing(t testing.TB, capacity int, p Policy) *Ring[item] {
	t.Helper()
	r, err := NewRing[item](PrivateRegion(RingSize[item](capacity)), capacity, p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func push(t testing.TB, r *Ring[item], seq uint64) bool {
	t.Helper()
	var v item
	makeItem(seq, &v)
	return r.Push(&v)
}

// popAll drains r with Pop and returns the sequence numbers, failing on a
// torn item.
func popAll(t testing.TB, r *Ring[item]) []uint64 {
	t.Helper()
	var out []uint64
	var v item
	for r.Pop(&v) {
		if !checkItem(&v) {
			t.Fatalf("torn item %+v", v)
		}
		out = append(out, v.Seq)
	}
	return out
}

func seqs(from, to uint64) []uint64 {
	var s []uint64
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func checkStats(t testing.TB, r *Ring[item], want RingStats, wantLen int) {
	t.Helper()
	got := r.Stats()
	if got != want || r.Len() != wantLen {
		t.Fatalf("stats %+v len %d, want %+v len %d", got, r.Len(), want, wantLen)
	}
	if got.Pushed != got.Popped+got.Dropped+uint64(r.Len()) {
		t.Fatalf("pushed %d != popped %d + dropped %d + len %d", got.Pushed, got.Popped, got.Dropped, r.Len())
	}
}

func TestNewRingErrors(t *testing.T) {
	big := PrivateRegion(RingSize[item](64))
	tests := []struct {
		name string
		make func() error
		want error
	}{
		{"capacity 0", func() error { _, err := NewRing[item](big, 0, DropNewest); return err }, ErrInvalid},
		{"capacity 3", func() error { _, err := NewRing[item](big, 3, DropNewest); return err }, ErrInvalid},
		{"capacity 48", func() error { _, err := NewRing[item](big, 48, OverwriteOldest); return err }, ErrInvalid},
		{"negative capacity", func() error { _, err := NewRing[item](big, -8, DropNewest); return err }, ErrInvalid},
		{"capacity above max", func() error { _, err := NewRing[item](big, MaxRingCapacity+1, DropNewest); return err }, ErrInvalid},
		{"region too small", func() error { _, err := NewRing[item](big, 128, DropNewest); return err }, ErrInvalid},
		{"zero policy", func() error { _, err := NewRing[item](big, 64, Policy(0)); return err }, ErrInvalid},
		{"unknown policy", func() error { _, err := NewRing[item](big, 64, Policy(9)); return err }, ErrInvalid},
		{"string element", func() error { _, err := NewRing[badString](big, 4, DropNewest); return err }, ErrType},
		{"pointer element", func() error { _, err := NewRing[*item](big, 4, DropNewest); return err }, ErrType},
		{"open with pointer element", func() error { _, err := OpenRing[badIface](big); return err }, ErrType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.make(); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	_, err := NewRing[item](big, 48, DropNewest)
	if err == nil || !strings.Contains(err.Error(), "not a power of two") || !strings.Contains(err.Error(), "try 64") {
		t.Errorf("capacity error %q should say it is not a power of two and suggest 64", err)
	}
}

func TestRingEmpty(t *testing.T) {
	for _, p := range []Policy{DropNewest, OverwriteOldest} {
		t.Run(p.String(), func(t *testing.T) {
			r := newTestRing(t, 8, p)
			var v item
			if r.Pop(&v) {
				t.Fatal("Pop on an empty ring returned an item")
			}
			if n := r.PopBatch(make([]item, 4)); n != 0 {
				t.Fatalf("PopBatch on an empty ring returned %d", n)
			}
			push(t, r, 0)
			if got := popAll(t, r); fmt.Sprint(got) != "[0]" {
				t.Fatalf("got %v", got)
			}
			if r.Pop(&v) {
				t.Fatal("Pop after draining returned an item")
			}
			checkStats(t, r, RingStats{Pushed: 1, Popped: 1}, 0)
		})
	}
}

func TestRingFull(t *testing.T) {
	tests := []struct {
		name        string
		policy      Policy
		capacity    int
		pushes      uint64
		prePop      int // items popped after the first prePush pushes
		prePush     uint64
		wantPushOK  uint64
		wantPopped  []uint64 // after all pushes
		wantDropped uint64
	}{
		{"DropNewest 13 into 8", DropNewest, 8, 13, 0, 0, 8, seqs(0, 8), 5},
		{"OverwriteOldest 13 into 8", OverwriteOldest, 8, 13, 0, 0, 13, seqs(5, 13), 5},
		{"DropNewest exactly full", DropNewest, 8, 8, 0, 0, 8, seqs(0, 8), 0},
		{"OverwriteOldest exactly full", OverwriteOldest, 8, 8, 0, 0, 8, seqs(0, 8), 0},
		{"DropNewest capacity 1", DropNewest, 1, 5, 0, 0, 1, []uint64{0}, 4},
		{"OverwriteOldest capacity 1", OverwriteOldest, 1, 5, 0, 0, 5, []uint64{4}, 4},
		// 4 pushed, 2 popped, then 10 more: 14 pushed, the ring keeps the
		// newest 8 (6..13) so 2..5 are overwritten unread.
		{"OverwriteOldest after partial pop", OverwriteOldest, 8, 14, 2, 4, 14, seqs(6, 14), 4},
		// 4 pushed, 2 popped, then 10 more: room for 6 of them (4..9).
		{"DropNewest after partial pop", DropNewest, 8, 14, 2, 4, 10, seqs(2, 10), 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRing(t, tc.capacity, tc.policy)
			var ok, seq uint64
			var early []uint64
			for ; seq < tc.prePush; seq++ {
				if push(t, r, seq) {
					ok++
				}
			}
			var v item
			for range tc.prePop {
				if !r.Pop(&v) {
					t.Fatal("pop failed")
				}
				early = append(early, v.Seq)
			}
			for ; seq < tc.pushes; seq++ {
				if push(t, r, seq) {
					ok++
				}
			}
			if ok != tc.wantPushOK {
				t.Errorf("%d pushes succeeded, want %d", ok, tc.wantPushOK)
			}
			popped := uint64(len(early))
			checkStats(t, r, RingStats{Pushed: tc.pushes, Popped: popped, Dropped: tc.wantDropped}, len(tc.wantPopped))
			if got := popAll(t, r); fmt.Sprint(got) != fmt.Sprint(tc.wantPopped) {
				t.Fatalf("popped %v, want %v", got, tc.wantPopped)
			}
			checkStats(t, r, RingStats{Pushed: tc.pushes, Popped: popped + uint64(len(tc.wantPopped)), Dropped: tc.wantDropped}, 0)
		})
	}
}

// TestRingWrapAround runs the counters around a small ring many times with
// uneven push and pop batches, checking FIFO order throughout.
func TestRingWrapAround(t *testing.T) {
	for _, p := range []Policy{DropNewest, OverwriteOldest} {
		t.Run(p.String(), func(t *testing.T) {
			const capacity = 4
			r := newTestRing(t, capacity, p)
			var next, want uint64
			batch := make([]item, 3)
			for round := range 10_000 {
				for range round % 4 { // 0..3 pushes, never more than fits
					if r.Len() == capacity {
						break
					}
					if !push(t, r, next) {
						t.Fatalf("push %d refused with len %d", next, r.Len())
					}
					next++
				}
				var got []item
				if round%2 == 0 {
					n := r.PopBatch(batch[:1+round%3])
					got = batch[:n]
				} else {
					var v item
					if r.Pop(&v) {
						got = []item{v}
					}
				}
				for i := range got {
					if !checkItem(&got[i]) || got[i].Seq != want {
						t.Fatalf("round %d: got seq %d (whole %v), want %d", round, got[i].Seq, checkItem(&got[i]), want)
					}
					want++
				}
			}
			rest := popAll(t, r)
			if len(rest) > 0 && rest[0] != want {
				t.Fatalf("rest starts at %d, want %d", rest[0], want)
			}
			want += uint64(len(rest))
			if want != next || next < 10_000 {
				t.Fatalf("popped %d of %d", want, next)
			}
			checkStats(t, r, RingStats{Pushed: next, Popped: next}, 0)
		})
	}
}

// TestRingConsumerSkipsOverwrite puts the ring in the state a consumer
// finds when the producer is half-way through overwriting the oldest item:
// the consumer must skip it and return the next one, and the counters must
// add up once the push completes.
func TestRingConsumerSkipsOverwrite(t *testing.T) {
	r := newTestRing(t, 4, OverwriteOldest)
	for seq := range uint64(4) {
		push(t, r, seq)
	}
	// The first half of Push(4): mark slot 0 as being written with item 4,
	// scribble over the data.
	seq, data := r.slot(4)
	if old := seq.Swap(enc(4, stateWriting)); old != enc(0, stateReady) {
		t.Fatalf("slot 0 held %#x, want item 0 ready", old)
	}
	makeItem(4, data)
	data.Pay[2] = 0 // half-written
	var v item
	if !r.Pop(&v) || !checkItem(&v) || v.Seq != 1 {
		t.Fatalf("popped seq %d whole %v, want item 1", v.Seq, checkItem(&v))
	}
	// The second half.
	makeItem(4, data)
	seq.Store(enc(4, stateReady))
	r.head.Store(5)
	if got := popAll(t, r); fmt.Sprint(got) != "[2 3 4]" {
		t.Fatalf("then popped %v, want [2 3 4]", got)
	}
	checkStats(t, r, RingStats{Pushed: 5, Popped: 4, Dropped: 1}, 0)
}

// TestRingConsumerLappedTwice: the consumer's position is more than a whole
// ring behind; it must jump to the oldest item present.
func TestRingConsumerLappedTwice(t *testing.T) {
	r := newTestRing(t, 4, OverwriteOldest)
	for seq := range uint64(11) {
		push(t, r, seq)
	}
	if got := popAll(t, r); fmt.Sprint(got) != "[7 8 9 10]" {
		t.Fatalf("popped %v, want [7 8 9 10]", got)
	}
	checkStats(t, r, RingStats{Pushed: 11, Popped: 4, Dropped: 7}, 0)
}

// TestRingSecondHandle: a second handle on the same memory (a restarted
// producer or consumer, or the other process) continues where the first
// left off.
func TestRingSecondHandle(t *testing.T) {
	for _, p := range []Policy{DropNewest, OverwriteOldest} {
		t.Run(p.String(), func(t *testing.T) {
			reg := PrivateRegion(RingSize[item](8))
			r, err := NewRing[item](reg, 8, p)
			if err != nil {
				t.Fatal(err)
			}
			for seq := range uint64(3) {
				push(t, r, seq)
			}
			var v item
			r.Pop(&v)
			r2, err := OpenRing[item](reg)
			if err != nil {
				t.Fatal(err)
			}
			if r2.Capacity() != 8 || r2.Policy() != p {
				t.Fatalf("opened capacity %d policy %v", r2.Capacity(), r2.Policy())
			}
			if got := popAll(t, r2); fmt.Sprint(got) != "[1 2]" {
				t.Fatalf("popped %v, want [1 2]", got)
			}
			push(t, r2, 3)
			if got := popAll(t, r); fmt.Sprint(got) != "[3]" {
				t.Fatalf("popped %v, want [3]", got)
			}
			checkStats(t, r2, RingStats{Pushed: 4, Popped: 4}, 0)
		})
	}
}

func TestRingPopBatch(t *testing.T) {
	for _, p := range []Policy{DropNewest, OverwriteOldest} {
		t.Run(p.String(), func(t *testing.T) {
			r := newTestRing(t, 16, p)
			for seq := range uint64(10) {
				push(t, r, seq)
			}
			dst := make([]item, 4)
			var got []uint64
			for {
				n := r.PopBatch(dst)
				for i := range dst[:n] {
					if !checkItem(&dst[i]) {
						t.Fatal("torn item")
					}
					got = append(got, dst[i].Seq)
				}
				if n < len(dst) {
					break
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(seqs(0, 10)) {
				t.Fatalf("popped %v", got)
			}
			if n := r.PopBatch(nil); n != 0 {
				t.Fatalf("PopBatch(nil) = %d", n)
			}
			checkStats(t, r, RingStats{Pushed: 10, Popped: 10}, 0)
		})
	}
}

func TestRingNoAllocs(t *testing.T) {
	for _, p := range []Policy{DropNewest, OverwriteOldest} {
		r := newTestRing(t, 64, p)
		var v item
		batch := make([]item, 8)
		makeItem(1, &v)
		if a := testing.AllocsPerRun(1000, func() {
			r.Push(&v)
			r.Push(&v)
			r.Pop(&v)
			r.PopBatch(batch)
		}); a != 0 {
			t.Errorf("%v: Push/Pop/PopBatch allocate %.1f times per call", p, a)
		}
	}
}

func TestPolicyString(t *testing.T) {
	for p, want := range map[Policy]string{DropNewest: "DropNewest", OverwriteOldest: "OverwriteOldest", 7: "Policy(7)"} {
		if p.String() != want {
			t.Errorf("%d: %q", p, p.String())
		}
	}
}
