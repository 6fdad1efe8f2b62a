// Package cpulist parses and formats the kernel's cpulist syntax, as in
// /sys/devices/system/cpu/online, isolcpus= and taskset -c: "0-3,8",
// with optional strides "0-15:2/4" (bitmap_parselist).
//
//	cpus, err := cpulist.Parse("1-3,6") // [1 2 3 6]
//	s := cpulist.Format(cpus)           // "1-3,6"
package cpulist

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MaxCPUs bounds CPU numbers, as the kernel's NR_CPUS does (8192 on
// Debian's amd64 kernels), so that hostile input cannot make Parse
// allocate without limit.
const MaxCPUs = 8192

// ErrMalformed is wrapped by every Parse error.
var ErrMalformed = errors.New("malformed cpulist")

// Parse parses a cpulist into sorted, distinct CPU numbers. Entries are
// separated by commas and may carry spaces around them; an empty string
// is an empty list.
func Parse(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var set [MaxCPUs / 64]uint64
	n := 0
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		rng, stride, hasStride := strings.Cut(part, ":")
		lo, hi, isRange := strings.Cut(rng, "-")
		a, err := number(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = number(hi); err != nil {
				return nil, err
			}
			if b < a {
				return nil, fmt.Errorf("cpu range %q runs backwards: %w", part, ErrMalformed)
			}
		} else if hasStride {
			return nil, fmt.Errorf("cpu list entry %q: a stride needs a range: %w", part, ErrMalformed)
		}
		used, group := 1, 1
		if hasStride {
			u, g, ok := strings.Cut(stride, "/")
			used, err = strconv.Atoi(u)
			if !ok || err != nil {
				return nil, fmt.Errorf("cpu list stride %q, want used/group: %w", stride, ErrMalformed)
			}
			group, err = strconv.Atoi(g)
			if err != nil || used < 1 || group < 1 || used > group {
				return nil, fmt.Errorf("cpu list stride %q, want 1 <= used <= group: %w", stride, ErrMalformed)
			}
		}
		for c := a; c <= b; c++ {
			if (c-a)%group < used && set[c/64]&(1<<(c%64)) == 0 {
				set[c/64] |= 1 << (c % 64)
				n++
			}
		}
	}
	cpus := make([]int, 0, n)
	for c := range MaxCPUs {
		if set[c/64]&(1<<(c%64)) != 0 {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

func number(s string) (int, error) {
	if s == "" || len(s) > 5 || s[0] == '+' {
		return 0, fmt.Errorf("cpu number %q: %w", s, ErrMalformed)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("cpu number %q: %w", s, ErrMalformed)
	}
	if n >= MaxCPUs {
		return 0, fmt.Errorf("cpu %d is beyond the kernel limit of %d CPUs: %w", n, MaxCPUs, ErrMalformed)
	}
	return n, nil
}

// Format writes CPU numbers in cpulist syntax, runs as ranges: "0-3,8".
// The input may be unsorted and repeat itself; negative numbers are
// ignored. An empty list is "".
func Format(cpus []int) string {
	s := slices.Clone(cpus)
	slices.Sort(s)
	s = slices.Compact(s)
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] < 0 {
			i++
			continue
		}
		j := i
		for j+1 < len(s) && s[j+1] == s[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(s[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(s[j]))
		}
		i = j + 1
	}
	return b.String()
}
