package sysprep

import (
	"io/fs"
	"sync"
	"syscall"
)

// scratch holds read buffers; readSmall returns a string of the exact
// size, so thousands of small files do not cost a 4 KiB buffer each.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// readSmall reads a whole proc or sys file with plain open/read/close
// system calls. os.ReadFile adds an fstat, fcntl calls and an epoll
// registration attempt per file; a run on a box with thousands of threads
// and IRQs reads tens of thousands of files, and those extra calls were
// half of its time.
func readSmall(path string) (string, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return "", &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	bp := scratch.Get().(*[]byte)
	defer scratch.Put(bp)
	buf := (*bp)[:0]
	defer func() { *bp = buf[:0] }()
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= 64<<20 {
				return "", &fs.PathError{Op: "read", Path: path, Err: syscall.EFBIG}
			}
			buf = append(buf, make([]byte, len(buf))...)[:len(buf)]
		}
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return "", &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return string(buf), nil
		}
		buf = buf[:len(buf)+n]
	}
}
