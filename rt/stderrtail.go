package rt

import "sync"

// stderrTailBytes is how much of a worker's stderr the supervisor keeps
// for the failure reason: enough for a Go panic's first goroutine or a
// flag package's usage text.
const stderrTailBytes = 8 << 10

// tailWriter keeps the last max bytes written to it. It is safe for
// concurrent use.
type tailWriter struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTailWriter(max int) *tailWriter { return &tailWriter{max: max} }

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if len(p) >= t.max {
		p = p[len(p)-t.max:]
		t.buf = t.buf[:0]
	} else if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// String returns the kept bytes; a nil tailWriter holds nothing.
func (t *tailWriter) String() string {
	if t == nil {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
