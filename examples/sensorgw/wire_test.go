package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	in := []Sample{{0, 100, Sensor(0)}, {1, 600, -3.5}, {1 << 63, -1, 1e300}}
	b := appendFrame(nil, in)
	if len(b) != headerBytes+len(in)*sampleBytes {
		t.Fatalf("frame of %d bytes, want %d", len(b), headerBytes+len(in)*sampleBytes)
	}
	dst := make([]Sample, MaxBatch)
	buf := make([]byte, MaxBatch*sampleBytes)
	r := bytes.NewReader(append(b, appendFrame(nil, in[:1])...))
	n, err := readFrame(r, dst, buf)
	if err != nil || n != 3 {
		t.Fatalf("readFrame: %d, %v", n, err)
	}
	for i := range in {
		if dst[i] != in[i] {
			t.Errorf("sample %d: %+v, want %+v", i, dst[i], in[i])
		}
	}
	if n, err := readFrame(r, dst, buf); n != 1 || err != nil || dst[0] != in[0] {
		t.Errorf("second frame: %d %v %+v", n, err, dst[0])
	}
	if _, err := readFrame(r, dst, buf); err != io.EOF {
		t.Errorf("at the end: %v, want io.EOF", err)
	}
}

func TestReadFrameMalformed(t *testing.T) {
	count := func(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty stream", nil, io.EOF},
		{"short header", []byte{0, 0}, io.ErrUnexpectedEOF},
		{"zero samples", count(0), ErrFrame},
		{"too many samples", count(MaxBatch + 1), ErrFrame},
		{"huge count", count(0xffffffff), ErrFrame},
		{"truncated body", append(count(2), make([]byte, sampleBytes+3)...), io.ErrUnexpectedEOF},
		{"header only", count(1), io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readFrame(bytes.NewReader(tc.in), make([]Sample, MaxBatch), make([]byte, MaxBatch*sampleBytes))
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestReadAck(t *testing.T) {
	a := Ack{Received: 10, Missing: 2, OutOfOrder: 1, Corrupt: 0}
	b := a.encode()
	got, err := readAck(bytes.NewReader(b[:]), Ack{Received: 5}, 5)
	if err != nil || got != a {
		t.Fatalf("readAck: %+v, %v; want %+v", got, err, a)
	}
	for _, tc := range []struct {
		name string
		prev Ack
		n    int
	}{
		{"below the previous one", Ack{Received: 11}, 1},
		{"more than was sent", Ack{Received: 5}, 4},
		{"less than was sent", Ack{Received: 5}, 6},
		{"more than was ever sent", Ack{}, 3},
		{"missing going down", Ack{Received: 9, Missing: 3}, 1},
	} {
		if got, err := readAck(bytes.NewReader(b[:]), tc.prev, tc.n); !errors.Is(err, ErrFrame) || got != tc.prev {
			t.Errorf("an ack %s: %+v, %v; want ErrFrame and the previous ack", tc.name, got, err)
		}
	}
	bad := Ack{Received: 10, OutOfOrder: 5}.encode()
	if _, err := readAck(bytes.NewReader(bad[:]), Ack{Received: 9}, 1); !errors.Is(err, ErrFrame) {
		t.Errorf("an ack with more out of order than sent: %v, want ErrFrame", err)
	}
	// The underflow of issue 13: an ack far beyond what was sent.
	huge := Ack{Received: 1<<64 - 99_998_000}.encode()
	if _, err := readAck(bytes.NewReader(huge[:]), Ack{Received: 2000}, 64); !errors.Is(err, ErrFrame) {
		t.Errorf("a huge ack: %v, want ErrFrame", err)
	}
	if _, err := readAck(bytes.NewReader(b[:20]), Ack{}, 10); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a short ack: %v, want io.ErrUnexpectedEOF", err)
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add(appendFrame(nil, []Sample{{1, 2, 3}}))
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	dst := make([]Sample, MaxBatch)
	buf := make([]byte, MaxBatch*sampleBytes)
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			n, err := readFrame(r, dst, buf)
			if err != nil {
				return
			}
			if n < 1 || n > MaxBatch {
				t.Fatalf("accepted a frame of %d samples", n)
			}
			// What was accepted re-encodes to the same bytes.
			enc := appendFrame(nil, dst[:n])
			consumed := len(b) - r.Len()
			if !bytes.Equal(enc, b[consumed-len(enc):consumed]) {
				t.Fatalf("frame does not round-trip")
			}
		}
	})
}
