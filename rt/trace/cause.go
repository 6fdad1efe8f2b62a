package trace

// Kind names what took a share of a late wake-up. The names are part of
// the JSON contract (tasks[i].trace.cause.contributors[j].kind).
type Kind string

const (
	// KindTimerIRQ is the time from the release (the programmed expiry of
	// the loop's hrtimer) to the expiry handler running: the timer
	// interrupt's own delay.
	KindTimerIRQ Kind = "timer_irq"
	// KindIRQ is one hard interrupt handler that ran on the CPU in the
	// interval, named "irq/NUM ACTION" (or the x86 vector, e.g.
	// "local_timer", "reschedule").
	KindIRQ Kind = "irq"
	// KindSoftIRQ is one softirq vector that ran, named by vector
	// (TIMER, NET_RX, RCU, …).
	KindSoftIRQ Kind = "softirq"
	// KindNMI is a non-maskable interrupt, where the kernel records it.
	KindNMI Kind = "nmi"
	// KindThread is another thread that ran on the CPU in the interval,
	// named "comm:pid POLICY PRIO" (e.g. "hog:4711 FIFO 95").
	KindThread Kind = "thread"
	// KindWakeup is the loop's own waking → switch-in delay not covered
	// by any of the above (the scheduler's own path).
	KindWakeup Kind = "wakeup"
)

// Contributor is one share of a late wake-up.
type Contributor struct {
	Kind Kind   `json:"kind"`
	Name string `json:"name"`
	CPU  int    `json:"cpu"`
	// Ns is the time it took inside the interval from the release to the
	// wake-up; Pct is Ns as a percentage of the measured latency.
	Ns  int64   `json:"ns"`
	Pct float64 `json:"pct"`
	// Preempted is set for a thread that ran at a higher priority than
	// the loop (it preempted it); unset, the thread held the CPU (it was
	// running, e.g. in the kernel, when the loop became runnable).
	Preempted bool `json:"preempted,omitempty"`
}

// Cause splits one late wake-up into contributors. The contributors'
// Ns and UnexplainedNs add up to the measured latency.
type Cause struct {
	// Contributors are sorted by Ns, largest first.
	Contributors []Contributor `json:"contributors"`
	// UnexplainedNs is the part no kernel event covers: time the CPU was
	// taken away below the kernel (SMI, firmware, a hypervisor preempting
	// the vCPU).
	UnexplainedNs  int64   `json:"unexplained_ns"`
	UnexplainedPct float64 `json:"unexplained_pct"`
}

// Breach identifies the late wake-up to analyse in a trace.
type Breach struct {
	// CPU the loop ran on and TID of its thread.
	CPU int
	TID int
	// ReleaseNs is the cycle's release (the programmed absolute expiry)
	// and WakeNs the time the loop read after waking, both on
	// CLOCK_MONOTONIC, the clock of an instance with trace_clock "mono".
	ReleaseNs int64
	WakeNs    int64
}
