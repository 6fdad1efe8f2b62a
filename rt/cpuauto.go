package rt

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/rtcell/rtcell/rt/cpulist"
)

// sysRoot is where AutoCPU reads the online and isolated CPUs.
var sysRoot = "/sys"

// AutoCPU is the CPU a loop whose ThreadOptions.CPU is left at auto is
// pinned to: the first isolated CPU that is online, else the last online
// CPU (cpulist.Auto), read from /sys/devices/system/cpu. Where that
// cannot be read it is the last CPU the Go runtime counts.
func AutoCPU() int { return autoCPU(nil) }

func autoCPU(taken func(int) bool) int {
	dir := filepath.Join(sysRoot, "devices/system/cpu")
	read := func(name string) []int {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil
		}
		cpus, err := cpulist.Parse(strings.TrimSpace(string(b)))
		if err != nil {
			return nil
		}
		return cpus
	}
	if c, ok := cpulist.Auto(read("online"), read("isolated"), taken); ok {
		return c
	}
	return runtime.NumCPU() - 1
}
