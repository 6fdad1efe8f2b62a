package shm

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// NewRegion creates an anonymous shared-memory file (memfd_create) of size
// bytes, named name (visible as /memfd:name in /proc/PID/fd), and maps it
// read-write, MAP_SHARED, with its pages populated up front so that the
// real-time loop takes no page fault on first touch (mlockall in the RT
// process keeps them resident). The memory starts zeroed.
//
// Pass the returned file to the other process (exec.Cmd.ExtraFiles) and
// map it there with OpenRegion; close the file once the child has started.
// The file has close-on-exec set, which ExtraFiles clears for the child.
func NewRegion(name string, size int) (*Region, *os.File, error) {
	if size <= 0 {
		return nil, nil, fmt.Errorf("creating shared region %q: size %d must be positive (use ImageSize or RingSize): %w", name, size, ErrInvalid)
	}
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, nil, fmt.Errorf("creating shared region %q (memfd_create, Linux ≥ 3.17): %w", name, err)
	}
	f := os.NewFile(uintptr(fd), "memfd:"+name)
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("sizing shared region %q to %d bytes: %w", name, size, err)
	}
	r, err := mapFile(f, size)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return r, f, nil
}

// OpenRegion maps the whole of f, a memfd another process created with
// NewRegion and passed down, read-write and MAP_SHARED, with its pages
// populated. f may be closed afterwards; the mapping stays until Close.
func OpenRegion(f *os.File) (*Region, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("opening shared region %s: %w", f.Name(), err)
	}
	if st.Size() <= 0 || st.Size() > int64(^uint(0)>>1) {
		return nil, fmt.Errorf("opening shared region %s: file is %d bytes, not a region made by NewRegion: %w", f.Name(), st.Size(), ErrInvalid)
	}
	return mapFile(f, int(st.Size()))
}

func mapFile(f *os.File, size int) (*Region, error) {
	mem, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("mapping shared region %s (%d bytes): %w", f.Name(), size, err)
	}
	return &Region{mem: mem, unmap: unix.Munmap}, nil
}
