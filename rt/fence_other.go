//go:build !arm

package rt

// loadFence is not needed where the closing atomic read-modify-write is a
// full barrier (amd64 LOCK XADD; arm64 LDADDAL or LDAXR/STLXR).
func loadFence(*uint64) {}
