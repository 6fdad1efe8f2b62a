//go:build !linux

package probe

import "fmt"

// FIFO checks that the process may run a thread at SCHED_FIFO priority.
// Linux only: elsewhere it returns ErrNotSupported.
func FIFO(priority int) error {
	return fmt.Errorf("probing SCHED_FIFO %d: %w", priority, ErrNotSupported)
}

// FileCaps reads the security.capability attribute of a file.
// Linux only: elsewhere it returns ErrNotSupported.
func FileCaps(path string) (FileCapabilities, error) {
	return FileCapabilities{}, fmt.Errorf("reading capabilities of %s: %w", path, ErrNotSupported)
}

// Uname returns the identity of the running kernel.
// Linux only: elsewhere it returns ErrNotSupported.
func Uname() (Utsname, error) {
	return Utsname{}, fmt.Errorf("calling uname: %w", ErrNotSupported)
}
