package report

import (
	"io"
	"testing"
)

func BenchmarkWriteSVG(b *testing.B) {
	r := sampleReport(b, true)
	for b.Loop() {
		if err := WriteSVG(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteHistfile(b *testing.B) {
	r := sampleReport(b, true)
	for b.Loop() {
		if err := r.WriteHistfile(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
