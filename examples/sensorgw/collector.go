package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"time"
)

// Collector is the receiving end: it reads frames, checks every sample's
// sequence number and value, and acknowledges each frame with its running
// account. It is what a historian or a cloud uplink would be; Delay makes
// it slow, to show back-pressure.
type Collector struct {
	// Delay is spent on each frame before it is acknowledged.
	Delay time.Duration
	// Logf, when set, gets one line per connection when it ends.
	Logf func(format string, args ...any)

	mu    sync.Mutex
	total Ack
}

// Total is the sum of the accounts of the connections that have ended.
func (c *Collector) Total() Ack {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// Serve accepts connections on ln until ctx ends, and serves each on its
// own goroutine. It closes ln.
func (c *Collector) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("collector: accepting on %s: %w", ln.Addr(), err)
		}
		go func() {
			defer conn.Close()
			a, err := c.handle(conn)
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

// account checks a connection's stream.
type account struct {
	Ack
	next uint64 // the sequence number expected next
}

func (a *account) add(s Sample) {
	a.Received++
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

// handle serves one connection until the gateway closes it.
func (c *Collector) handle(conn net.Conn) (Ack, error) {
	r := bufio.NewReaderSize(conn, 64<<10)
	dst := make([]Sample, MaxBatch)
	buf := make([]byte, MaxBatch*sampleBytes)
	var a account
	for {
		n, err := readFrame(r, dst, buf)
		if errors.Is(err, io.EOF) {
			return a.Ack, nil
		}
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
		if _, err := conn.Write(b[:]); err != nil {
			return a.Ack, fmt.Errorf("sending an ack: %w", err)
		}
	}
}
