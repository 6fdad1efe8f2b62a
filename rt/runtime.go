package rt

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/rtcell/rtcell/rt/internal/worker"
)

// RuntimeSettings says which of the Go runtime settings an RT loop needs are
// in effect in this process, and why each is needed:
//
//   - GOMAXPROCS=1: no second P, so no other goroutine runs in parallel and
//     steals cache, memory bandwidth or locks from the loop.
//   - GODEBUG=asyncpreemptoff=1: sysmon never sends SIGURG to the loop's
//     thread, so a cycle is never interrupted by a signal handler.
//   - GOGC=off: the garbage collector never runs; its stop-the-world phases
//     and mark assists cost milliseconds in a one-P process (NOTES.md).
type RuntimeSettings struct {
	GOMAXPROCS      int    `json:"gomaxprocs"`
	AsyncPreemptOff bool   `json:"asyncpreemptoff"`
	GOGC            string `json:"gogc"` // "off" or the percentage
	MemoryLimit     int64  `json:"memory_limit"`
}

// OK reports whether all three settings an RT loop needs are in effect.
func (s RuntimeSettings) OK() bool {
	return s.GOMAXPROCS == 1 && s.AsyncPreemptOff && s.GOGC == "off"
}

// Missing lists, in words, the settings that are not in effect.
func (s RuntimeSettings) Missing() []string {
	var m []string
	if s.GOMAXPROCS != 1 {
		m = append(m, fmt.Sprintf("GOMAXPROCS is %d, want 1", s.GOMAXPROCS))
	}
	if !s.AsyncPreemptOff {
		m = append(m, "GODEBUG lacks asyncpreemptoff=1")
	}
	if s.GOGC != "off" {
		m = append(m, fmt.Sprintf("GOGC is %s, want off", s.GOGC))
	}
	return m
}

// String formats the settings as a short line for reports.
func (s RuntimeSettings) String() string {
	a := "on"
	if !s.AsyncPreemptOff {
		a = "off"
	}
	return fmt.Sprintf("GOMAXPROCS=%d asyncpreemptoff=%s GOGC=%s", s.GOMAXPROCS, a, s.GOGC)
}

// CurrentRuntimeSettings reads the settings in effect in this process.
// GOMAXPROCS and GOGC are read back from the runtime itself (GOGC by
// setting and restoring the GC percentage, which has no other effect).
// asyncpreemptoff is read from GODEBUG as the runtime parsed it at
// start-up: the last asyncpreemptoff= entry wins, as in the runtime.
func CurrentRuntimeSettings() RuntimeSettings {
	pct := debug.SetGCPercent(-1)
	debug.SetGCPercent(pct)
	lim := debug.SetMemoryLimit(-1)
	gogc := "off"
	if pct >= 0 {
		gogc = strconv.Itoa(pct)
	}
	return RuntimeSettings{
		GOMAXPROCS:      runtime.GOMAXPROCS(0),
		AsyncPreemptOff: asyncPreemptOff(startGODEBUG),
		GOGC:            gogc,
		MemoryLimit:     lim,
	}
}

// startGODEBUG is GODEBUG as it was when the process started: later
// os.Setenv calls do not change what the runtime uses.
var startGODEBUG = os.Getenv(worker.EnvGODEBUG)

// asyncPreemptOff parses a GODEBUG value the way the runtime does:
// comma-separated key=value pairs, the last one for a key wins.
func asyncPreemptOff(godebug string) bool {
	on := false
	for _, kv := range strings.Split(godebug, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if ok && k == "asyncpreemptoff" {
			on = v == "1"
		}
	}
	return on
}

// Reexec replaces the current process with a fresh copy of its own binary
// (/proc/self/exe) whose environment holds the RT runtime settings
// (GOMAXPROCS=1, GODEBUG=asyncpreemptoff=1, GOGC=off, and GOMEMLIMIT as a
// guard, 256 MiB unless set), unless they are already in effect, in which case it returns
// nil at once. On success it does not return. It is how a program makes
// asyncpreemptoff=1 take effect: the runtime reads GODEBUG only at
// start-up, and `//go:debug asyncpreemptoff=1` is not accepted.
//
// Call it first thing in main, before starting goroutines or opening
// files you do not want to lose: exec keeps the PID and open descriptors
// without O_CLOEXEC, and drops everything else.
func Reexec() error {
	if CurrentRuntimeSettings().OK() {
		return nil
	}
	if os.Getenv(envReexeced) != "" {
		// A second pass that still lacks the settings would loop forever.
		return fmt.Errorf("re-executing with RT runtime settings: still missing after exec (%s): %w",
			strings.Join(CurrentRuntimeSettings().Missing(), "; "), ErrRuntimeSettings)
	}
	env := append(worker.Environ(os.Environ(), worker.MemoryLimitFromEnv()), envReexeced+"=1")
	return reexec(env)
}

const envReexeced = "RTCELL_REEXECED"
