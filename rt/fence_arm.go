//go:build arm

package rt

import "sync/atomic"

// loadFence orders the snapshot copy's loads before the closing sequence
// read. On 32-bit ARM, Go's 64-bit read-modify-write puts only DMB ISHST
// (a store barrier) before its STREXD, which does not order earlier loads;
// a 64-bit atomic load is LDREXD then DMB ISH, a full barrier. (The same
// reasoning as rt/shm's fence_arm.go.)
func loadFence(w *uint64) { atomic.LoadUint64(w) }
