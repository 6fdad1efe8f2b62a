package sysprep

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtcell/rtcell/sysprep/internal/capture"
	"github.com/rtcell/rtcell/sysprep/internal/synth"
)

var (
	update    = flag.Bool("update", false, "rewrite testdata/synth-* trees and testdata/golden/*.json")
	doCapture = flag.Bool("capture", false, "recapture testdata/host-vm from this machine's /proc and /sys")
)

// synthTrees are the hand-made fixture trees under testdata: a
// well-configured PREEMPT_RT box and broken variants of it.
var synthTrees = map[string]synth.Params{
	"synth-good": synth.Good(),
	"synth-irq-on-rt": func() synth.Params {
		p := synth.Good()
		p.IRQsOnRT = []int{30, 31}
		p.IRQNames = map[int]string{30: "eth1-fieldbus", 31: "ahci[0000:00:17.0]"}
		return p
	}(),
	"synth-throttle": func() synth.Params {
		p := synth.Good()
		p.Throttle = true
		return p
	}(),
	"synth-noiso": func() synth.Params {
		p := synth.Good()
		p.Isolate = false
		return p
	}(),
	// A Debian box as installed: the RT kernel and nothing tuned, booted
	// by systemd-boot.
	"synth-untuned": func() synth.Params {
		p := synth.Good()
		p.Isolate, p.Throttle, p.Untuned, p.Bootloader = false, true, true, "systemd-boot"
		return p
	}(),
}

// TestSynthFixtures keeps testdata/synth-* equal to what the generator
// writes; `go test ./sysprep -run TestSynthFixtures -update` rewrites them.
func TestSynthFixtures(t *testing.T) {
	for name, p := range synthTrees {
		dir := filepath.Join("testdata", name)
		if *update {
			if err := synth.Write(dir, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		for rel, want := range synth.Files(p) {
			path := filepath.Join(dir, filepath.FromSlash(rel))
			switch {
			case want == "\x00dir":
				if st, err := os.Stat(path); err != nil || !st.IsDir() {
					t.Errorf("%s: want a directory (run with -update): %v", path, err)
				}
				// Git keeps an empty directory only with a file in it.
				if _, err := os.Stat(filepath.Join(path, ".gitkeep")); err != nil {
					t.Errorf("%s: no .gitkeep, a clone would lose it (run with -update): %v", path, err)
				}
			case strings.HasPrefix(want, "\x00link:"):
				if got, err := os.Readlink(path); err != nil || got != strings.TrimPrefix(want, "\x00link:") {
					t.Errorf("%s: link %q, want %q (run with -update): %v", path, got, want, err)
				}
			default:
				if got, err := os.ReadFile(path); err != nil || string(got) != want {
					t.Errorf("%s is stale (run with -update): %v", path, err)
				}
			}
		}
	}
}

// TestCaptureHostVM recaptures testdata/host-vm from the live system when
// run with -capture.
func TestCaptureHostVM(t *testing.T) {
	if !*doCapture {
		t.Skip("recapture with: go test ./sysprep -run TestCaptureHostVM -capture")
	}
	if err := capture.Capture(DefaultProcRoot, DefaultSysRoot, filepath.Join("testdata", "host-vm")); err != nil {
		t.Fatal(err)
	}
}

// writeTree writes p into a temporary directory and returns its Env.
func writeTree(t testing.TB, p synth.Params) (Env, string) {
	t.Helper()
	dir := t.TempDir()
	if err := synth.Write(dir, p); err != nil {
		t.Fatal(err)
	}
	env, err := NewEnv(filepath.Join(dir, "proc"), filepath.Join(dir, "sys"))
	if err != nil {
		t.Fatal(err)
	}
	return env, dir
}
