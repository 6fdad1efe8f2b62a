package config

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every problem found in a config file is an *Error
// that matches ErrInvalid under errors.Is; Parse and Load join all of
// them with errors.Join so one run shows every mistake.
var (
	// ErrInvalid marks a config file that is malformed, has unknown
	// keys or values of the wrong type, or asks for something the
	// machine or the runner cannot do.
	ErrInvalid = errors.New("invalid config")
	// ErrNoCPUs means the SysInfo passed to Parse lists no online CPU,
	// so CPU numbers cannot be checked. Read it with ReadSysInfo.
	ErrNoCPUs = errors.New("sysinfo lists no online CPU: read it with config.ReadSysInfo")
)

// Error is one problem in a config file, located at a line and a key.
// Its text has the form "file:line: key: problem (what is allowed)".
type Error struct {
	File string // config file name as given to Load or Parse
	Line int    // 1-based line of the key, or of its table when the key is absent
	Key  string // key path such as "task[0].priority"; "toml" for syntax errors
	Msg  string // the problem and what is allowed
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Key, e.Msg)
}

// Is reports whether target is ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }
