package vmtest

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Initramfs is an in-memory description of the guest's root file
// system, written out as a newc cpio archive that QEMU passes to the
// kernel with -initrd. Paths are absolute guest paths; parent
// directories are created as needed. Adding a path twice replaces the
// first entry.
type Initramfs struct {
	entries map[string]initramfsEntry
}

type initramfsEntry struct {
	hdr      cpioHeader
	data     []byte // inline data, or
	hostPath string // data read from this host file when written
}

// NewInitramfs returns an empty image.
func NewInitramfs() *Initramfs {
	return &Initramfs{entries: map[string]initramfsEntry{}}
}

func cleanGuest(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("guest path %q: must be absolute: %w", p, ErrMalformed)
	}
	c := path.Clean(p)
	if c == "/" {
		return "", fmt.Errorf("guest path %q: cannot replace the root: %w", p, ErrMalformed)
	}
	return c[1:], nil
}

func (f *Initramfs) add(guest string, e initramfsEntry) error {
	name, err := cleanGuest(guest)
	if err != nil {
		return err
	}
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		if old, ok := f.entries[dir]; ok {
			if old.hdr.Mode&cpioTypeMask != cpioModeDir {
				return fmt.Errorf("adding %q: parent %q is not a directory: %w", guest, "/"+dir, ErrMalformed)
			}
			continue
		}
		f.entries[dir] = initramfsEntry{hdr: cpioHeader{Name: dir, Mode: cpioModeDir | 0o755}}
	}
	e.hdr.Name = name
	f.entries[name] = e
	return nil
}

// AddDir adds a directory with permission bits perm.
func (f *Initramfs) AddDir(guest string, perm os.FileMode) error {
	return f.add(guest, initramfsEntry{hdr: cpioHeader{Mode: cpioModeDir | uint32(perm.Perm())}})
}

// AddBytes adds a regular file with the given content.
func (f *Initramfs) AddBytes(guest string, perm os.FileMode, data []byte) error {
	if uint64(len(data)) > 0xffffffff {
		return fmt.Errorf("adding %q: %d bytes is too large for cpio", guest, len(data))
	}
	return f.add(guest, initramfsEntry{hdr: cpioHeader{Mode: cpioModeReg | uint32(perm.Perm()), Size: uint32(len(data))}, data: data})
}

// AddSymlink adds a symbolic link to target.
func (f *Initramfs) AddSymlink(guest, target string) error {
	return f.add(guest, initramfsEntry{hdr: cpioHeader{Mode: cpioModeLink | 0o777, Size: uint32(len(target))}, data: []byte(target)})
}

// AddCharDev adds a character device node, e.g. /dev/console (5, 1),
// which the kernel opens as init's stdin/stdout before /init runs.
func (f *Initramfs) AddCharDev(guest string, perm os.FileMode, major, minor uint32) error {
	return f.add(guest, initramfsEntry{hdr: cpioHeader{Mode: cpioModeChr | uint32(perm.Perm()), RdevMajor: major, RdevMinor: minor}})
}

// AddHostFile adds the host file host (symlinks followed) at guest,
// keeping its permission bits. When it is a dynamically linked ELF
// binary it also adds its program interpreter and every shared library
// it needs, transitively, at the paths the guest's loader searches.
func (f *Initramfs) AddHostFile(host, guest string) error {
	st, err := os.Stat(host)
	if err != nil {
		return fmt.Errorf("adding host file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("adding host file %s: not a regular file: %w", host, ErrMalformed)
	}
	if st.Size() > 0xffffffff {
		return fmt.Errorf("adding host file %s: %d bytes is too large for cpio", host, st.Size())
	}
	if err := f.add(guest, initramfsEntry{hdr: cpioHeader{Mode: cpioModeReg | uint32(st.Mode().Perm()), Size: uint32(st.Size())}, hostPath: host}); err != nil {
		return err
	}
	libs, err := SharedLibraries(host)
	if err != nil {
		return err
	}
	for _, l := range libs {
		if err := f.AddHostFile(l.Host, l.Guest); err != nil {
			return err
		}
	}
	return nil
}

// Has reports whether guest is in the image.
func (f *Initramfs) Has(guest string) bool {
	name, err := cleanGuest(guest)
	if err != nil {
		return false
	}
	_, ok := f.entries[name]
	return ok
}

// WriteTo writes the image as a newc cpio archive, entries sorted by
// path so that each directory precedes its contents.
func (f *Initramfs) WriteTo(w io.Writer) (int64, error) {
	names := make([]string, 0, len(f.entries))
	for n := range f.entries {
		names = append(names, n)
	}
	sort.Strings(names)
	cw := newCPIOWriter(w)
	for _, n := range names {
		e := f.entries[n]
		var r io.Reader
		switch {
		case e.hostPath != "":
			fh, err := os.Open(e.hostPath)
			if err != nil {
				return cw.n, fmt.Errorf("writing initramfs: %w", err)
			}
			err = cw.WriteEntry(e.hdr, fh)
			fh.Close()
			if err != nil {
				return cw.n, err
			}
			continue
		case len(e.data) > 0:
			r = bytes.NewReader(e.data)
		}
		if err := cw.WriteEntry(e.hdr, r); err != nil {
			return cw.n, err
		}
	}
	err := cw.Close()
	return cw.n, err
}

// WriteFile writes the image to the host file name.
func (f *Initramfs) WriteFile(name string) error {
	fh, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("writing initramfs: %w", err)
	}
	if _, err := f.WriteTo(fh); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("writing initramfs: %w", err)
	}
	return nil
}

// Library is a shared object a binary needs: where it is on the host and
// where the guest's dynamic loader will look for it.
type Library struct {
	Host  string
	Guest string
}

// libraryDirs are the directories glibc's loader searches on Debian
// amd64 when there is no /etc/ld.so.cache, which the guest lacks.
var libraryDirs = []string{
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
	"/lib64", "/usr/lib64", "/lib", "/usr/lib",
}

// SharedLibraries returns the program interpreter and the shared
// libraries (DT_NEEDED, transitively) of the ELF file name, each found
// in libraryDirs on the host. A static binary or a file that is not
// ELF (a script) has none.
func SharedLibraries(name string) ([]Library, error) {
	return sharedLibraries(name, libraryDirs)
}

func sharedLibraries(name string, dirs []string) ([]Library, error) {
	seen := map[string]bool{}
	var out []Library
	queue := []string{name}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		interp, needed, err := elfDeps(cur)
		if err != nil {
			return nil, err
		}
		if interp != "" && !seen[interp] {
			seen[interp] = true
			out = append(out, Library{Host: interp, Guest: interp})
		}
		for _, lib := range needed {
			if seen[lib] {
				continue
			}
			seen[lib] = true
			found := ""
			for _, d := range dirs {
				p := filepath.Join(d, lib)
				if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
					found = p
					break
				}
			}
			if found == "" {
				return nil, fmt.Errorf("finding %s, needed by %s, in %s: %w (install the package that ships it)", lib, cur, strings.Join(dirs, ":"), ErrUnavailable)
			}
			out = append(out, Library{Host: found, Guest: found})
			queue = append(queue, found)
		}
	}
	return out, nil
}

// elfDeps reads the PT_INTERP path and the DT_NEEDED names of one file.
// A file that is not ELF has neither.
func elfDeps(name string) (interp string, needed []string, err error) {
	magic := make([]byte, 4)
	fh, err := os.Open(name)
	if err != nil {
		return "", nil, fmt.Errorf("reading %s: %w", name, err)
	}
	_, err = io.ReadFull(fh, magic)
	fh.Close()
	if err != nil || string(magic) != elf.ELFMAG {
		return "", nil, nil
	}
	f, err := elf.Open(name)
	if err != nil {
		return "", nil, fmt.Errorf("reading ELF %s: %w", name, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b, err := io.ReadAll(p.Open())
		if err != nil {
			return "", nil, fmt.Errorf("reading PT_INTERP of %s: %w", name, err)
		}
		interp = strings.TrimRight(string(b), "\x00")
	}
	needed, err = f.ImportedLibraries()
	if err != nil {
		return "", nil, fmt.Errorf("reading DT_NEEDED of %s: %w", name, err)
	}
	return interp, needed, nil
}
