package sysprep

import (
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unicode/utf8"
)

// Reading is bounded and safe: sysprep may be pointed at a tree it does
// not trust (a copy from a customer's box, a hand-made fixture), and it
// runs as root.
//
//   - Only regular files and directories are opened. A file is opened
//     with O_NONBLOCK and its type checked with fstat before any read, so
//     a FIFO or a device in place of a proc or sys file is an error that
//     names the path instead of a read that blocks forever. (os.Open, and
//     prometheus/procfs, which uses it, block in open(2) on a FIFO until
//     a writer appears; that is why sysprep reads even the files procfs
//     could parse through the helpers here.)
//   - Each read is capped (maxFileBytes, more for /proc/interrupts).
//   - Errors quote at most maxQuoteBytes of a file (quote, parseErr).
//   - Names from the box reach the output only through escape.

// maxFileBytes caps one proc or sys file. The largest sysprep reads are a
// process's status (≈ 1.5 KiB) and a kernel config (≈ 300 KiB gzip-ed
// to /proc/config.gz, read through maxConfigBytes).
const maxFileBytes = 1 << 20

// maxInterruptsBytes caps /proc/interrupts: one line per IRQ with a
// 11-byte column per CPU, 1.5 MB on 2,000 IRQs × 64 CPUs.
const maxInterruptsBytes = 64 << 20

// maxConfigBytes caps the decompressed /proc/config.gz.
const maxConfigBytes = 16 << 20

// maxQuoteBytes is how much of a file an error or observation quotes.
const maxQuoteBytes = 160

// scratch holds read buffers; readSmall returns a string of the exact
// size, so thousands of small files do not cost a 4 KiB buffer each.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// errNotRegular is wrapped when a path is not a regular file.
type notRegularError struct{ mode fs.FileMode }

func (e notRegularError) Error() string {
	return "not a regular file (" + fileKind(e.mode) + ")"
}

func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	}
	return "mode " + m.String()
}

func modeOf(st *syscall.Stat_t) fs.FileMode {
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
		return 0
	case syscall.S_IFDIR:
		return fs.ModeDir
	case syscall.S_IFIFO:
		return fs.ModeNamedPipe
	case syscall.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFBLK:
		return fs.ModeDevice
	case syscall.S_IFSOCK:
		return fs.ModeSocket
	}
	return fs.ModeIrregular
}

// openChecked opens path read-only and non-blocking and checks with fstat
// that it is a regular file (dir false) or a directory (dir true).
func openChecked(path string, dir bool) (int, error) {
	flags := syscall.O_RDONLY | syscall.O_CLOEXEC | syscall.O_NONBLOCK | syscall.O_NOCTTY
	if dir {
		flags |= syscall.O_DIRECTORY
	}
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, flags, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		if dir && err == syscall.ENOTDIR {
			if st, serr := os.Stat(path); serr == nil {
				return -1, &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("not a directory (%s): %w", fileKind(st.Mode()), ErrMalformed)}
			}
		}
		return -1, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return -1, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	m := modeOf(&st)
	if (dir && !m.IsDir()) || (!dir && m != 0) {
		syscall.Close(fd)
		return -1, &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w: %w", notRegularError{m}, ErrMalformed)}
	}
	return fd, nil
}

// openRegular opens a regular file for reading as an *os.File.
func openRegular(path string) (*os.File, error) {
	fd, err := openChecked(path, false)
	if err != nil {
		return nil, err
	}
	// Back to blocking mode for the reads: regular files never block.
	_ = syscall.SetNonblock(fd, false)
	return os.NewFile(uintptr(fd), path), nil
}

// readDir lists a directory that must be one (not a FIFO in its place).
func readDir(path string) ([]os.DirEntry, error) {
	fd, err := openChecked(path, true)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil, &fs.PathError{Op: "readdirent", Path: path, Err: err}
	}
	return ents, nil
}

// readSmall reads a whole proc or sys file of at most maxFileBytes.
func readSmall(path string) (string, error) { return readCapped(path, maxFileBytes) }

// readCapped reads a whole regular file of at most limit bytes with plain
// open/fstat/read/close system calls. os.ReadFile adds fcntl calls and an
// epoll registration attempt per file; a run on a box with thousands of
// threads and IRQs reads tens of thousands of files, and those extra
// calls were half of its time.
func readCapped(path string, limit int) (string, error) {
	fd, err := openChecked(path, false)
	if err != nil {
		return "", err
	}
	defer syscall.Close(fd)
	bp := scratch.Get().(*[]byte)
	defer scratch.Put(bp)
	buf := (*bp)[:0]
	defer func() {
		if cap(buf) <= 1<<20 {
			*bp = buf[:0]
		}
	}()
	for {
		if len(buf) == cap(buf) {
			grow := min(max(len(buf), 4096), limit+1-len(buf))
			buf = append(buf, make([]byte, grow)...)[:len(buf)]
		}
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			return "", &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if err != nil {
			return "", &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return string(buf), nil
		}
		buf = buf[:len(buf)+n]
		if len(buf) > limit {
			return "", &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("larger than %d bytes: %w", limit, ErrMalformed)}
		}
	}
}

// quote renders file content for an error or observation: escaped like a
// Go string and cut to maxQuoteBytes.
func quote(s string) string {
	if len(s) <= maxQuoteBytes {
		return strconv.Quote(s)
	}
	cut := maxQuoteBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + fmt.Sprintf("… (%d bytes)", len(s))
}

// boundedError shortens the message of a parser's error to about
// maxQuoteBytes (plus the path), keeping the chain for errors.Is.
type boundedError struct{ err error }

func (b boundedError) Error() string {
	s := b.err.Error()
	if len(s) <= 2*maxQuoteBytes {
		return s
	}
	cut := 2 * maxQuoteBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d bytes of message)", len(s))
}

func (b boundedError) Unwrap() error { return b.err }

// Escape makes text from the box safe to print on a terminal, as every
// sysprep output does with it: control characters (newlines included),
// invalid UTF-8 and the Unicode line and bidi controls become Go escapes
// such as \x1b. Text that needs none comes back unchanged.
func Escape(s string) string { return escape(s, false) }

// escape makes text from the box (a thread's comm, an IRQ action name, a
// file's content) safe for a terminal: control characters (C0, DEL, C1),
// invalid UTF-8 and the Unicode line and bidi controls become Go escapes
// such as \x1b, so an ESC sequence in a comm cannot recolour or rewrite
// the terminal. keepNewlines keeps '\n' (remedies are several lines).
func escape(s string, keepNewlines bool) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) && !(keepNewlines && r == '\n') {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case keepNewlines && r == '\n':
			b.WriteByte('\n')
		case unsafeRune(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r == utf8.RuneError:
		return true
	case r == 0x2028, r == 0x2029, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0xfeff:
		return true
	}
	return false
}

// maxObservedBytes caps an observation or expectation: a check quotes
// file content through quote, and lists at most maxListed items, so only
// a file with a huge line (a fixture's 900 KB uname) could pass it.
const maxObservedBytes = 4096

// maxHostFieldBytes caps a host identity field (hostname, uname -v).
const maxHostFieldBytes = 256

// maxCmdlineBytes is the longest kernel command line sysprep merges
// into: the kernel's COMMAND_LINE_SIZE is 2048 on x86 and at most 4096
// elsewhere, so a longer /proc/cmdline is not one a kernel booted with.
const maxCmdlineBytes = 4096

// clip cuts s to n bytes at a rune boundary, saying how long it was.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d bytes)", len(s))
}
