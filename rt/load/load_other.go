//go:build !linux

package load

// Load is running load; see the Linux build.
type Load struct{}

// Start needs Linux (child subreaper, parent-death signal): it returns
// ErrNotSupported elsewhere.
func Start(s Spec) (*Load, error) { return nil, ErrNotSupported }

// PID is 0.
func (l *Load) PID() int { return 0 }

// Done is a closed channel.
func (l *Load) Done() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// Stop returns ErrNotSupported.
func (l *Load) Stop() (*Result, error) { return nil, ErrNotSupported }
