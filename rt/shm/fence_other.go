//go:build !arm

package shm

import "sync/atomic"

// loadFence is a no-op here: on amd64 (LOCK-prefixed RMW, loads not
// reordered with later stores) and arm64 (RMWs and stores have release
// semantics: LDADDAL, SWPAL, CASAL, STLXR, STLR) the closing atomic
// already orders the copy's loads before it. See fence_arm.go.
//
//go:nosplit
func loadFence(*atomic.Uint64) {}
