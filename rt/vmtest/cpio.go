package vmtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The "newc" cpio format (cpio -H newc), the only one the kernel's
// initramfs unpacker reads: a 110-byte ASCII header of 13 hex fields,
// the NUL-terminated name, padding to 4 bytes, the data, padding to 4
// bytes. The archive ends with an entry named "TRAILER!!!".
const (
	cpioMagic   = "070701"
	cpioHdrLen  = 110
	cpioTrailer = "TRAILER!!!"

	// File type bits of the cpio mode field (the same as st_mode).
	cpioModeDir  = 0o040000
	cpioModeReg  = 0o100000
	cpioModeLink = 0o120000
	cpioModeChr  = 0o020000
	cpioTypeMask = 0o170000
)

// cpioHeader is one entry of a newc archive.
type cpioHeader struct {
	Name      string
	Mode      uint32 // type bits | permission bits
	UID, GID  uint32
	Size      uint32 // length of the data that follows
	RdevMajor uint32 // for device nodes
	RdevMinor uint32
}

// cpioWriter writes a newc archive. Inode numbers are assigned in order;
// every entry has nlink 1 and mtime 0, so the output depends only on the
// entries.
type cpioWriter struct {
	w   io.Writer
	n   int64 // bytes written
	ino uint32
	err error
}

func newCPIOWriter(w io.Writer) *cpioWriter { return &cpioWriter{w: w} }

func (c *cpioWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.err = err
}

func (c *cpioWriter) pad() {
	if r := c.n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

// WriteEntry writes h and then the data read from r, which must yield
// exactly h.Size bytes (r may be nil when h.Size is 0).
func (c *cpioWriter) WriteEntry(h cpioHeader, r io.Reader) error {
	if strings.ContainsRune(h.Name, 0) || h.Name == "" {
		return fmt.Errorf("writing cpio entry %q: empty name or NUL in name", h.Name)
	}
	c.ino++
	fields := []uint32{c.ino, h.Mode, h.UID, h.GID, 1, 0, h.Size, 0, 0, h.RdevMajor, h.RdevMinor, uint32(len(h.Name) + 1), 0}
	var hdr strings.Builder
	hdr.WriteString(cpioMagic)
	for _, f := range fields {
		fmt.Fprintf(&hdr, "%08x", f)
	}
	c.write([]byte(hdr.String()))
	c.write(append([]byte(h.Name), 0))
	c.pad()
	if h.Size > 0 {
		if r == nil {
			return fmt.Errorf("writing cpio entry %q: no data for %d bytes", h.Name, h.Size)
		}
		if c.err == nil {
			n, err := io.CopyN(c.w, r, int64(h.Size))
			c.n += n
			if err != nil {
				c.err = fmt.Errorf("copying data of %q: %w", h.Name, err)
			}
		}
		c.pad()
	}
	if c.err != nil {
		return fmt.Errorf("writing cpio entry %q: %w", h.Name, c.err)
	}
	return nil
}

// Close writes the trailer entry. It does not close the underlying writer.
func (c *cpioWriter) Close() error {
	return c.WriteEntry(cpioHeader{Name: cpioTrailer}, nil)
}

// cpioReader reads a newc archive; the harness uses it only to test the
// writer, and it is strict about the format so that those tests catch
// a malformed archive before the kernel does.
type cpioReader struct {
	r *bufio.Reader
	n int64
}

func newCPIOReader(r io.Reader) *cpioReader { return &cpioReader{r: bufio.NewReader(r)} }

func (c *cpioReader) skipPad() error {
	if rem := c.n % 4; rem != 0 {
		k, err := io.CopyN(io.Discard, c.r, 4-rem)
		c.n += k
		return err
	}
	return nil
}

// Next returns the next entry and its data. It returns io.EOF after the
// trailer.
func (c *cpioReader) Next() (cpioHeader, []byte, error) {
	var h cpioHeader
	raw := make([]byte, cpioHdrLen)
	if _, err := io.ReadFull(c.r, raw); err != nil {
		return h, nil, fmt.Errorf("reading cpio header: %w", err)
	}
	c.n += cpioHdrLen
	if string(raw[:6]) != cpioMagic {
		return h, nil, fmt.Errorf("reading cpio header: bad magic %q: %w", raw[:6], ErrMalformed)
	}
	var f [13]uint32
	for i := range f {
		v, err := strconv.ParseUint(string(raw[6+8*i:14+8*i]), 16, 32)
		if err != nil {
			return h, nil, fmt.Errorf("reading cpio header field %d: %w", i, ErrMalformed)
		}
		f[i] = uint32(v)
	}
	h.Mode, h.UID, h.GID, h.Size, h.RdevMajor, h.RdevMinor = f[1], f[2], f[3], f[6], f[9], f[10]
	nameLen := f[11]
	if nameLen == 0 || nameLen > 4096 {
		return h, nil, fmt.Errorf("reading cpio name of length %d: %w", nameLen, ErrMalformed)
	}
	name := make([]byte, nameLen)
	if _, err := io.ReadFull(c.r, name); err != nil {
		return h, nil, fmt.Errorf("reading cpio name: %w", err)
	}
	c.n += int64(nameLen)
	if name[nameLen-1] != 0 {
		return h, nil, fmt.Errorf("reading cpio name: not NUL-terminated: %w", ErrMalformed)
	}
	h.Name = string(name[:nameLen-1])
	if err := c.skipPad(); err != nil {
		return h, nil, fmt.Errorf("reading cpio padding: %w", err)
	}
	if h.Name == cpioTrailer {
		return h, nil, io.EOF
	}
	if h.Size > 1<<30 {
		return h, nil, fmt.Errorf("reading cpio entry %q of %d bytes: %w", h.Name, h.Size, ErrMalformed)
	}
	data := make([]byte, h.Size)
	if _, err := io.ReadFull(c.r, data); err != nil {
		return h, nil, fmt.Errorf("reading cpio data of %q: %w", h.Name, err)
	}
	c.n += int64(h.Size)
	if err := c.skipPad(); err != nil && !errors.Is(err, io.EOF) {
		return h, nil, fmt.Errorf("reading cpio padding: %w", err)
	}
	return h, data, nil
}
