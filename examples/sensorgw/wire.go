package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Wire protocol between the gateway and the collector, over one TCP
// connection, all integers big-endian:
//
//	gateway → collector, one frame per batch:
//	    count  uint32              number of samples, 1–MaxBatch
//	    count × { seq uint64, timestamp_ns int64, value float64 (IEEE 754 bits) }
//	collector → gateway, one ack per frame, once the frame is processed:
//	    received, missing, out_of_order, corrupt  uint64 × 4
//	    (running totals for the connection)
//
// The gateway sends the next frame only after the previous one's ack.
// That makes a slow collector slow the gateway down at once (rather than
// after the kernel's socket buffers, megabytes on loopback, have filled),
// and the last ack says exactly what the collector has.

// MaxBatch is the largest number of samples in a frame.
const MaxBatch = 4096

const (
	sampleBytes = 24
	headerBytes = 4
	ackBytes    = 32
)

// ErrFrame marks a malformed frame or ack.
var ErrFrame = errors.New("malformed frame")

// appendFrame appends the frame for samples to b.
func appendFrame(b []byte, samples []Sample) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(samples)))
	for _, s := range samples {
		b = binary.BigEndian.AppendUint64(b, s.Seq)
		b = binary.BigEndian.AppendUint64(b, uint64(s.TimestampNs))
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(s.Value))
	}
	return b
}

// readFrame reads one frame from r into dst (which must hold MaxBatch
// samples), using buf (MaxBatch*sampleBytes bytes) as scratch, and returns
// the number of samples. io.EOF means the connection ended between frames.
func readFrame(r io.Reader, dst []Sample, buf []byte) (int, error) {
	var h [headerBytes]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, err // io.EOF between frames is the normal end
	}
	n := int(binary.BigEndian.Uint32(h[:]))
	if n < 1 || n > MaxBatch || n > len(dst) {
		return 0, fmt.Errorf("frame of %d samples, want 1–%d: %w", n, min(MaxBatch, len(dst)), ErrFrame)
	}
	p := buf[:n*sampleBytes]
	if _, err := io.ReadFull(r, p); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, fmt.Errorf("reading a frame of %d samples: %w", n, err)
	}
	return decodeSamples(p, dst[:n]), nil
}

// decodeSamples decodes len(dst) samples from p, which holds exactly that
// many.
func decodeSamples(p []byte, dst []Sample) int {
	for i := range dst {
		q := p[i*sampleBytes:]
		dst[i] = Sample{
			Seq:         binary.BigEndian.Uint64(q),
			TimestampNs: int64(binary.BigEndian.Uint64(q[8:])),
			Value:       math.Float64frombits(binary.BigEndian.Uint64(q[16:])),
		}
	}
	return len(dst)
}

// Ack is the collector's running account of a connection.
type Ack struct {
	Received   uint64 // samples received
	Missing    uint64 // samples skipped by the sequence numbers (gaps)
	OutOfOrder uint64 // samples whose sequence number was not above the previous one
	Corrupt    uint64 // samples whose value is not Sensor(seq)
}

func (a Ack) encode() [ackBytes]byte {
	var b [ackBytes]byte
	binary.BigEndian.PutUint64(b[0:], a.Received)
	binary.BigEndian.PutUint64(b[8:], a.Missing)
	binary.BigEndian.PutUint64(b[16:], a.OutOfOrder)
	binary.BigEndian.PutUint64(b[24:], a.Corrupt)
	return b
}

// readAck reads the ack of a frame of n samples and checks it against
// the connection's previous ack. The collector acks each frame once it
// has processed it, so Received must grow by exactly n; an ack that says
// more was received than was sent (or less) is a protocol error, never
// a count to subtract from (an over-acking collector once made the loss
// counter underflow to 18446644073709553594). The other totals never go
// down; OutOfOrder and Corrupt grow by at most n.
func readAck(r io.Reader, prev Ack, n int) (Ack, error) {
	var b [ackBytes]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return prev, fmt.Errorf("reading the collector's ack: %w", err)
	}
	a := Ack{
		Received:   binary.BigEndian.Uint64(b[0:]),
		Missing:    binary.BigEndian.Uint64(b[8:]),
		OutOfOrder: binary.BigEndian.Uint64(b[16:]),
		Corrupt:    binary.BigEndian.Uint64(b[24:]),
	}
	if a.Received < prev.Received || a.Missing < prev.Missing || a.OutOfOrder < prev.OutOfOrder || a.Corrupt < prev.Corrupt {
		return prev, fmt.Errorf("ack %+v goes below the previous %+v: %w", a, prev, ErrFrame)
	}
	if a.Received-prev.Received != uint64(n) {
		return prev, fmt.Errorf("ack for %d samples after a frame of %d: %w", a.Received-prev.Received, n, ErrFrame)
	}
	if a.OutOfOrder-prev.OutOfOrder > uint64(n) || a.Corrupt-prev.Corrupt > uint64(n) {
		return prev, fmt.Errorf("ack %+v counts more bad samples than the %d sent since %+v: %w", a, n, prev, ErrFrame)
	}
	return a, nil
}
