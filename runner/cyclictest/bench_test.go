package cyclictest

import (
	"bytes"
	"testing"
)

func BenchmarkParseHistogram(b *testing.B) {
	in := open(b, "t1-h1000.hist")
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := ParseHistogram(bytes.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseJSON(b *testing.B) {
	in := open(b, "t1-h1000.json")
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := ParseJSON(bytes.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
}
