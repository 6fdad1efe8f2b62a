//go:build !linux

package rt

func reexec(env []string) error { return ErrNotSupported }
