package main

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/shm"
)

func TestNextBackoff(t *testing.T) {
	d := time.Duration(0)
	var seq []time.Duration
	for range 8 {
		d = nextBackoff(d)
		seq = append(seq, d)
	}
	want := []time.Duration{50, 100, 200, 400, 800, 1600, 2000, 2000}
	for i := range want {
		if seq[i] != want[i]*time.Millisecond {
			t.Fatalf("backoff %v, want %v ms", seq, want)
		}
	}
}

// restartable is a collector on a fixed address that the test stops
// (its listener and every connection closed, as when the process dies)
// and starts again.
type restartable struct {
	t      *testing.T
	addr   string
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	colls  []*Collector
}

func (r *restartable) start() {
	r.t.Helper()
	var ln net.Listener
	var err error
	// The port was just freed; a listen can race the old socket's close.
	for range 100 {
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			r.addr = ln.Addr().String() // the port chosen by the first start, kept
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatalf("restarting the collector on %s: %v", r.addr, err)
	}
	c := &Collector{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Serve(ctx, ln); close(done) }()
	r.mu.Lock()
	r.cancel, r.done = cancel, done
	r.colls = append(r.colls, c)
	r.mu.Unlock()
}

// stop stops the running collector, if any.
func (r *restartable) stop() {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.cancel = nil
	r.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// serving is the number of connections the latest collector serves,
// and how many collectors were started.
func (r *restartable) serving() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.colls[len(r.colls)-1].Active(), len(r.colls)
}

func (r *restartable) received() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n uint64
	for _, c := range r.colls {
		n += c.Total().Received
	}
	return n
}

// TestForwarderCollectorRestarts: the collector dies mid-run and comes
// back 300 ms later. The forwarder reconnects; what the ring dropped
// meanwhile is counted, and every sample taken from the ring is
// acknowledged in the end (the unacknowledged batch is resent).
func TestForwarderCollectorRestarts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		capacity int
		dropped  bool // the outage must overflow the ring
	}{
		{"ring rides it out", 16384, false},
		{"ring overflows", 256, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ring, err := shm.NewRing[Sample](shm.PrivateRegion(shm.RingSize[Sample](tc.capacity)), tc.capacity, shm.DropNewest)
			if err != nil {
				t.Fatal(err)
			}
			rc := &restartable{t: t, addr: "127.0.0.1:0"}
			rc.start()
			defer rc.stop()
			addr := rc.addr // fixed from now on
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			fw := newForwarder(ring, conn, func(ctx context.Context) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "tcp", addr)
			}, 64)
			defer func() {
				if fw.conn != nil {
					fw.conn.Close()
				}
			}()
			// The producer pushes 5000 samples a second, whatever its
			// sleeps take, until told to stop: 1500 during the outage,
			// and at most 5000 by the time the backoff (≤ 800 ms after
			// 4 failures) lets the forwarder find the collector again.
			const rate = 5000
			var stopProducing atomic.Bool
			var pushed atomic.Uint64
			produced := make(chan struct{})
			go func() {
				defer close(produced)
				start := time.Now()
				for seq := uint64(0); !stopProducing.Load(); time.Sleep(time.Millisecond) {
					for target := uint64(time.Since(start).Seconds() * rate); seq < target; seq++ {
						s := Sample{Seq: seq, Value: Sensor(seq)}
						ring.Push(&s)
						pushed.Add(1)
					}
				}
			}()
			fctx, fcancel := context.WithCancel(context.Background())
			fwDone := make(chan struct{})
			go func() { fw.run(fctx, time.Millisecond); close(fwDone) }()

			time.Sleep(200 * time.Millisecond)
			rc.stop()
			time.Sleep(300 * time.Millisecond)
			rc.start()
			// Run on until the forwarder has reconnected and sent more.
			for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
				if active, started := rc.serving(); active > 0 && started == 2 {
					break
				}
			}
			time.Sleep(200 * time.Millisecond)
			stopProducing.Store(true)
			<-produced
			fcancel()
			<-fwDone
			if err := fw.drain(time.Now().Add(5 * time.Second)); err != nil {
				t.Fatalf("drain: %v", err)
			}
			rc.stop() // the collectors' totals are complete once their connections ended
			rs := ring.Stats()
			total := pushed.Load()
			t.Logf("pushed %d, acked %d, ring dropped %d, left %d; failures %d, reconnects %d, resent %d, last error %v",
				total, fw.acked.Received, rs.Dropped, ring.Len(), fw.failures, fw.reconnects, fw.resent, fw.lastErr)
			if fw.failures == 0 || fw.reconnects == 0 {
				t.Fatalf("failures %d, reconnects %d: the forwarder did not see the collector die and come back", fw.failures, fw.reconnects)
			}
			if fw.pending != 0 || ring.Len() != 0 {
				t.Errorf("after the drain: %d pending, %d in the ring; want all sent", fw.pending, ring.Len())
			}
			if rs.Pushed != total || fw.popped != rs.Popped || fw.acked.Received != fw.popped || total != fw.acked.Received+rs.Dropped {
				t.Errorf("pushed %d = acked %d + dropped %d? popped %d (ring says %d)", total, fw.acked.Received, rs.Dropped, fw.popped, rs.Popped)
			}
			if tc.dropped && rs.Dropped == 0 {
				t.Errorf("a %d-slot ring lost nothing in a 300 ms outage at %d Hz", tc.capacity, rate)
			}
			if !tc.dropped && rs.Dropped != 0 {
				t.Errorf("a %d-slot ring dropped %d samples", tc.capacity, rs.Dropped)
			}
			// The collectors got every acknowledged sample, plus at most
			// the batch in flight when the first one died (resent).
			if got := rc.received(); got < fw.acked.Received || got > fw.acked.Received+fw.resent {
				t.Errorf("collectors received %d, acked %d, resent %d", got, fw.acked.Received, fw.resent)
			}
			if fw.acked.OutOfOrder > fw.resent || fw.acked.Corrupt != 0 {
				t.Errorf("acked %+v: want intact, out of order only for resent samples (%d)", fw.acked, fw.resent)
			}
		})
	}
}

// TestForwarderOverAckingCollector: a collector that acknowledges more
// than was sent is a protocol error: the forwarder closes the connection
// and reconnects, and counts nothing it was not sent. The second
// connection is served by an honest collector.
func TestForwarderOverAckingCollector(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	honest := &Collector{}
	var conns atomic.Int32
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			if conns.Add(1) == 1 {
				go func() {
					defer conn.Close()
					// Read one frame and claim 100 million samples.
					var h [headerBytes]byte
					io.ReadFull(conn, h[:])
					io.CopyN(io.Discard, conn, int64(binary.BigEndian.Uint32(h[:]))*sampleBytes)
					b := Ack{Received: 100_000_000}.encode()
					conn.Write(b[:])
					io.Copy(io.Discard, conn)
				}()
				continue
			}
			go func() { defer conn.Close(); honest.handle(conn, time.Minute) }()
		}
	}()
	const total = 500
	ring, err := shm.NewRing[Sample](shm.PrivateRegion(shm.RingSize[Sample](1024)), 1024, shm.DropNewest)
	if err != nil {
		t.Fatal(err)
	}
	for seq := range uint64(total) {
		s := Sample{Seq: seq, Value: Sensor(seq)}
		ring.Push(&s)
	}
	dial := func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", ln.Addr().String())
	}
	conn, err := dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fw := newForwarder(ring, conn, dial, 64)
	defer func() {
		if fw.conn != nil {
			fw.conn.Close()
		}
	}()
	if err := fw.drain(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if fw.protoErrs != 1 || fw.reconnects != 1 {
		t.Errorf("protocol errors %d, reconnects %d; want 1 and 1 (last error %v)", fw.protoErrs, fw.reconnects, fw.lastErr)
	}
	if fw.acked.Received != total || fw.popped != total || fw.resent != 64 {
		t.Errorf("acked %d, popped %d, resent %d; want %d, %d, 64 (the over-acked frame resent)", fw.acked.Received, fw.popped, fw.resent, total, total)
	}
	if lost := uint64(total) - fw.acked.Received; lost != 0 {
		t.Errorf("lost %d", lost)
	}
}

// TestCollectorBoundsConnections: 200 idle connections to a collector
// that serves at most 64 and closes a connection idle for 1 s: at no
// time are more than 64 served, the rest are closed at once, the 64 are
// closed once idle, and memory stays within what 64 idle connections
// may hold.
func TestCollectorBoundsConnections(t *testing.T) {
	const (
		maxConns = 64
		dials    = 200
		// Long enough that all 200 dials are accepted before the first
		// served connection can time out, even on a loaded machine.
		idle = time.Second
		// An idle connection holds a goroutine (a few KiB of stack), a
		// 4 KiB read buffer and the socket; 64 KiB each is generous,
		// and far below the ≈ 260 KiB each held before the frame
		// buffers were allocated on the first frame.
		perConn = 64 << 10
	)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &Collector{MaxConns: maxConns, IdleTimeout: idle}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- c.Serve(ctx, ln) }()
	defer func() { cancel(); <-served }()

	mem := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse + ms.StackInuse
	}
	before := mem()
	conns := make([]net.Conn, 0, dials)
	defer func() {
		for _, cn := range conns {
			cn.Close()
		}
	}()
	for range dials {
		cn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatalf("dial %d: %v", len(conns), err)
		}
		conns = append(conns, cn)
		if a := c.Active(); a > maxConns {
			t.Fatalf("%d connections served, limit %d", a, maxConns)
		}
	}
	// Wait until the collector has accepted all of them (served or
	// refused), before any idle timeout can have closed the first.
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end) && uint64(c.Active())+c.Refused() < dials; time.Sleep(time.Millisecond) {
	}
	active, refused := c.Active(), c.Refused()
	grown := int64(mem()) - int64(before)
	t.Logf("%d served, %d refused, memory grown by %d KiB", active, refused, grown>>10)
	if active > maxConns || refused < dials-maxConns {
		t.Errorf("%d served, %d refused of %d; want ≤ %d served, the rest refused", active, refused, dials, maxConns)
	}
	// The client sockets of this process count too: 200 of them.
	if limit := int64(dials * perConn); grown > limit {
		t.Errorf("memory grew by %d KiB with %d idle connections, want ≤ %d KiB", grown>>10, dials, limit>>10)
	}
	// Every connection ends: the refused ones at once, the served ones
	// after the idle timeout. A read returns EOF or a reset.
	var closed int
	for _, cn := range conns {
		cn.SetReadDeadline(time.Now().Add(10 * time.Second))
		var b [1]byte
		if _, err := cn.Read(b[:]); err != nil && !isTimeout(err) {
			closed++
		}
	}
	if closed != dials {
		t.Errorf("%d of %d idle connections closed by the collector", closed, dials)
	}
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end) && c.Active() > 0; time.Sleep(10 * time.Millisecond) {
	}
	if a := c.Active(); a != 0 {
		t.Errorf("%d connections still served after the idle timeout", a)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
