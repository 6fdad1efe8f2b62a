package sysprep

import "errors"

// Sentinel errors. Wrapped errors name the file or option and say the fix;
// test for the kind with errors.Is.
var (
	// ErrBadOption marks an invalid Options value or command-line flag.
	ErrBadOption = errors.New("invalid option")
	// ErrRoot means the proc or sys root cannot be read, so sysprep cannot run.
	ErrRoot = errors.New("unreadable root")
	// ErrMalformed means a kernel file did not have the expected format.
	ErrMalformed = errors.New("malformed content")
	// ErrUnknownCheck means a check ID is not in the registry (see Checks).
	ErrUnknownCheck = errors.New("unknown check")
)
