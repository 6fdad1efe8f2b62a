package trace

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Trigger freezes an instance's trace from the RT loop: Fire writes a
// marker to trace_marker and 0 to tracing_on. It is built before the
// loop starts, with the files open and the marker's fixed part
// formatted, so that Fire is two write system calls and nothing else:
// no allocation, no lock, no scheduler (the writes are raw system calls,
// so the loop's goroutine keeps its P).
type Trigger struct {
	marker, on *os.File // kept so that their descriptors stay open
	mfd, ofd   uintptr
	task       string
	buf        []byte // markerCap bytes, so that AppendMarker never grows it
	zero       [1]byte
}

// NewTrigger builds a trigger for task on an instance's trace_marker and
// tracing_on (see Instance.TriggerFiles). The trigger owns the files:
// Close closes them.
func NewTrigger(marker, tracingOn *os.File, task string) (*Trigger, error) {
	if marker == nil || tracingOn == nil {
		return nil, fmt.Errorf("trace trigger: trace_marker or tracing_on not open: %w", ErrInvalid)
	}
	if err := checkTaskName(task); err != nil {
		return nil, err
	}
	return &Trigger{marker: marker, on: tracingOn, mfd: marker.Fd(), ofd: tracingOn.Fd(),
		task: task, buf: make([]byte, 0, markerCap), zero: [1]byte{'0'}}, nil
}

// Fire writes "rtcell: task=NAME cycle=N latency=NNNns" to the trace
// marker, then 0 to tracing_on, which stops the instance's recording at
// once. It returns each write's errno (0 on success). It allocates
// nothing and may be called from the RT loop.
func (t *Trigger) Fire(cycle uint64, latencyNs int64) (markerErr, stopErr syscall.Errno) {
	b := AppendMarker(t.buf[:0], t.task, cycle, latencyNs)
	_, _, markerErr = unix.RawSyscall(unix.SYS_WRITE, t.mfd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	_, _, stopErr = unix.RawSyscall(unix.SYS_WRITE, t.ofd, uintptr(unsafe.Pointer(&t.zero[0])), 1)
	return markerErr, stopErr
}

// Close closes the trigger's files.
func (t *Trigger) Close() error {
	err1 := t.marker.Close()
	err2 := t.on.Close()
	if err1 != nil {
		return err1
	}
	return err2
}
