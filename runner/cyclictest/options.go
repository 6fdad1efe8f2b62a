package cyclictest

import (
	"fmt"
	"os/exec"
	"strconv"
	"time"
)

// Options configures one cyclictest run: one thread, pinned, SCHED_FIFO.
type Options struct {
	// CPU is the CPU the measurement thread is pinned to (-a).
	CPU int
	// Priority is the SCHED_FIFO priority, 1..99 (-p). Zero means 90.
	Priority int
	// Interval is the period, in whole µs (-i). Zero means 1 ms.
	Interval time.Duration
	// Loops is the number of cycles (-l). Zero runs until ctx is done.
	Loops int
	// HistogramUS is the histogram size in µs (-h): latencies beyond it
	// count as overflow. Zero means 1000.
	HistogramUS int
	// Path is the cyclictest binary; empty means "cyclictest" from PATH.
	Path string
	// WorkDir is the directory in which Run makes the temporary
	// directory, rtcell-cyclictest-PID-*, that cyclictest writes its
	// files into; empty means os.TempDir(). Run removes that directory
	// when it returns, and at its start removes the ones in WorkDir
	// whose owner PID is gone (see SweepStale).
	WorkDir string
}

// args returns the command line for o, with the results written to
// jsonPath and histPath. It checks the values.
func (o Options) args(jsonPath, histPath string) ([]string, error) {
	prio := o.Priority
	if prio == 0 {
		prio = 90
	}
	interval := o.Interval
	if interval == 0 {
		interval = time.Millisecond
	}
	hist := o.HistogramUS
	if hist == 0 {
		hist = 1000
	}
	switch {
	case prio < 1 || prio > 99:
		return nil, fmt.Errorf("checking options: priority %d: want 1..99 (SCHED_FIFO): %w", o.Priority, ErrInvalid)
	case interval < time.Microsecond:
		return nil, fmt.Errorf("checking options: interval %v: want at least 1µs: %w", o.Interval, ErrInvalid)
	case o.Loops < 0:
		return nil, fmt.Errorf("checking options: loops %d: want ≥ 0 (0 runs until cancelled): %w", o.Loops, ErrInvalid)
	case hist < 1 || hist > maxBins:
		return nil, fmt.Errorf("checking options: histogram %d µs: want 1..%d: %w", o.HistogramUS, maxBins, ErrInvalid)
	case o.CPU < 0:
		return nil, fmt.Errorf("checking options: cpu %d: want ≥ 0: %w", o.CPU, ErrInvalid)
	}
	return []string{
		"-m",
		"-p", strconv.Itoa(prio),
		"-i", strconv.FormatInt(interval.Microseconds(), 10),
		"-l", strconv.Itoa(o.Loops),
		"-q",
		"-t", "1",
		"-a", strconv.Itoa(o.CPU),
		"-h", strconv.Itoa(hist),
		"--histfile=" + histPath,
		"--json=" + jsonPath,
	}, nil
}

// LookPath resolves path, or "cyclictest" when it is empty, through
// PATH. A missing binary gives an error wrapping ErrNotInstalled, whose
// text says how to install it.
func LookPath(path string) (string, error) {
	if path == "" {
		path = "cyclictest"
	}
	bin, err := exec.LookPath(path)
	if err != nil {
		return "", fmt.Errorf("looking up %q: %w", path, ErrNotInstalled)
	}
	return bin, nil
}
