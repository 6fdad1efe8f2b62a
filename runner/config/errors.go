package config

import (
	"errors"
	"fmt"

	"github.com/rtcell/rtcell/rt"
)

// Sentinel errors. Every problem found in a config file is an *Error
// that matches ErrInvalid under errors.Is; Parse and Load join all of
// them with errors.Join so one run shows every mistake.
var (
	// ErrInvalid marks a config file that is malformed, has unknown
	// keys or values of the wrong type, or asks for something the
	// machine or the runner cannot do. It is rt.ErrInvalid: a config
	// value is an option of the loop it describes, and a bad one is
	// the same failure whichever package finds it.
	ErrInvalid = rt.ErrInvalid
	// ErrNoCPUs means the SysInfo passed to Parse lists no online CPU,
	// so CPU numbers cannot be checked. Read it with ReadSysInfo.
	ErrNoCPUs = errors.New("sysinfo lists no online CPU: read it with config.ReadSysInfo")
)

// Error is one problem in a config file, located at a line and a key.
// Its text has the form "file:line: key: problem (what is allowed)".
// Two other forms exist: "file: problem" (Line 0) for a file that is
// refused as a whole before it is parsed, such as a named pipe or one
// over MaxFileSize, and "--flag: problem" (File "") for a value given
// on the command line (see ApplyOutputFlags).
type Error struct {
	File string // config file name as given to Load or Parse; "" for a command-line flag
	Line int    // 1-based line of the key, or of its table when the key is absent; 0 for the whole file
	Key  string // key path such as "task[0].priority"; "toml" for syntax errors; a flag such as "--json"
	Msg  string // the problem and what is allowed
}

func (e *Error) Error() string {
	switch {
	case e.File == "":
		return e.Key + ": " + e.Msg
	case e.Line == 0:
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Key, e.Msg)
}

// Is reports whether target is ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }
