// Package regularfile reads files that a user names on a command line or
// in a config, where a careless or hostile user may name a named pipe, a
// device or a huge file: the read must neither block nor run away.
//
// os.Open blocks in open(2) on a named pipe until a writer appears, and a
// Go program blocked there does not even see a SIGTERM it handles. Open
// opens with O_NONBLOCK, so that open returns at once, and takes the type
// from the open descriptor (fstat), so that a file swapped in after a
// check cannot slip through. Read also caps what it reads.
//
//	b, err := regularfile.Read("run.json", 64<<20)
//	var nr *regularfile.NotRegularError // "is a named pipe"
//	var tl *regularfile.TooLargeError
package regularfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// NotRegularError says that a path is not a regular file, and what it is.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s: %s, not a regular file", e.Path, Kind(e.Mode))
}

// TooLargeError says that a file holds more than Max bytes.
type TooLargeError struct {
	Path string
	Max  int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s: larger than %d bytes", e.Path, e.Max)
}

// Kind says what a file of mode m is, as "is a named pipe", "is a
// directory", "is a character device" and so on.
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "is a regular file"
	case m.IsDir():
		return "is a directory"
	case m&fs.ModeNamedPipe != 0:
		return "is a named pipe"
	case m&fs.ModeSocket != 0:
		return "is a socket"
	case m&fs.ModeCharDevice != 0:
		return "is a character device"
	case m&fs.ModeDevice != 0:
		return "is a block device"
	case m&fs.ModeSymlink != 0:
		return "is a symbolic link"
	}
	return "is a special file (" + m.Type().String() + ")"
}

// Open opens path for reading if it is a regular file (after symbolic
// links), without blocking on anything else: a named pipe, a device, a
// directory or a socket is a *NotRegularError.
func Open(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		// open(2) refuses a Unix socket with ENXIO: say what it is.
		if fi, serr := os.Stat(path); serr == nil && !fi.Mode().IsRegular() {
			return nil, &NotRegularError{Path: path, Mode: fi.Mode()}
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &NotRegularError{Path: path, Mode: fi.Mode()}
	}
	return f, nil
}

// Read reads the regular file at path whole (Open), reading at most
// max+1 bytes: a file larger than max is a *TooLargeError, found without
// reading the rest of it.
func Read(path string, max int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, &TooLargeError{Path: path, Max: max}
	}
	return b, nil
}
