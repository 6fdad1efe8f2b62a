package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Connection limits of a Collector, when its fields are zero.
const (
	// DefaultMaxConns bounds the connections served at once: each costs
	// a goroutine and buffers, and without a bound anyone who can reach
	// the port can make the collector hold any number of them.
	DefaultMaxConns = 64
	// DefaultIdleTimeout closes a connection that sends no frame for
	// this long. A gateway sends at least every -interval while it has
	// samples; one that is silent this long is gone or never was one.
	DefaultIdleTimeout = 30 * time.Second
)

// Collector is the receiving end: it reads frames, checks every sample's
// sequence number and value, and acknowledges each frame with its running
// account. It is what a historian or a cloud uplink would be; Delay makes
// it slow, to show back-pressure.
type Collector struct {
	// Delay is spent on each frame before it is acknowledged.
	Delay time.Duration
	// MaxConns bounds the connections served at once (0:
	// DefaultMaxConns); one more is closed at once.
	MaxConns int
	// IdleTimeout closes a connection on which no frame arrives for this
	// long (0: DefaultIdleTimeout).
	IdleTimeout time.Duration
	// Logf, when set, gets one line per connection when it ends.
	Logf func(format string, args ...any)

	mu      sync.Mutex
	total   Ack
	active  atomic.Int64
	refused atomic.Uint64
}

// Total is the sum of the accounts of the connections that have ended.
func (c *Collector) Total() Ack {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// Active is the number of connections being served.
func (c *Collector) Active() int { return int(c.active.Load()) }

// Refused is the number of connections closed at once because MaxConns
// were being served.
func (c *Collector) Refused() uint64 { return c.refused.Load() }

// Serve accepts connections on ln until ctx ends, and serves each on its
// own goroutine. When ctx ends it closes ln and every connection, and
// returns once their accounts are in Total.
func (c *Collector) Serve(ctx context.Context, ln net.Listener) error {
	maxConns, idle := c.MaxConns, c.IdleTimeout
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
	)
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for conn := range conns {
			conn.Close()
		}
	})
	defer func() {
		stop()
		ln.Close()
		mu.Lock()
		for conn := range conns {
			conn.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("collector: accepting on %s: %w", ln.Addr(), err)
		}
		if c.active.Load() >= int64(maxConns) {
			c.refused.Add(1)
			conn.Close()
			continue
		}
		c.active.Add(1)
		mu.Lock()
		conns[conn] = true
		mu.Unlock()
		if ctx.Err() != nil { // AfterFunc may have run before the conn was listed
			conn.Close()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.active.Add(-1)
			defer func() {
				mu.Lock()
				delete(conns, conn)
				mu.Unlock()
				conn.Close()
			}()
			a, err := c.handle(conn, idle)
			c.mu.Lock()
			c.total.Received += a.Received
			c.total.Missing += a.Missing
			c.total.OutOfOrder += a.OutOfOrder
			c.total.Corrupt += a.Corrupt
			c.mu.Unlock()
			if c.Logf != nil {
				end := "closed"
				if err != nil {
					end = err.Error()
				}
				c.Logf("collector: %s %s: received %d, missing %d, out of order %d, corrupt %d",
					conn.RemoteAddr(), end, a.Received, a.Missing, a.OutOfOrder, a.Corrupt)
			}
		}()
	}
}

// account checks a connection's stream. Gaps are counted from the first
// sample of the connection on: a gateway that reconnects resumes where
// its last acknowledged frame ended, and what it dropped before is its
// own count, not a gap in this stream.
type account struct {
	Ack
	next  uint64 // the sequence number expected next
	begun bool   // a sample has arrived
}

func (a *account) add(s Sample) {
	a.Received++
	if !a.begun {
		a.begun, a.next = true, s.Seq
	}
	if s.Seq < a.next {
		a.OutOfOrder++
	} else {
		a.Missing += s.Seq - a.next
		a.next = s.Seq + 1
	}
	// The sensor is a pure function of seq; allow for a collector built
	// for another architecture (fused multiply-adds round differently).
	if v := Sensor(s.Seq); !(math.Abs(s.Value-v) <= 1e-9) {
		a.Corrupt++
	}
}

// handle serves one connection until the gateway closes it, or sends
// nothing for idle. An idle connection holds only a small read buffer:
// the frame buffers are allocated when the first frame arrives.
func (c *Collector) handle(conn net.Conn, idle time.Duration) (Ack, error) {
	r := bufio.NewReaderSize(conn, 4096)
	var dst []Sample
	var buf []byte
	var a account
	for {
		conn.SetReadDeadline(time.Now().Add(idle))
		if _, err := r.Peek(1); err != nil {
			if errors.Is(err, io.EOF) {
				return a.Ack, nil
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return a.Ack, fmt.Errorf("idle for %v: closed", idle)
			}
			return a.Ack, err
		}
		if dst == nil {
			dst, buf = make([]Sample, MaxBatch), make([]byte, MaxBatch*sampleBytes)
		}
		n, err := readFrame(r, dst, buf)
		if err != nil {
			return a.Ack, err
		}
		for _, s := range dst[:n] {
			a.add(s)
		}
		if c.Delay > 0 {
			time.Sleep(c.Delay)
		}
		b := a.Ack.encode()
		conn.SetWriteDeadline(time.Now().Add(idle))
		if _, err := conn.Write(b[:]); err != nil {
			return a.Ack, fmt.Errorf("sending an ack: %w", err)
		}
	}
}
