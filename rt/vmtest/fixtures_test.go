//go:build vmtest

package vmtest

import (
	"bytes"
	"compress/gzip"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var capture = flag.Bool("capture", false, "boot the good and no-isolation scenarios and rewrite sysprep/testdata/rt-good and rt-noiso (make fixtures-rt)")

// fixtureBox is one fixture tree captured from a guest.
type fixtureBox struct {
	dir     string // under sysprep/testdata
	cmdline string
	setup   string // shell run before the capture
	// want maps fixture-relative files to their trimmed content, to
	// prove the tree came from the kernel and settings it claims.
	want map[string]string
}

var fixtureBoxes = []fixtureBox{
	{
		dir:     "rt-good",
		cmdline: goodCmdline,
		setup:   "sysctl -w kernel.sched_rt_runtime_us=-1 >/dev/null",
		want: map[string]string{
			"sys/kernel/realtime":                   "1",
			"sys/devices/system/cpu/isolated":       "1",
			"sys/devices/system/cpu/nohz_full":      "1",
			"proc/sys/kernel/sched_rt_runtime_us":   "-1",
			"proc/irq/default_smp_affinity":         "1",
			"sys/devices/system/cpu/online":         "0-1",
			"sys/devices/virtual/workqueue/cpumask": "1",
		},
	},
	{
		dir:     "rt-noiso",
		cmdline: noIsolationCmdline,
		want: map[string]string{
			"sys/kernel/realtime":                 "1",
			"sys/devices/system/cpu/isolated":     "",
			"sys/devices/system/cpu/nohz_full":    "(null)",
			"proc/sys/kernel/sched_rt_runtime_us": "950000",
			"sys/devices/system/cpu/online":       "0-1",
		},
	},
}

// TestCaptureFixtures rewrites sysprep/testdata/rt-good and rt-noiso
// from real PREEMPT_RT guests. It runs only with -capture.
func TestCaptureFixtures(t *testing.T) {
	if !*capture {
		t.Skip("rewrites sysprep/testdata/rt-good and rt-noiso: run `make fixtures-rt` (go test -tags vmtest -run TestCaptureFixtures ./rt/vmtest/ -capture)")
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := GoBinary(t, "./rt/vmtest/internal/fscapture")
	for _, box := range fixtureBoxes {
		t.Run(box.dir, func(t *testing.T) {
			r := MustBoot(t, Scenario{
				Name:    "capture-" + box.dir,
				Cmdline: box.cmdline,
				Init:    box.setup + "\nvm_run tree fscapture\n",
				Files:   map[string]string{bin: "/usr/local/bin/fscapture"},
			})
			tree := r.Must(t, "tree")
			if tree.RC != 0 {
				t.Fatalf("fscapture exited %d: %s (QEMU log: %s)", tree.RC, r.Must(t, "tree.stderr").Data, r.Log)
			}
			zr, err := gzip.NewReader(bytes.NewReader(tree.Data))
			if err != nil {
				t.Fatalf("fixture tar from the guest: %v (QEMU log: %s)", err, r.Log)
			}
			dest := filepath.Join(root, "sysprep", "testdata", box.dir)
			files, size, err := UnpackFixture(zr, dest)
			if err != nil {
				t.Fatalf("unpacking into %s: %v", dest, err)
			}
			t.Logf("%s: %d files, %d bytes (%d bytes gzipped over the console); left out: %s",
				dest, files, size, len(tree.Data), strings.TrimSpace(string(r.Must(t, "tree.stderr").Data)))
			for rel, want := range box.want {
				b, err := os.ReadFile(filepath.Join(dest, rel))
				if err != nil {
					t.Errorf("fixture lacks %s: %v", rel, err)
					continue
				}
				if got := strings.TrimSpace(string(b)); got != want {
					t.Errorf("fixture %s = %q, want %q", rel, got, want)
				}
			}
			self, err := os.Readlink(filepath.Join(dest, "proc", "self"))
			if err != nil {
				t.Fatalf("fixture proc/self is not a symlink: %v", err)
			}
			if _, err := os.Stat(filepath.Join(dest, "proc", self, "status")); err != nil {
				t.Errorf("fixture proc/self -> %s has no status: %v", self, err)
			}
		})
	}
}
