//go:build !linux

package child

import (
	"os/exec"
	"syscall"
)

// setAttr: without Linux's parent-death signal a child can outlive a
// parent that was killed; rtcell runs real-time work on Linux only.
func setAttr(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}
