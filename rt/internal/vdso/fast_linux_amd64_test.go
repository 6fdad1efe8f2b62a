package vdso

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCallVDSOClocks calls the assembly with other clock ids: MONOTONIC
// must be bracketed by the runtime's nanotime, and an invalid clock must
// come back as -EINVAL (a sign-extended C int).
func TestCallVDSOClocks(t *testing.T) {
	if !Fast() {
		t.Skipf("fast path off: %v", FallbackReason())
	}
	for range 1000 {
		m1 := Nanotime()
		v, ret, err := callOnSlot(clockMonotonic)
		m2 := Nanotime()
		if err != nil || ret != 0 || v < m1 || v > m2 {
			t.Fatalf("vDSO CLOCK_MONOTONIC = %d (ret %d, %v), runtime nanotime [%d, %d]", v, ret, err, m1, m2)
		}
	}
	_, ret, err := callOnSlot(-100)
	if err != nil || ret != -int64(unix.EINVAL) {
		t.Fatalf("vDSO clock_gettime(-100) returned %d, %v; want %d", ret, err, -int64(unix.EINVAL))
	}
}

// TestPrivateStacks checks the layout the safety argument relies on: each
// stack top is 16-byte aligned and the page below each stack is mapped
// PROT_NONE.
func TestPrivateStacks(t *testing.T) {
	if !Fast() {
		t.Skipf("fast path off: %v", FallbackReason())
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skipf("reading /proc/self/maps: %v", err)
	}
	page := uintptr(os.Getpagesize())
	for i := range slotMask + 1 {
		top := slots[i].top
		if top%16 != 0 {
			t.Fatalf("slot %d: top %#x not 16-byte aligned", i, top)
		}
		guard := top - privateStackSize - page
		if !mappedNoAccess(maps, guard, page) {
			t.Fatalf("slot %d: no PROT_NONE guard page at %#x", i, guard)
		}
	}
}

// mappedNoAccess reports whether [addr, addr+n) lies in a ---p mapping.
func mappedNoAccess(maps []byte, addr, n uintptr) bool {
	for _, line := range bytes.Split(maps, []byte("\n")) {
		var lo, hi uintptr
		var perms string
		if _, err := fmt.Sscanf(string(line), "%x-%x %s", &lo, &hi, &perms); err != nil {
			continue
		}
		if lo <= addr && addr+n <= hi {
			return perms == "---p"
		}
	}
	return false
}
