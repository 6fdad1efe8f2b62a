// Package trace records a late wake-up of an RT loop with ftrace and says
// why it was late.
//
// An Instance is a private ftrace instance (instances/rtcell-PID under
// tracefs, never the global buffer) with trace_clock "mono", so that its
// timestamps are the loop's CLOCK_MONOTONIC release and wake times, and
// with the scheduler, interrupt, softirq, timer, IPI and workqueue events
// enabled on the RT CPUs. The loop stops it on the first cycle whose
// latency crosses a threshold (a marker and a write of 0 to tracing_on:
// nothing else on the RT path). Analyze then reads the frozen trace and
// splits the interval from the release to the wake-up into contributors
// that add up to the measured latency, as rtla timerlat's auto-analysis
// does for its own timer.
package trace
