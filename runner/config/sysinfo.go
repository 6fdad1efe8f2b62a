package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// SysInfo is what Parse needs to know about the machine: which CPUs
// exist and which are isolated from the scheduler (isolcpus=). Read it
// with ReadSysInfo, or build it by hand to check a config for another
// machine.
type SysInfo struct {
	Online   []int // CPUs in devices/system/cpu/online
	Isolated []int // CPUs in devices/system/cpu/isolated; may be empty
}

// maxCPU bounds CPU numbers in a cpulist, so that a corrupt "0-4000000000"
// cannot allocate gigabytes. Linux's NR_CPUS tops out at 8192.
const maxCPU = 1 << 16

// ReadSysInfo reads the online and isolated CPU lists under sysRoot,
// normally "/sys". A missing isolated file (kernels before 4.2) reads
// as no isolated CPU. It works on any OS with such a tree; it only
// reads files.
func ReadSysInfo(sysRoot string) (SysInfo, error) {
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

// parseCPUList parses the kernel's cpulist format ("0-3,8,10-11", an
// empty line for none) into sorted, distinct CPU numbers. It also
// accepts the stride form "0-15:2/4" (2 of every 4) that isolcpus= and
// cpusets take.
func parseCPUList(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	seen := map[int]bool{}
	var cpus []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		rng, stride, hasStride := strings.Cut(part, ":")
		lo, hi, isRange := strings.Cut(rng, "-")
		a, err := parseCPU(lo)
		if err != nil {
			return nil, fmt.Errorf("parsing cpulist %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = parseCPU(hi); err != nil {
				return nil, fmt.Errorf("parsing cpulist %q: %w", s, err)
			}
			if b < a {
				return nil, fmt.Errorf("parsing cpulist %q: range %q runs backwards: %w", s, rng, ErrInvalid)
			}
		}
		used, group := 1, 1
		if hasStride {
			if !isRange {
				return nil, fmt.Errorf("parsing cpulist %q: stride %q needs a range: %w", s, part, ErrInvalid)
			}
			u, g, ok := strings.Cut(stride, "/")
			if used, err = strconv.Atoi(u); err != nil || !ok {
				return nil, fmt.Errorf("parsing cpulist %q: stride %q is not N/M: %w", s, stride, ErrInvalid)
			}
			if group, err = strconv.Atoi(g); err != nil || used < 1 || group < 1 || used > group {
				return nil, fmt.Errorf("parsing cpulist %q: stride %q is not N/M with 1 ≤ N ≤ M: %w", s, stride, ErrInvalid)
			}
		}
		for c := a; c <= b; c++ {
			if (c-a)%group < used && !seen[c] {
				seen[c] = true
				cpus = append(cpus, c)
			}
		}
	}
	sort.Ints(cpus)
	return cpus, nil
}

func parseCPU(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || s[0] == '+' {
		return 0, fmt.Errorf("%q is not a CPU number: %w", s, ErrInvalid)
	}
	if n >= maxCPU {
		return 0, fmt.Errorf("CPU %d is above %d: %w", n, maxCPU-1, ErrInvalid)
	}
	return n, nil
}

// formatCPUList writes sorted, distinct CPUs in the kernel's cpulist
// form, "0-3,8"; "none" for an empty list.
func formatCPUList(cpus []int) string {
	if len(cpus) == 0 {
		return "none"
	}
	var b strings.Builder
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(cpus[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(cpus[j]))
		}
		i = j + 1
	}
	return b.String()
}
