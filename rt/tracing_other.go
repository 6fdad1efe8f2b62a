//go:build !linux

package rt

// currentCPU is -1: the CPU is not known here.
func currentCPU() int { return -1 }
