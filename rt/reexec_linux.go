package rt

import (
	"fmt"
	"os"
	"syscall"
)

func reexec(env []string) error {
	if err := syscall.Exec("/proc/self/exe", os.Args, env); err != nil {
		return fmt.Errorf("re-executing /proc/self/exe: %w", err)
	}
	return nil
}
