//go:build !linux

package worker

import "syscall"

// sysProcAttr: without Linux's parent-death signal a worker can outlive a
// supervisor that was killed; rt runs real-time tasks on Linux only.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
