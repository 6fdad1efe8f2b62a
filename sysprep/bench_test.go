package sysprep

import (
	"io"
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

// benchDryRun is what `sysprep apply --dry-run` does: a check run, the
// plan (reading every old value) and its printout.
func benchDryRun(b *testing.B, env Env) {
	b.Helper()
	for b.Loop() {
		rep, err := Run(env, Options{})
		if err != nil {
			b.Fatal(err)
		}
		p, err := PlanApply(env, rep, Options{}, ApplyOptions{Persist: true})
		if err != nil {
			b.Fatal(err)
		}
		if err := p.WriteDryRun(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyDryRunLive is apply --dry-run on this machine (bar: ≤ 100 ms).
func BenchmarkApplyDryRunLive(b *testing.B) {
	env, err := NewEnv("", "")
	if err != nil {
		b.Fatal(err)
	}
	benchDryRun(b, env)
}

// BenchmarkApplyDryRunLargeFixture is apply --dry-run on the 64-CPU,
// 2,000-IRQ tree of BenchmarkRunLargeFixture (bar: ≤ 100 ms).
func BenchmarkApplyDryRunLargeFixture(b *testing.B) {
	dir := b.TempDir()
	if err := synth.Write(dir, synth.Large()); err != nil {
		b.Fatal(err)
	}
	env, err := NewEnv(filepath.Join(dir, "proc"), filepath.Join(dir, "sys"))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	benchDryRun(b, env)
}

// BenchmarkApplyDryRunLargeUntuned is apply --dry-run on the same tree
// left untuned and unisolated, so that every IRQ, sysctl and mask has a
// change planned: the worst case.
func BenchmarkApplyDryRunLargeUntuned(b *testing.B) {
	dir := b.TempDir()
	p := synth.Large()
	p.Isolate, p.Untuned, p.Throttle = false, true, true
	if err := synth.Write(dir, p); err != nil {
		b.Fatal(err)
	}
	env, err := NewEnv(filepath.Join(dir, "proc"), filepath.Join(dir, "sys"))
	if err != nil {
		b.Fatal(err)
	}
	rep, _ := Run(env, Options{})
	plan, _ := PlanApply(env, rep, Options{}, ApplyOptions{Persist: true})
	if len(plan.Changes) < 2000 {
		b.Fatalf("only %d changes planned on the large untuned tree", len(plan.Changes))
	}
	b.ResetTimer()
	benchDryRun(b, env)
}
