package rt

import (
	"fmt"
	"strings"
)

// Policy is a Linux scheduling policy for the loop's thread.
type Policy string

// Scheduling policies. PolicyOther is the normal time-sharing policy; it
// is used only when a caller explicitly allows a run that is not real-time.
const (
	PolicyFIFO  Policy = "fifo"
	PolicyRR    Policy = "rr"
	PolicyOther Policy = "other"
)

// ThreadOptions says how to set up the OS thread that runs a loop.
type ThreadOptions struct {
	// CPU pins the thread to one CPU; -1 leaves the affinity alone. The
	// zero value means auto: the first isolated CPU (isolcpus=), else
	// the last online CPU, as the runner's config does (AutoCPU); a
	// Program gives tasks on auto distinct isolated CPUs while there are
	// free ones. CPU 0 itself, the housekeeping CPU, takes Pin.
	CPU int
	// Pin pins the thread to CPU even when CPU is 0. Any other CPU is
	// pinned without it.
	Pin bool
	// Policy and Priority (1–99 for fifo and rr) are set with sched_setattr.
	Policy   Policy
	Priority int
	// NoMlock skips mlockall(MCL_CURRENT|MCL_FUTURE). Locking memory is
	// process-wide and needs CAP_IPC_LOCK or a large RLIMIT_MEMLOCK; it
	// keeps page faults (milliseconds on a busy disk) out of the loop.
	NoMlock bool
	// NoDMALatency skips holding /dev/cpu_dma_latency at 0, which keeps
	// every CPU out of deep C-states for the run (as cyclictest does).
	// It is system-wide and needs root.
	NoDMALatency bool
	// StackPrefault is how many bytes of goroutine stack to grow and touch
	// before the loop starts (default 64 KiB). With the GC off, the stack
	// never shrinks again, so the loop never pays for stack growth.
	StackPrefault int
}

// ThreadState is what was read back from the kernel after set-up, so that
// a report shows what was in effect rather than what was asked for.
type ThreadState struct {
	TID        int    `json:"tid"`
	Policy     Policy `json:"policy"`
	Priority   int    `json:"priority"`
	CPUs       []int  `json:"cpus"`
	MemLocked  bool   `json:"mem_locked"`
	DMALatency bool   `json:"dma_latency_held"`
	// Warnings lists what could not be set up but was not required.
	Warnings []string `json:"warnings,omitempty"`
}

// String formats the state like "tid 1234 fifo:90 cpus [1] mlock dma0".
func (s ThreadState) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tid %d %s:%d cpus %v", s.TID, s.Policy, s.Priority, s.CPUs)
	if s.MemLocked {
		b.WriteString(" mlock")
	}
	if s.DMALatency {
		b.WriteString(" dma0")
	}
	return b.String()
}

func (o ThreadOptions) validate() error {
	switch o.Policy {
	case PolicyFIFO, PolicyRR:
		if o.Priority < 1 || o.Priority > 99 {
			return fmt.Errorf("priority %d for policy %s is outside 1–99: %w", o.Priority, o.Policy, ErrInvalid)
		}
	case PolicyOther:
		if o.Priority != 0 {
			return fmt.Errorf("priority %d with policy other: want 0: %w", o.Priority, ErrInvalid)
		}
	default:
		return fmt.Errorf("policy %q: want fifo, rr or other: %w", o.Policy, ErrInvalid)
	}
	if o.CPU < -1 {
		return fmt.Errorf("cpu %d: want a CPU number or -1: %w", o.CPU, ErrInvalid)
	}
	if o.Pin && o.CPU < 0 {
		return fmt.Errorf("cpu %d with Pin: want a CPU number: %w", o.CPU, ErrInvalid)
	}
	return nil
}

// schedAdvice says what the running binary lacks when the kernel refuses
// an RT priority.
func schedAdvice(prio int) string {
	exe := progName()
	return fmt.Sprintf("%s needs CAP_SYS_NICE (run it as root, or grant the file capability: "+
		"setcap cap_sys_nice,cap_ipc_lock+ep %s), or an RLIMIT_RTPRIO of at least %d "+
		"(`rtprio %d` in /etc/security/limits.conf, or LimitRTPRIO=%d in a systemd unit)", exe, exe, prio, prio, prio)
}

// memlockAdvice says what the running binary lacks when mlockall is
// refused.
func memlockAdvice() string {
	exe := progName()
	return fmt.Sprintf("%s needs CAP_IPC_LOCK (run it as root, or grant the file capability: "+
		"setcap cap_sys_nice,cap_ipc_lock+ep %s), or an unlimited RLIMIT_MEMLOCK "+
		"(`memlock unlimited` in /etc/security/limits.conf, or LimitMEMLOCK=infinity in a systemd unit)", exe, exe)
}

// auto reports whether the CPU is left for AutoCPU to choose.
func (o ThreadOptions) auto() bool { return o.CPU == 0 && !o.Pin }
