package cpulease

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// normalize returns cpus sorted and without duplicates. Locks are always
// taken in ascending CPU order: two processes that wait for {1,2} and
// {2,1} then cannot each hold one lock and wait for the other's.
func normalize(cpus []int) ([]int, error) {
	out := slices.Clone(cpus)
	for _, c := range out {
		if c < 0 {
			return nil, fmt.Errorf("leasing cpu %d: %w", c, ErrInvalid)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// parsePPid returns the PPid field of a /proc/PID/status file.
func parsePPid(status string) (int, error) {
	for _, line := range strings.Split(status, "\n") {
		v, ok := strings.CutPrefix(line, "PPid:")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return 0, fmt.Errorf("parsing PPid %q", strings.TrimSpace(v))
		}
		return n, nil
	}
	return 0, fmt.Errorf("no PPid line")
}

// fileID names an inode as /proc/locks does: device major and minor
// numbers and inode number.
type fileID struct {
	major, minor uint32
	ino          uint64
}

// parseLockHolder returns the PID that holds an exclusive flock on file
// id according to /proc/locks, or 0 if no such lock is listed. A line
// reads "1: FLOCK  ADVISORY  WRITE 4711 00:1a:1234 0 EOF", the device
// numbers in hex; lines of waiters carry "->" after the index.
func parseLockHolder(locks string, id fileID) int {
	for _, line := range strings.Split(locks, "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[1] != "FLOCK" || f[3] != "WRITE" {
			continue // blank, waiter ("->"), POSIX/OFD lock, or shared
		}
		dev := strings.Split(f[5], ":")
		if len(dev) != 3 {
			continue
		}
		maj, err1 := strconv.ParseUint(dev[0], 16, 32)
		mnr, err2 := strconv.ParseUint(dev[1], 16, 32)
		ino, err3 := strconv.ParseUint(dev[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || (fileID{uint32(maj), uint32(mnr), ino}) != id {
			continue
		}
		if pid, err := strconv.Atoi(f[4]); err == nil && pid > 0 {
			return pid
		}
	}
	return 0
}

// parsePIDFile returns the PID a holder wrote into its lock file, or 0.
func parsePIDFile(b []byte) int {
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
