//go:build !linux

package rt

import "time"

func sleepAbs(t int64) {
	if d := t - nanotime(); d > 0 {
		time.Sleep(time.Duration(d))
	}
}

// sleepWake sleeps until t and returns the clock read after the wake-up.
func sleepWake(t int64) int64 {
	sleepAbs(t)
	return nanotime()
}
