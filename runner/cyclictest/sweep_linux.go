package cyclictest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// workPrefix starts the name of Run's temporary directories, which go on
// with the owner's PID: rtcell-cyclictest-PID-RANDOM.
const workPrefix = "rtcell-cyclictest-"

// procRoot is where SweepStale looks up the owners' PIDs.
const procRoot = "/proc"

// SweepStale removes the directories rtcell-cyclictest-PID-* in dir whose
// owner, the process PID, is gone: runs that were killed (SIGKILL
// included) before they could remove their temporary directory. A
// process in state Z counts as gone: it will never clean up. The PID of
// a dead owner may have been reused by an unrelated process meanwhile;
// its directory then stays until that process is gone too, which errs on
// the side of never removing the files of a live run. It returns the
// directories it removed.
func SweepStale(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("sweeping stale cyclictest directories: %w", err)
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		pid, ok := ownerPID(e.Name())
		if !ok || !e.IsDir() || !processGone(pid) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("sweeping stale cyclictest directories: %w", err)
	}
	return removed, nil
}

// ownerPID parses the owner's PID from a name rtcell-cyclictest-PID-RANDOM.
func ownerPID(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, workPrefix)
	if !ok {
		return 0, false
	}
	pidText, random, ok := strings.Cut(rest, "-")
	if !ok || random == "" {
		return 0, false
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 || strconv.Itoa(pid) != pidText { // no sign, no leading zero
		return 0, false
	}
	return pid, true
}

// processGone reports whether pid has no process, or one in state Z or X.
func processGone(pid int) bool {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil {
		return false // unreadable: assume alive
	}
	// The state follows the comm, which is in parentheses and may
	// itself contain ") ".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return false
	}
	f := strings.Fields(string(b[i+1:]))
	return len(f) > 0 && (f[0] == "Z" || f[0] == "X")
}
