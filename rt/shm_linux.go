package rt

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// NewSharedTelemetry creates a telemetry block in an anonymous shared
// memory file (memfd) and maps it. Pass the returned file to a worker
// process (exec.Cmd.ExtraFiles); the worker maps the same pages with
// OpenTelemetry. Close the file once the worker has it; the mapping stays.
func NewSharedTelemetry(histUS int) (*Telemetry, *os.File, error) {
	words := TelemetryWords(histUS)
	fd, err := unix.MemfdCreate("rtcell-telemetry", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, nil, fmt.Errorf("creating the telemetry memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), "rtcell-telemetry")
	if err := unix.Ftruncate(fd, int64(words*8)); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("sizing the telemetry memfd to %d bytes: %w", words*8, err)
	}
	t, err := mapTelemetry(f, true, histUS)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return t, f, nil
}

// OpenTelemetry maps the telemetry block in f, which another process
// created with NewSharedTelemetry, and checks its header.
func OpenTelemetry(f *os.File) (*Telemetry, error) {
	return mapTelemetry(f, false, 0)
}

func mapTelemetry(f *os.File, init bool, histUS int) (*Telemetry, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("mapping telemetry: %w", err)
	}
	size := int(st.Size())
	if size < 8*(headerWords+2) || size%8 != 0 {
		return nil, fmt.Errorf("mapping telemetry: %s is %d bytes, not a telemetry block: %w", f.Name(), size, ErrInvalid)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mapping telemetry (%d bytes): %w", size, err)
	}
	words := unsafe.Slice((*uint64)(unsafe.Pointer(&mem[0])), size/8)
	t, err := attachTelemetry(words, init, histUS)
	if err != nil {
		unix.Munmap(mem)
		return nil, err
	}
	t.unmap = func() error { return unix.Munmap(mem) }
	return t, nil
}
