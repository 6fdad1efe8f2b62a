package metrics

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rtcell/rtcell/rt/atomicfile"
)

// WriteTextfile writes the collector's exposition to path for
// node_exporter's textfile collector (--collector.textfile.directory),
// atomically (package atomicfile): node_exporter never reads it half
// written. On error nothing is left
// behind and an existing file at path is untouched. path must end in
// .prom, the only files node_exporter reads. Missing parent directories
// are created (mode 0755); the file has mode 0644.
func WriteTextfile(path string, c *Collector) error {
	if !strings.HasSuffix(path, ".prom") {
		return fmt.Errorf("writing metrics textfile %q: node_exporter's textfile collector reads only *.prom files: name it e.g. rtcell.prom: %w", path, ErrInvalid)
	}
	// atomicfile's temporary name starts with a dot and does not end in
	// .prom, so node_exporter never reads it half written.
	return atomicfile.Write(path, c.WriteText, 0o644)
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
