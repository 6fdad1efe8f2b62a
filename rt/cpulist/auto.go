package cpulist

import "slices"

// Auto picks the CPU for a real-time thread that was not given one: the
// first isolated CPU (isolcpus=) that is online and not taken, else the
// last online CPU, away from CPU 0, which takes most housekeeping work
// and interrupts. taken may be nil. It returns false when no CPU is
// online.
func Auto(online, isolated []int, taken func(cpu int) bool) (int, bool) {
	if len(online) == 0 {
		return 0, false
	}
	on := slices.Sorted(slices.Values(online))
	iso := slices.Sorted(slices.Values(isolated))
	for _, c := range iso {
		if _, ok := slices.BinarySearch(on, c); ok && (taken == nil || !taken(c)) {
			return c, true
		}
	}
	return on[len(on)-1], true
}
