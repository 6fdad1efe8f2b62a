package trace

import (
	"fmt"
	"io"
)

// WriteText writes c as the text report shows it, in the layout of rtla
// timerlat's auto-analysis: the latency, then one line per contributor,
// largest first, with µs and its share of the latency, then the
// unexplained rest.
//
//	latency                                                 1616.77 us
//	thread    rtcell-hog:14131 FIFO 95 (preempted)          1596.00 us (98.72 %)
//	wakeup    rtcell-loop:14134                               12.13 us ( 0.75 %)
//	timer_irq hrtimer_wakeup                                   5.64 us ( 0.35 %)
//	irq       local_timer                                      3.00 us ( 0.19 %)
//	unexplained (hardware, firmware or hypervisor)             0.00 us ( 0.00 %)
func WriteText(w io.Writer, c *Cause, latencyNs int64) error {
	if _, err := fmt.Fprintf(w, "  %-52s %10.2f us\n", "latency", float64(latencyNs)/1e3); err != nil {
		return err
	}
	for _, k := range c.Contributors {
		name := k.Name
		if k.Preempted {
			name += " (preempted)"
		}
		if _, err := fmt.Fprintf(w, "  %-9s %-42s %10.2f us (%5.2f %%)\n", k.Kind, name, float64(k.Ns)/1e3, k.Pct); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "  %-52s %10.2f us (%5.2f %%)\n", "unexplained (hardware, firmware or hypervisor)", float64(c.UnexplainedNs)/1e3, c.UnexplainedPct)
	return err
}
