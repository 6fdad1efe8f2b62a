//go:build !linux

package rt

import "github.com/rtcell/rtcell/rt/internal/telemetry"

type threadSetup struct {
	tid   int
	state ThreadState
}

func setupThread(o ThreadOptions) (*threadSetup, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	return nil, ErrNotSupported
}

func (ts *threadSetup) undo() bool       { return true }
func (ts *threadSetup) moveTo(int) error { return ErrNotSupported }
func currentTID() int                    { return 0 }

func threadCounters() (telemetry.ThreadCounters, bool) { return telemetry.ThreadCounters{}, false }

func nameThread(string) func() { return func() {} }
