package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/rtcell/rtcell/rt/shm"
)

// ackTimeout bounds the wait for one ack: a collector that stops
// answering is treated as failed, and the forwarder reconnects.
const ackTimeout = 10 * time.Second

// Reconnection backoff: the first retry after a failure waits
// minBackoff, each failed attempt doubles the wait up to maxBackoff, and
// an acknowledged frame resets it. Capped so that a collector that comes
// back is found within 2 s; exponential so that a collector that stays
// away costs a few dials a second at most.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// nextBackoff returns the wait after a failed attempt that followed a
// wait of d (0: the first failure).
func nextBackoff(d time.Duration) time.Duration {
	if d < minBackoff {
		return minBackoff
	}
	return min(2*d, maxBackoff)
}

// errDisconnected says the forwarder has no connection and is waiting to
// dial again.
var errDisconnected = errors.New("no connection to the collector")

// forwarder is the non-RT consumer of the sample ring: it pops batches
// and sends them to the collector, one frame in flight at a time. When
// the collector is slow, the forwarder waits on it, the ring fills, and
// the ring's policy decides what the RT side loses; the RT side never
// waits.
//
// When the connection fails (a write or read error, no ack within
// ackTimeout, or an ack that is not a valid answer to the frame) the
// forwarder closes it and dials again with backoff. Meanwhile it pops
// nothing: the ring fills, and what its policy drops is counted by the
// ring. The batch that was sent but not acknowledged is kept and resent
// first on the new connection: no sample taken from the ring is lost,
// and a collector that received the frame but failed before its ack
// gets it twice (at-least-once delivery; its sequence numbers show the
// duplicates as out of order).
type forwarder struct {
	ring  *shm.Ring[Sample]
	dial  func(ctx context.Context) (net.Conn, error)
	conn  net.Conn // nil while disconnected
	batch []Sample
	buf   []byte
	logf  func(format string, args ...any)

	pending int  // batch[:pending] was popped and is not yet acknowledged
	sent    bool // batch[:pending] went out on a connection that then failed

	connAck Ack // the current connection's last ack (its running totals)
	backoff time.Duration
	retryAt time.Time // no dial before this
	lastErr error     // why the last connection or dial failed

	acked      Ack    // Received: samples acknowledged; the rest: the collector's counts, summed over connections
	popped     uint64 // samples taken from the ring
	frames     uint64 // frames acknowledged
	failures   uint64 // connections that failed (or dials refused)
	protoErrs  uint64 // acks that were not a valid answer (each closed its connection)
	reconnects uint64 // successful dials after a failure
	resent     uint64 // samples sent again after their connection failed before the ack
}

// newForwarder forwards ring to conn in batches of at most maxBatch;
// dial makes a new connection when conn (or a later one) fails.
func newForwarder(ring *shm.Ring[Sample], conn net.Conn, dial func(context.Context) (net.Conn, error), maxBatch int) *forwarder {
	return &forwarder{
		ring:  ring,
		dial:  dial,
		conn:  conn,
		batch: make([]Sample, maxBatch),
		buf:   make([]byte, 0, headerBytes+maxBatch*sampleBytes),
		logf:  func(string, ...any) {},
	}
}

// fail closes the connection after err and schedules the next dial.
func (f *forwarder) fail(err error) {
	if f.conn != nil {
		f.conn.Close()
		f.conn = nil
	}
	f.failures++
	f.lastErr = err
	f.backoff = nextBackoff(f.backoff)
	f.retryAt = time.Now().Add(f.backoff)
	f.logf("sensorgw: collector connection failed: %v; retrying in %v (%d samples held for resending)", err, f.backoff, f.pending)
}

// connect dials when disconnected and the backoff has passed.
func (f *forwarder) connect(ctx context.Context) error {
	if f.conn != nil {
		return nil
	}
	if time.Now().Before(f.retryAt) {
		return errDisconnected
	}
	dctx, cancel := context.WithTimeout(ctx, ackTimeout)
	conn, err := f.dial(dctx)
	cancel()
	if err != nil {
		f.fail(fmt.Errorf("dialling: %w", err))
		return errDisconnected
	}
	f.conn, f.connAck = conn, Ack{}
	f.reconnects++
	f.logf("sensorgw: reconnected to the collector after %d failures", f.failures)
	return nil
}

// sendOne sends the pending batch, or pops a new one and sends it, and
// waits for the ack. It returns the number of samples acknowledged (0:
// the ring was empty, or the connection is down, which err says with
// errDisconnected).
func (f *forwarder) sendOne(ctx context.Context) (int, error) {
	if f.pending == 0 {
		f.pending = f.ring.PopBatch(f.batch)
		f.popped += uint64(f.pending)
		f.sent = false
		if f.pending == 0 {
			return 0, nil
		}
	}
	if err := f.connect(ctx); err != nil {
		return 0, err
	}
	n := f.pending
	if f.sent {
		f.resent += uint64(n)
	}
	f.sent = true
	f.buf = appendFrame(f.buf[:0], f.batch[:n])
	f.conn.SetDeadline(time.Now().Add(ackTimeout))
	if _, err := f.conn.Write(f.buf); err != nil {
		f.fail(fmt.Errorf("sending %d samples: %w", n, err))
		return 0, errDisconnected
	}
	a, err := readAck(f.conn, f.connAck, n)
	if err != nil {
		if errors.Is(err, ErrFrame) {
			f.protoErrs++
		}
		f.fail(err)
		return 0, errDisconnected
	}
	f.acked.Received += uint64(n)
	f.acked.Missing += a.Missing - f.connAck.Missing
	f.acked.OutOfOrder += a.OutOfOrder - f.connAck.OutOfOrder
	f.acked.Corrupt += a.Corrupt - f.connAck.Corrupt
	f.connAck = a
	f.frames++
	f.pending, f.sent = 0, false
	f.backoff = 0
	return n, nil
}

// run forwards every interval until ctx ends: each tick it sends batches
// until the ring has less than a full batch left, or the connection is
// down (the next tick tries again, once the backoff has passed).
func (f *forwarder) run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for ctx.Err() == nil {
			n, err := f.sendOne(ctx)
			if err != nil || n < len(f.batch) {
				break
			}
		}
	}
}

// drain sends what is left in the ring, reconnecting if need be, until
// the ring is empty or the deadline passes. It returns an error when
// samples are left because the collector could not be reached.
func (f *forwarder) drain(deadline time.Time) error {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	for ctx.Err() == nil {
		n, err := f.sendOne(ctx)
		switch {
		case errors.Is(err, errDisconnected):
			select {
			case <-ctx.Done():
			case <-time.After(time.Until(f.retryAt)):
			}
		case n == 0:
			return nil
		}
	}
	if f.conn == nil && (f.pending > 0 || f.ring.Len() > 0) {
		return fmt.Errorf("the collector is unreachable with %d samples unsent: %w", f.pending+f.ring.Len(), f.lastErr)
	}
	return nil
}
