package cyclictest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rtcell/rtcell/rt/child"
)

// stopGrace is how long Run waits for cyclictest to write its results
// after SIGINT before it kills it.
const stopGrace = 5 * time.Second

// Run runs cyclictest once with
//
//	cyclictest -m -p P -i µs -l N -q -t 1 -a CPU -h H --histfile=F --json=J
//
// and returns its parsed result, with both files' text (Result.JSONText,
// HistText) for the caller to keep. J and F live in a temporary directory
// under o.WorkDir that Run removes; before it makes one, Run removes the
// directories that runs killed before they could clean up left there
// (SweepStale). The JSON file lacks the overflow cycle numbers, so Run
// takes them, and checks the overflow counts, from the histogram file.
//
// cyclictest is started through rt/child: in a process group of its own,
// with SIGKILL as its parent-death signal. If this process is killed,
// SIGKILL included, the kernel kills cyclictest too, so that no
// SCHED_FIFO thread is left spinning its loop on the measured CPU.
//
// cyclictest needs root (or CAP_SYS_NICE for -p and CAP_IPC_LOCK for -m);
// without it Run fails with ErrPermission. It sets /dev/cpu_dma_latency to
// 0 while it runs, which keeps every CPU out of deep C-states: a
// process-wide, box-wide side effect that ends with the run. A missing
// binary gives ErrNotInstalled, a non-zero exit ErrFailed with
// cyclictest's stderr.
//
// When ctx is done before the loops are complete, Run sends SIGINT, on
// which cyclictest stops and writes its results; Run then returns that
// partial result together with an error wrapping ctx.Err(). With Loops 0
// this is the only way the run ends.
func Run(ctx context.Context, o Options) (*Result, error) {
	bin, err := LookPath(o.Path)
	if err != nil {
		return nil, err
	}
	parent := o.WorkDir
	if parent == "" {
		parent = os.TempDir()
	}
	// A failed sweep leaves old directories behind; it must not stop
	// the measurement.
	_, _ = SweepStale(parent)
	dir, err := os.MkdirTemp(parent, fmt.Sprintf("%s%d-*", workPrefix, os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("creating a directory for cyclictest's results: %w", err)
	}
	defer os.RemoveAll(dir)
	jsonPath, histPath := filepath.Join(dir, "result.json"), filepath.Join(dir, "hist.txt")
	args, err := o.args(jsonPath, histPath)
	if err != nil {
		return nil, err
	}
	cmdline := bin + " " + strings.Join(args, " ")
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	p, err := child.Start(cmd)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", cmdline, err)
	}
	select {
	case <-p.Done():
	case <-ctx.Done():
		stop(p)
	}
	runErr := p.Wait()
	if runErr != nil && ctx.Err() == nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "Unable to change scheduling policy") || strings.Contains(msg, "mlockall") {
			return nil, fmt.Errorf("running %s: %w: cyclictest needs root, or CAP_SYS_NICE and CAP_IPC_LOCK: run as root: %s", cmdline, ErrPermission, oneLine(msg))
		}
		if msg == "" && strings.Contains(stdout.String(), "Usage:") {
			msg = "it printed its usage: check that CPU " + fmt.Sprint(o.CPU) + " exists"
		}
		return nil, fmt.Errorf("running %s: %w: %w: %s", cmdline, ErrFailed, runErr, oneLine(msg))
	}
	res, err := readResults(jsonPath, histPath)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("running %s: stopped by %w before it wrote results: %w", cmdline, ctx.Err(), err)
		}
		return nil, fmt.Errorf("running %s: %w (stderr: %s)", cmdline, err, oneLine(strings.TrimSpace(stderr.String())))
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("running %s: stopped early after %d cycles: %w", cmdline, res.Threads[0].Cycles, ctx.Err())
	}
	return res, nil
}

// stop asks cyclictest to end with SIGINT, on which it writes its
// results, and kills it if it has not exited after stopGrace.
func stop(p *child.Process) {
	p.Signal(syscall.SIGINT)
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-p.Done():
	case <-t.C:
		p.Signal(syscall.SIGKILL)
		<-p.Done()
	}
}

// readResults parses the JSON file and completes it from the histogram
// file.
func readResults(jsonPath, histPath string) (*Result, error) {
	jf, err := os.Open(jsonPath)
	if err != nil {
		return nil, fmt.Errorf("reading cyclictest's json: %w", err)
	}
	defer jf.Close()
	jsonText, err := io.ReadAll(jf)
	if err != nil {
		return nil, fmt.Errorf("reading cyclictest's json: %w", err)
	}
	res, err := ParseJSON(bytes.NewReader(jsonText))
	if err != nil {
		return nil, err
	}
	hf, err := os.Open(histPath)
	if err != nil {
		return nil, fmt.Errorf("reading cyclictest's histogram: %w", err)
	}
	defer hf.Close()
	histText, err := io.ReadAll(hf)
	if err != nil {
		return nil, fmt.Errorf("reading cyclictest's histogram: %w", err)
	}
	h, err := ParseHistogram(bytes.NewReader(histText))
	if err != nil {
		return nil, err
	}
	if err := merge(res, h); err != nil {
		return nil, err
	}
	res.JSONText, res.HistText = jsonText, histText
	return res, nil
}

// merge copies the overflow cycle numbers from h into res and checks that
// both files describe the same run.
func merge(res *Result, h *Histogram) error {
	if h.Threads != len(res.Threads) {
		return fmt.Errorf("merging cyclictest results: json has %d threads, histogram %d: %w", len(res.Threads), h.Threads, ErrMalformed)
	}
	for i := range res.Threads {
		t := &res.Threads[i]
		if t.Overflow != h.Overflows[i] {
			return fmt.Errorf("merging cyclictest results: thread %d: json implies %d overflows, histogram says %d: %w", i, t.Overflow, h.Overflows[i], ErrMalformed)
		}
		t.OverflowCycles = h.OverflowCycles[i]
	}
	return nil
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	if s == "" {
		return "no output on stderr"
	}
	return s
}
