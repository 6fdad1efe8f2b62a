package sysprep

import (
	"path/filepath"
	"testing"

	"github.com/rtcell/rtcell/sysprep/internal/synth"
)

// BenchmarkRunLive is a full run on this machine (bar: ≤ 50 ms).
func BenchmarkRunLive(b *testing.B) {
	env, err := NewEnv("", "")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Run(env, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunLargeFixture is a full run on a 64-CPU tree with 2,000 IRQs,
// each with its IRQ thread (bar: ≤ 200 ms). Writing the tree takes a while
// on a slow disk; TMPDIR=/dev/shm speeds the setup, not the measurement.
func BenchmarkRunLargeFixture(b *testing.B) {
	dir := b.TempDir()
	if err := synth.Write(dir, synth.Large()); err != nil {
		b.Fatal(err)
	}
	env, err := NewEnv(filepath.Join(dir, "proc"), filepath.Join(dir, "sys"))
	if err != nil {
		b.Fatal(err)
	}
	rep, err := Run(env, Options{})
	if err != nil {
		b.Fatal(err)
	}
	if rep.Host.RTCPUs != "32-63" || rep.Summary.Fail != 0 {
		b.Fatalf("large tree: RT CPUs %s, summary %+v", rep.Host.RTCPUs, rep.Summary)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Run(env, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
