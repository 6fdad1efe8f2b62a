package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/prometheus/procfs"

	"github.com/rtcell/rtcell/rt/cpulist"
)

// SysInfo is what Parse needs to know about the machine: which CPUs
// exist, which are isolated from the scheduler (isolcpus=), and how much
// memory the task processes may lock. Read it with ReadSysInfo, or build
// it by hand to check a config for another machine.
type SysInfo struct {
	Online   []int // CPUs in devices/system/cpu/online
	Isolated []int // CPUs in devices/system/cpu/isolated; may be empty
	// MemAvailableBytes is MemAvailable from meminfo: memory the kernel
	// can hand out without swapping. 0 means unknown, and Parse skips
	// the memory check (see WorkerLockedBytes).
	MemAvailableBytes uint64
}

// maxCPU bounds CPU numbers in a cpulist, so that a corrupt "0-4000000000"
// cannot allocate gigabytes. Linux's NR_CPUS tops out at 8192.
const maxCPU = 1 << 16

// ReadSysInfo reads the online and isolated CPU lists under sysRoot,
// normally "/sys", and MemAvailable from meminfo under procRoot,
// normally "/proc". A missing isolated file (kernels before 4.2) reads
// as no isolated CPU, and a meminfo without MemAvailable (kernels before
// 3.14) as unknown memory. It works on any OS with such trees; it only
// reads files.
func ReadSysInfo(procRoot, sysRoot string) (SysInfo, error) {
	dir := filepath.Join(sysRoot, "devices", "system", "cpu")
	b, err := os.ReadFile(filepath.Join(dir, "online"))
	if err != nil {
		return SysInfo{}, fmt.Errorf("reading online CPUs (is %s a sysfs mount?): %w", sysRoot, err)
	}
	var si SysInfo
	if si.Online, err = parseCPUList(string(b)); err != nil {
		return SysInfo{}, fmt.Errorf("reading %s: %w", filepath.Join(dir, "online"), err)
	}
	if len(si.Online) == 0 {
		return SysInfo{}, fmt.Errorf("reading %s: %w", filepath.Join(dir, "online"), ErrNoCPUs)
	}
	if si.MemAvailableBytes, err = readMemAvailable(procRoot); err != nil {
		return SysInfo{}, err
	}
	b, err = os.ReadFile(filepath.Join(dir, "isolated"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return si, nil
	case err != nil:
		return SysInfo{}, fmt.Errorf("reading isolated CPUs: %w", err)
	}
	if si.Isolated, err = parseCPUList(string(b)); err != nil {
		return SysInfo{}, fmt.Errorf("reading %s: %w", filepath.Join(dir, "isolated"), err)
	}
	return si, nil
}

// readMemAvailable reads MemAvailable, in bytes, from procRoot/meminfo;
// 0 when the kernel does not report it.
func readMemAvailable(procRoot string) (uint64, error) {
	pfs, err := procfs.NewFS(procRoot)
	if err != nil {
		return 0, fmt.Errorf("reading available memory (is %s a procfs mount?): %w", procRoot, err)
	}
	mi, err := pfs.Meminfo()
	if err != nil {
		return 0, fmt.Errorf("reading available memory (is %s a procfs mount?): %w", procRoot, err)
	}
	if mi.MemAvailableBytes == nil {
		return 0, nil
	}
	return *mi.MemAvailableBytes, nil
}

// parseCPUList parses the kernel's cpulist format ("0-3,8,10-11", an
// empty line for none) into sorted, distinct CPU numbers. It also
// accepts the stride form "0-15:2/4" (2 of every 4) that isolcpus= and
// cpusets take.
func parseCPUList(s string) ([]int, error) {
	cpus, err := cpulist.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("parsing cpulist %q: %w: %w", s, err, ErrInvalid)
	}
	return cpus, nil
}

// formatCPUList writes sorted, distinct CPUs in the kernel's cpulist
// form, "0-3,8"; "none" for an empty list.
func formatCPUList(cpus []int) string {
	if len(cpus) == 0 {
		return "none"
	}
	return cpulist.Format(cpus)
}
