//go:build !linux

package rt

// touchFreshPage is Linux-only; the tests that use it run workers, which need Linux.
func touchFreshPage() {}
