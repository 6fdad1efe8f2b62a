package trace

import (
	"bufio"
	"fmt"
	"io"
)

// WriteExcerpt copies to w the header (comment lines) of the trace in r
// and its lines from fromNs to toNs (toNs 0: to the end), streaming, in
// bounded memory. Lines that are not events (lost-event notes,
// stack-trace lines, malformed lines) are kept when they fall between
// kept events. Analyze needs the events some ms before the release (to
// know what ran at it) and those up to the loop's marker: an excerpt from
// release − 20 ms to the end of a frozen trace is enough.
func WriteExcerpt(w io.Writer, r io.Reader, fromNs, toNs int64) error {
	sc := NewScanner(r)
	bw := bufio.NewWriter(w)
	in := false // inside the window: keep non-event lines too
	for {
		line, err := sc.readLine()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading trace: %w", err)
		}
		keep := false
		switch {
		case len(line) > 0 && line[0] == '#':
			keep = true
		default:
			var ev Event
			if parseLine(line, &ev) == nil && ev.Kind != EvLost {
				in = ev.TimeNs >= fromNs && (toNs == 0 || ev.TimeNs <= toNs)
				if toNs != 0 && ev.TimeNs > toNs {
					return flush(bw)
				}
			}
			keep = in
		}
		if keep {
			bw.WriteString(line)
			bw.WriteByte('\n')
		}
	}
	return flush(bw)
}

func flush(bw *bufio.Writer) error {
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing trace excerpt: %w", err)
	}
	return nil
}
