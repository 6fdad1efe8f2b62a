package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// WriteTextfile writes the collector's exposition to path for
// node_exporter's textfile collector (--collector.textfile.directory),
// atomically: it writes a temporary file in the same directory, whose name
// does not end in .prom so that node_exporter never reads it half
// written, fsyncs it, and renames it over path. On error nothing is left
// behind and an existing file at path is untouched. path must end in
// .prom, the only files node_exporter reads. Missing parent directories
// are created (mode 0755); the file has mode 0644.
func WriteTextfile(path string, c *Collector) (err error) {
	if !strings.HasSuffix(path, ".prom") {
		return fmt.Errorf("writing metrics textfile %q: node_exporter's textfile collector reads only *.prom files: name it e.g. rtcell.prom: %w", path, ErrInvalid)
	}
	var buf bytes.Buffer
	if err := c.WriteText(&buf); err != nil {
		return fmt.Errorf("writing metrics textfile %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing metrics textfile %s: creating its directory: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing metrics textfile: %w (is the directory writable?)", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing metrics textfile %s: %w", tmp, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("writing metrics textfile %s: setting mode 0644: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("writing metrics textfile %s: fsync: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing metrics textfile %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing metrics textfile %s: renaming the temporary file: %w", path, err)
	}
	// Make the rename durable; a file system that cannot fsync a
	// directory is no failure of the write.
	if d, derr := os.Open(dir); derr == nil {
		serr := d.Sync()
		d.Close()
		if serr != nil && !errors.Is(serr, syscall.EINVAL) && !errors.Is(serr, errors.ErrUnsupported) {
			return fmt.Errorf("writing metrics textfile %s: fsync of directory %s: %w", path, dir, serr)
		}
	}
	return nil
}

// WriteTextfileEvery writes the textfile at once, then every interval,
// and a last time when ctx ends, so that the file holds the tasks' final
// statistics. It returns nil when ctx ends and the last write succeeded,
// or the first error. node_exporter re-reads the file at each of its own
// scrapes; an interval of 10–15 s suits the usual 15 s scrape interval.
func WriteTextfileEvery(ctx context.Context, path string, interval time.Duration, c *Collector) error {
	if interval <= 0 {
		return fmt.Errorf("writing metrics textfile %s every %v: the interval must be positive, e.g. 10s: %w", path, interval, ErrInvalid)
	}
	if err := WriteTextfile(path, c); err != nil {
		return err
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return WriteTextfile(path, c)
		case <-tick.C:
			if err := WriteTextfile(path, c); err != nil {
				return err
			}
		}
	}
}
