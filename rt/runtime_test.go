package rt

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/internal/worker"
)

func TestAsyncPreemptOffParse(t *testing.T) {
	for _, tc := range []struct {
		godebug string
		want    bool
	}{
		{"", false},
		{"asyncpreemptoff=1", true},
		{"asyncpreemptoff=0", false},
		{"gctrace=1,asyncpreemptoff=1", true},
		{"asyncpreemptoff=1,asyncpreemptoff=0", false},
		{"asyncpreemptoff=0,asyncpreemptoff=1", true},
		{" asyncpreemptoff=1 ", true},
		{"asyncpreemptoff", false},
		{"xasyncpreemptoff=1", false},
	} {
		if got := asyncPreemptOff(tc.godebug); got != tc.want {
			t.Errorf("asyncPreemptOff(%q) = %v, want %v", tc.godebug, got, tc.want)
		}
	}
}

func init() {
	children["settings"] = func() (any, error) { return CurrentRuntimeSettings(), nil }
}

// TestRuntimeSettingsDetected starts the test binary with and without the
// RT environment and checks what CurrentRuntimeSettings sees inside.
func TestRuntimeSettingsDetected(t *testing.T) {
	var on, off RuntimeSettings
	runChild(t, "settings", true, &on)
	if !on.OK() || on.GOMAXPROCS != 1 || !on.AsyncPreemptOff || on.GOGC != "off" || on.MemoryLimit != worker.DefaultMemoryLimit {
		t.Errorf("with the RT environment: %+v, want all in effect and a %d byte limit", on, worker.DefaultMemoryLimit)
	}
	t.Setenv("GODEBUG", "")
	t.Setenv("GOGC", "")
	t.Setenv("GOMAXPROCS", "2")
	runChild(t, "settings", false, &off)
	if off.OK() {
		t.Fatalf("without the RT environment: %+v reported as OK", off)
	}
	if m := strings.Join(off.Missing(), "; "); !strings.Contains(m, "GOMAXPROCS is 2") ||
		!strings.Contains(m, "asyncpreemptoff") || !strings.Contains(m, "GOGC is 100") {
		t.Errorf("Missing() = %q, want GOMAXPROCS, asyncpreemptoff and GOGC named", m)
	}
}

// TestLoopRefusesWithoutSettings: the test binary lacks the settings, so
// a loop must refuse unless allowed.
func TestLoopRefusesWithoutSettings(t *testing.T) {
	if CurrentRuntimeSettings().OK() {
		t.Skip("the test process already has the RT runtime settings")
	}
	l, err := NewLoop(LoopOptions{Period: time.Millisecond, Cycles: 3, Thread: testThread()}, func(*Cycle) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Run()
	if !errors.Is(err, ErrRuntimeSettings) {
		t.Fatalf("Run without the settings: err = %v, want ErrRuntimeSettings", err)
	}
	if !strings.Contains(err.Error(), "rt.Reexec") {
		t.Errorf("error %q does not say how to fix it", err)
	}
}
