//go:build vmtest && linux

package trace

import (
	"bytes"
	"compress/gzip"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/vmtest"
)

var captureRT = flag.String("capture-rt", "", "record these scenarios (hog, idle) in Debian's PREEMPT_RT guest into testdata/rt-NAME.{trace,json}")

// TestCaptureRT records fixtures on Debian's PREEMPT_RT kernel (6.1,
// whose trace lines have the lazy-preemption flag columns) under QEMU:
//
//	go test -tags vmtest ./rt/trace -run TestCaptureRT -capture-rt=hog -v
//
// The guest runs this package's test binary with -capture. Under TCG a
// cycle is late by ms without any disturber, so the hog spins 30 ms every
// 150 ms and the threshold is 10 ms.
func TestCaptureRT(t *testing.T) {
	if *captureRT == "" {
		t.Skip("records the RT guest's fixtures: run with -tags vmtest -capture-rt=hog")
	}
	bin := filepath.Join(t.TempDir(), "trace.test")
	build := exec.Command("go", "test", "-c", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the test binary for the guest: %v\n%s", err, out)
	}
	for _, sc := range strings.Split(*captureRT, ",") {
		t.Run(sc, func(t *testing.T) {
			job := `mkdir -p /tmp/cap
cd /tmp
vm_run capture taskset 0x3 /usr/local/bin/trace.test -test.run '^TestCapture$' -test.v -capture=` + sc + ` -capture-dir=/tmp/cap \
	-capture-threshold=10ms -capture-spin=30ms -capture-period=150ms -capture-try=8s -capture-tries=4
vm_run trace gzip -c /tmp/cap/` + sc + `.trace
vm_file json /tmp/cap/` + sc + `.json
vm_run uname uname -rv
`
			r := vmtest.MustBoot(t, vmtest.Scenario{
				Name:    "trace-capture-" + sc,
				Cmdline: "isolcpus=1 nohz_full=1 rcu_nocbs=1 irqaffinity=0",
				Init:    job,
				Files:   map[string]string{bin: "/usr/local/bin/trace.test"},
				Timeout: vmtest.DefaultTimeout,
			})
			t.Logf("guest: %s\n%s", r.Must(t, "uname").Data, r.Must(t, "capture").Data)
			if c := r.Must(t, "capture"); c.RC != 0 {
				t.Fatalf("capture exited %d: %s (QEMU log: %s)", c.RC, r.Must(t, "capture.stderr").Data, r.Log)
			}
			zr, err := gzip.NewReader(bytes.NewReader(r.Must(t, "trace").Data))
			if err != nil {
				t.Fatalf("trace from the guest: %v (QEMU log: %s)", err, r.Log)
			}
			tr, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			js := r.Must(t, "json")
			if js.RC != 0 {
				t.Fatalf("no breach JSON: %s", js.Data)
			}
			if err := os.WriteFile(filepath.Join("testdata", "rt-"+sc+".trace"), tr, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join("testdata", "rt-"+sc+".json"), js.Data, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("testdata/rt-%s.trace: %d bytes, captured in %v", sc, len(tr), r.Duration.Round(time.Second))
		})
	}
}
