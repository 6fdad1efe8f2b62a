//go:build !linux

package rt

import "time"

func sleepAbs(t int64) {
	if d := t - nanotime(); d > 0 {
		time.Sleep(time.Duration(d))
	}
}
