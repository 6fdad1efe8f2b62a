package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/rtcell/rtcell/rt/trace"
)

// writeTraceText writes a task's trace-on-threshold record: the
// threshold and the breach, then the cause as rtla timerlat -a lays it
// out, one line per contributor with µs and % of the latency, largest
// first, the unexplained rest, and the total.
func writeTraceText(w io.Writer, tr *Trace) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	if tr.BreachCycle == nil {
		p("  %-10sthreshold %s µs: no cycle exceeded it\n", "trace", us(tr.ThresholdNs))
		return
	}
	p("  %-10sthreshold %s µs: cycle %d woke %s µs after its release", "trace", us(tr.ThresholdNs), *tr.BreachCycle, us(tr.LatencyNs))
	if tr.File != "" {
		p("; trace saved to %s", tr.File)
	}
	p("\n")
	if tr.Error != "" {
		p("  %-10s%s\n", "", tr.Error)
	}
	if c := tr.Cause; c != nil {
		writeCause(w, c, tr.LatencyNs)
	}
}

// writeCause prints the contributors of a cause, as rtla timerlat's
// auto-analysis does:
//
//	thread      rtcell-hog:4242 FIFO 95 (preempted)      2950.1 µs ( 97.93 %)
func writeCause(w io.Writer, c *trace.Cause, latencyNs int64) {
	const width = 44
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("  %-10scause of the latency, largest first:\n", "")
	for _, x := range c.Contributors {
		name := x.Name
		if x.Kind == trace.KindThread && x.Preempted {
			name += " (preempted)"
		}
		if len(name) > width {
			name = name[:width-1] + "…"
		}
		p("  %-10s%-11s %-*s %9s µs (%6.2f %%)\n", "", x.Kind, width, name, us(x.Ns), x.Pct)
	}
	if c.UnexplainedNs != 0 || len(c.Contributors) == 0 {
		p("  %-10s%-11s %-*s %9s µs (%6.2f %%)\n", "", "unexplained", width, "hardware, firmware or hypervisor", us(c.UnexplainedNs), c.UnexplainedPct)
	}
	p("  %-10s%s\n", "", strings.Repeat("-", 11+1+width+1+12+11))
	p("  %-10s%-11s %-*s %9s µs (100 %%)\n", "", "latency", width, "", us(latencyNs))
}
