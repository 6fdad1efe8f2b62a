package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/rtcell/rtcell/rt/shm"
)

// ackTimeout bounds the wait for one ack: a collector that stops
// answering ends the forwarding instead of hanging the gateway.
const ackTimeout = 10 * time.Second

// forwarder is the non-RT consumer of the sample ring: it pops batches
// and sends them to the collector, one frame in flight at a time. When
// the collector is slow, the forwarder waits on it, the ring fills, and
// the ring's policy decides what the RT side loses; the RT side never
// waits.
type forwarder struct {
	ring  *shm.Ring[Sample]
	conn  net.Conn
	batch []Sample
	buf   []byte

	ack    Ack    // the collector's last ack
	popped uint64 // samples taken from the ring
	frames uint64 // frames acknowledged
}

func newForwarder(ring *shm.Ring[Sample], conn net.Conn, maxBatch int) *forwarder {
	return &forwarder{
		ring:  ring,
		conn:  conn,
		batch: make([]Sample, maxBatch),
		buf:   make([]byte, 0, headerBytes+maxBatch*sampleBytes),
	}
}

// sendOne pops up to one batch and sends it, waiting for the ack. It
// returns the number of samples sent (0: the ring was empty).
func (f *forwarder) sendOne() (int, error) {
	n := f.ring.PopBatch(f.batch)
	if n == 0 {
		return 0, nil
	}
	f.popped += uint64(n)
	f.buf = appendFrame(f.buf[:0], f.batch[:n])
	f.conn.SetDeadline(time.Now().Add(ackTimeout))
	if _, err := f.conn.Write(f.buf); err != nil {
		return 0, fmt.Errorf("sending %d samples to the collector: %w", n, err)
	}
	a, err := readAck(f.conn, f.ack)
	if err != nil {
		return 0, err
	}
	f.ack = a
	f.frames++
	return n, nil
}

// run forwards every interval until ctx ends: each tick it sends batches
// until the ring has less than a full batch left.
func (f *forwarder) run(ctx context.Context, interval time.Duration) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		for ctx.Err() == nil {
			n, err := f.sendOne()
			if err != nil {
				return err
			}
			if n < len(f.batch) {
				break
			}
		}
	}
}

// drain sends what is left in the ring, until it is empty or the
// deadline passes.
func (f *forwarder) drain(deadline time.Time) error {
	for time.Now().Before(deadline) {
		n, err := f.sendOne()
		if err != nil || n == 0 {
			return err
		}
	}
	return nil
}
