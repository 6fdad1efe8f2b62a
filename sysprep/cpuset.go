package sysprep

import (
	"fmt"

	"github.com/rtcell/rtcell/rt/cpulist"
	"math/bits"
	"strconv"
	"strings"
)

// maxCPUs bounds CPU numbers, as the kernel's NR_CPUS does (8192 on
// Debian's amd64 kernels), so that hostile input cannot make a parser
// allocate without limit.
const maxCPUs = cpulist.MaxCPUs

// cpuSet is a set of CPU numbers, stored as a bitmap like the kernel's
// cpumask.
type cpuSet struct{ w []uint64 }

func newCPUSet(cpus ...int) cpuSet {
	var s cpuSet
	for _, c := range cpus {
		s.add(c)
	}
	return s
}

func (s *cpuSet) add(c int) {
	if c < 0 {
		return
	}
	i := c / 64
	for len(s.w) <= i {
		s.w = append(s.w, 0)
	}
	s.w[i] |= 1 << uint(c%64)
}

func (s cpuSet) has(c int) bool {
	i := c / 64
	return c >= 0 && i < len(s.w) && s.w[i]&(1<<uint(c%64)) != 0
}

func (s cpuSet) empty() bool {
	for _, w := range s.w {
		if w != 0 {
			return false
		}
	}
	return true
}

func (s cpuSet) count() int {
	n := 0
	for _, w := range s.w {
		n += bits.OnesCount64(w)
	}
	return n
}

func (s cpuSet) and(o cpuSet) cpuSet {
	r := cpuSet{w: make([]uint64, min(len(s.w), len(o.w)))}
	for i := range r.w {
		r.w[i] = s.w[i] & o.w[i]
	}
	return r
}

func (s cpuSet) or(o cpuSet) cpuSet {
	r := cpuSet{w: make([]uint64, max(len(s.w), len(o.w)))}
	for i := range r.w {
		if i < len(s.w) {
			r.w[i] |= s.w[i]
		}
		if i < len(o.w) {
			r.w[i] |= o.w[i]
		}
	}
	return r
}

func (s cpuSet) andNot(o cpuSet) cpuSet {
	r := cpuSet{w: append([]uint64(nil), s.w...)}
	for i := range r.w {
		if i < len(o.w) {
			r.w[i] &^= o.w[i]
		}
	}
	return r
}

func (s cpuSet) intersects(o cpuSet) bool { return !s.and(o).empty() }

// subsetOf reports whether every CPU of s is in o.
func (s cpuSet) subsetOf(o cpuSet) bool { return s.andNot(o).empty() }

func (s cpuSet) list() []int {
	var l []int
	for i, w := range s.w {
		for w != 0 {
			b := bits.TrailingZeros64(w)
			l = append(l, i*64+b)
			w &^= 1 << uint(b)
		}
	}
	return l
}

func (s cpuSet) last() int {
	for i := len(s.w) - 1; i >= 0; i-- {
		if s.w[i] != 0 {
			return i*64 + 63 - bits.LeadingZeros64(s.w[i])
		}
	}
	return -1
}

// String formats the set in kernel cpulist syntax, e.g. "0-3,6"; "" when empty.
func (s cpuSet) String() string { return FormatCPUList(s.list()) }

// mask formats the set as the kernel prints a cpumask: hex, in
// comma-separated 32-bit groups, most significant first, e.g. "3" or
// "00000001,00000000".
func (s cpuSet) mask() string {
	n := s.last() + 1
	if n == 0 {
		return "0"
	}
	groups := (n + 31) / 32
	parts := make([]string, groups)
	for g := 0; g < groups; g++ {
		var v uint32
		for b := 0; b < 32; b++ {
			if s.has(g*32 + b) {
				v |= 1 << uint(b)
			}
		}
		if g == groups-1 {
			parts[groups-1-g] = strconv.FormatUint(uint64(v), 16)
		} else {
			parts[groups-1-g] = fmt.Sprintf("%08x", v)
		}
	}
	return strings.Join(parts, ",")
}

// ParseCPUList parses a kernel cpulist such as "1-3,6" or "0-7:2/4"
// (every 2 of each group of 4) into sorted, unique CPU numbers. An empty
// string gives no CPUs.
func ParseCPUList(s string) ([]int, error) {
	set, err := parseCPUList(s)
	if err != nil {
		return nil, err
	}
	return set.list(), nil
}

// FormatCPUList formats CPU numbers in kernel cpulist syntax, e.g. "0-3,6".
func FormatCPUList(cpus []int) string { return cpulist.Format(cpus) }

// parseCPUNumber parses one CPU number, with a cpulist's bounds.
func parseCPUNumber(s string) (int, error) {
	if strings.ContainsAny(s, "-,: \t\n") {
		return 0, fmt.Errorf("cpu number %s: %w", quote(s), ErrMalformed)
	}
	cpus, err := cpulist.Parse(s)
	if err != nil || len(cpus) != 1 {
		return 0, fmt.Errorf("cpu number %s: %w", quote(s), ErrMalformed)
	}
	return cpus[0], nil
}

// parseCPUList parses kernel cpulist syntax (bitmap_parselist): comma
// separated CPUs and ranges, ranges optionally with ":used/group".
func parseCPUList(s string) (cpuSet, error) {
	cpus, err := cpulist.Parse(s)
	if err != nil {
		return cpuSet{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return newCPUSet(cpus...), nil
}

// parseCPUMask parses a cpumask as /proc/irq/N/smp_affinity prints it:
// hex digits in comma-separated 32-bit groups, most significant first.
func parseCPUMask(s string) (cpuSet, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return cpuSet{}, fmt.Errorf("empty cpu mask: %w", ErrMalformed)
	}
	groups := strings.Split(s, ",")
	if len(groups)*32 > maxCPUs {
		return cpuSet{}, fmt.Errorf("cpu mask of %d groups is beyond the kernel limit of %d CPUs: %w", len(groups), maxCPUs, ErrMalformed)
	}
	var set cpuSet
	for i, g := range groups {
		if g == "" || len(g) > 8 {
			return cpuSet{}, fmt.Errorf("cpu mask group %s, want 1 to 8 hex digits: %w", quote(g), ErrMalformed)
		}
		v, err := strconv.ParseUint(g, 16, 32)
		if err != nil {
			return cpuSet{}, fmt.Errorf("cpu mask group %s is not hex: %w", quote(g), ErrMalformed)
		}
		base := (len(groups) - 1 - i) * 32
		for b := 0; b < 32; b++ {
			if v&(1<<uint(b)) != 0 {
				set.add(base + b)
			}
		}
	}
	return set, nil
}
