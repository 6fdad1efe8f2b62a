//go:build arm

package shm

import "sync/atomic"

// loadFence makes the loads before it complete before the memory accesses
// after it. On 32-bit ARM, Go's 64-bit read-modify-writes and stores are
// LDREXD … DMB ISHST … STREXD … DMB ISH: the store barrier in front of the
// STREXD orders earlier stores but not earlier loads, so without a fence
// the copy's loads could be satisfied after the closing RMW (or the
// consumer's tail store) is visible to the other side, which may then
// already be overwriting the data. A 64-bit atomic load is LDREXD followed
// by DMB ISH, a full barrier: calling it between the copy and the closing
// operation orders the copy first.
//
//go:nosplit
func loadFence(w *atomic.Uint64) { w.Load() }
