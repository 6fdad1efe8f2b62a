package main

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/shm"
)

func TestAccount(t *testing.T) {
	for _, tc := range []struct {
		name string
		seqs []uint64
		want Ack
	}{
		{"in order from 0", []uint64{0, 1, 2, 3}, Ack{Received: 4}},
		// A connection's gaps count from its first sample: a gateway
		// that reconnects resumes at the first unacknowledged sample.
		{"late start", []uint64{5, 6}, Ack{Received: 2}},
		{"late start with a gap", []uint64{5, 6, 9}, Ack{Received: 3, Missing: 2}},
		{"gaps", []uint64{0, 2, 3, 7}, Ack{Received: 4, Missing: 4}},
		{"duplicate", []uint64{0, 1, 1, 2}, Ack{Received: 4, OutOfOrder: 1}},
		{"swapped", []uint64{0, 2, 1, 3}, Ack{Received: 4, Missing: 1, OutOfOrder: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a account
			for _, s := range tc.seqs {
				a.add(Sample{Seq: s, Value: Sensor(s)})
			}
			if a.Ack != tc.want {
				t.Errorf("%+v, want %+v", a.Ack, tc.want)
			}
		})
	}
	var a account
	a.add(Sample{Seq: 0, Value: Sensor(0) + 1e-3})
	if a.Corrupt != 1 {
		t.Errorf("a wrong value: corrupt %d, want 1", a.Corrupt)
	}
}

// pipeline runs producer → ring → forwarder → TCP → collector in this
// process, without an RT loop: the producer pushes total samples, one
// every gap, and never waits.
func pipeline(t *testing.T, capacity int, p shm.Policy, delay time.Duration, batch int, total uint64, gap time.Duration) (*forwarder, shm.RingStats, int, uint64) {
	t.Helper()
	ring, err := shm.NewRing[Sample](shm.PrivateRegion(shm.RingSize[Sample](capacity)), capacity, p)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	coll := &Collector{Delay: delay}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- coll.Serve(ctx, ln) }()
	defer func() { cancel(); <-served }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	produced := make(chan uint64, 1)
	go func() {
		var refused uint64
		for seq := range total {
			s := Sample{Seq: seq, TimestampNs: int64(seq), Value: Sensor(seq)}
			if !ring.Push(&s) {
				refused++
			}
			time.Sleep(gap)
		}
		produced <- refused
	}()
	addr := ln.Addr().String()
	fw := newForwarder(ring, conn, func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}, batch)
	fctx, fcancel := context.WithCancel(context.Background())
	fwDone := make(chan struct{})
	go func() { fw.run(fctx, time.Millisecond); close(fwDone) }()
	refused := <-produced
	fcancel()
	<-fwDone
	if fw.failures != 0 {
		t.Errorf("%d connection failures to a working collector: %v", fw.failures, fw.lastErr)
	}
	if err := fw.drain(time.Now().Add(100 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	return fw, ring.Stats(), ring.Len(), refused
}

func TestPipelineNominal(t *testing.T) {
	// A ring as large as the run: nothing can be dropped whatever the
	// scheduling, so every sample must arrive, in order.
	const total = 3000
	fw, rs, left, _ := pipeline(t, 4096, shm.DropNewest, 0, 64, total, 50*time.Microsecond)
	a := fw.acked
	if a.Received != total || a.Missing != 0 || a.OutOfOrder != 0 || a.Corrupt != 0 || rs.Dropped != 0 || left != 0 {
		t.Errorf("ack %+v, ring %+v, %d left; want all %d received in order", a, rs, left, total)
	}
	if fw.popped != total || fw.frames == 0 {
		t.Errorf("popped %d in %d frames", fw.popped, fw.frames)
	}
}

func TestPipelineSlowCollector(t *testing.T) {
	// The collector takes 20 ms per batch of ≤ 8: ≤ 400 samples/s,
	// against 3000 pushed as fast as possible into 256 slots.
	for _, p := range []shm.Policy{shm.DropNewest, shm.OverwriteOldest} {
		t.Run(p.String(), func(t *testing.T) {
			if p == shm.OverwriteOldest && raceEnabled {
				t.Skip("OverwriteOldest's pop races the producer by design; the detector reports it (see rt/shm)")
			}
			const total = 3000
			fw, rs, left, refused := pipeline(t, 256, p, 20*time.Millisecond, 8, total, 0)
			a := fw.acked
			if rs.Dropped == 0 {
				t.Fatalf("nothing dropped with a slow collector: %+v", rs)
			}
			if rs.Pushed != total || a.Received+rs.Dropped+uint64(left) != total || fw.popped != a.Received {
				t.Errorf("pushed %d = received %d + dropped %d + left %d? (popped %d)", rs.Pushed, a.Received, rs.Dropped, left, fw.popped)
			}
			if a.OutOfOrder != 0 || a.Corrupt != 0 || a.Missing > rs.Dropped {
				t.Errorf("ack %+v: want in order, intact, no more gaps than drops (%d)", a, rs.Dropped)
			}
			if p == shm.DropNewest && refused != rs.Dropped {
				t.Errorf("drop-newest: Push refused %d, ring counted %d dropped", refused, rs.Dropped)
			}
			if p == shm.OverwriteOldest && refused != 0 {
				t.Errorf("overwrite-oldest: Push refused %d, want 0", refused)
			}
		})
	}
}
