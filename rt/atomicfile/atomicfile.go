// Package atomicfile writes files that readers see whole or not at all:
// reports, metrics textfiles, journals, configuration written by sysprep.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// Write writes path through write so that readers see the old
// file or the complete new one, never a part: it writes a temporary file
// in the same directory, fsyncs it, renames it over path and fsyncs the
// directory, so that the rename survives a power cut. Missing parent
// directories are created with mode 0755. On any error, including an
// error from write, nothing is left behind and an existing file at path
// is untouched.
func Write(path string, write func(io.Writer) error, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing %s: creating its directory: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 64*1024)
	if err := write(bw); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("writing %s: setting mode %v: %w", path, perm, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("writing %s: fsync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: renaming the temporary file: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		// The file is complete and in place; only its durability across
		// a crash is in doubt.
		return fmt.Errorf("writing %s: fsync of directory %s: %w", path, dir, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	// Some file systems cannot fsync a directory; that is not a failure
	// of the write.
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		return nil
	}
	return err
}
