package cpulist

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ReadOnline reads the online CPUs from sysRoot/devices/system/cpu/online
// (sysRoot is normally /sys). The error names the file.
func ReadOnline(sysRoot string) ([]int, error) {
	path := filepath.Join(sysRoot, "devices", "system", "cpu", "online")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the online CPUs: %w", err)
	}
	cpus, err := Parse(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return cpus, nil
}
