package rttest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// statFields returns the fields of /proc/PID/stat after the command name
// (state first), or nil when the process does not exist.
func statFields(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

// ProcessGone reports whether process pid has exited: there is no such
// process, or it is a zombie. A child re-parented to a PID 1 that is not
// a full init may stay a zombie for seconds, so a test that checks that
// processes died must count state Z as dead rather than use kill -0.
func ProcessGone(pid int) bool {
	f := statFields(fmt.Sprintf("/proc/%d/stat", pid))
	return len(f) == 0 || f[0] == "Z" || f[0] == "X"
}

// Children lists the processes whose parent is pid, from /proc.
func Children(pid int) []int {
	var kids []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		f := statFields(p)
		if len(f) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == pid {
			n, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			kids = append(kids, n)
		}
	}
	return kids
}
