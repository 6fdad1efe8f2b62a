package rt

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// Environment values that put the Go runtime into the mode an RT loop needs.
// They must be present when the process starts: the runtime reads GODEBUG
// and GOGC once, at start-up (see Reexec).
const (
	EnvGOMAXPROCS = "GOMAXPROCS"
	EnvGODEBUG    = "GODEBUG"
	EnvGOGC       = "GOGC"
	EnvGOMEMLIMIT = "GOMEMLIMIT"
	// DefaultMemoryLimit guards a GC-off process: the GC comes back only if
	// the heap grows past it, which an allocation-free loop never does.
	DefaultMemoryLimit = 256 << 20
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
var startGODEBUG = os.Getenv(EnvGODEBUG)

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

// RTEnviron returns env (in os.Environ form) with the RT runtime settings
// added: GOMAXPROCS=1, asyncpreemptoff=1 appended to any GODEBUG, GOGC=off
// and GOMEMLIMIT=memLimit bytes (DefaultMemoryLimit when memLimit <= 0).
// Use it to start an RT worker process.
func RTEnviron(env []string, memLimit int64) []string {
	if memLimit <= 0 {
		memLimit = DefaultMemoryLimit
	}
	out := make([]string, 0, len(env)+4)
	godebug := ""
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case EnvGOMAXPROCS, EnvGOGC, EnvGOMEMLIMIT:
			continue
		case EnvGODEBUG:
			godebug = v
			continue
		}
		out = append(out, kv)
	}
	if godebug != "" {
		godebug += ","
	}
	godebug += "asyncpreemptoff=1"
	return append(out,
		EnvGOMAXPROCS+"=1",
		EnvGODEBUG+"="+godebug,
		EnvGOGC+"=off",
		EnvGOMEMLIMIT+"="+strconv.FormatInt(memLimit, 10),
	)
}

// Reexec replaces the current process with a fresh copy of its own binary
// (/proc/self/exe) whose environment holds the RT runtime settings (see
// RTEnviron), unless they are already in effect, in which case it returns
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
	env := append(RTEnviron(os.Environ(), memLimitFromEnv()), envReexeced+"=1")
	return reexec(env)
}

const envReexeced = "RTCELL_REEXECED"

func memLimitFromEnv() int64 {
	if v, err := strconv.ParseInt(os.Getenv(EnvGOMEMLIMIT), 10, 64); err == nil && v > 0 && v < math.MaxInt64 {
		return v
	}
	return DefaultMemoryLimit
}
