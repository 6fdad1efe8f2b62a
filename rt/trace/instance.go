package trace

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rtcell/rtcell/rt/internal/errs"
)

// Sentinel errors, shared with package rt (errors.Is(err, rt.ErrPermission)
// holds for an error of this package).
var (
	// ErrNotSupported: ftrace needs Linux.
	ErrNotSupported = errs.ErrNotSupported
	// ErrPermission: tracefs refused (it needs root or CAP_SYS_ADMIN to
	// mount, and root to create an instance).
	ErrPermission = errs.ErrPermission
	// ErrInvalid: a bad option.
	ErrInvalid = errs.ErrInvalid
)

// DefaultRoot is where tracefs is mounted, and where NewInstance mounts
// it when it is not.
const DefaultRoot = "/sys/kernel/tracing"

// DefaultBufferKB is the per-CPU ring buffer of an instance, in KiB. At
// 1 kHz the enabled events fill about 0.5 MiB a second on a quiet CPU,
// so it holds the last seconds before a breach: far more than the few
// milliseconds the analysis reads.
const DefaultBufferKB = 1024

// InstancePrefix starts the name of every instance rtcell creates; the
// PID of the creating process follows ("rtcell-4711"), so that a stale
// one can be told from a live one.
const InstancePrefix = "rtcell-"

// InstanceOptions configures NewInstance.
type InstanceOptions struct {
	// Root is the tracefs mount point; default DefaultRoot. Only the
	// default is mounted when it is not already.
	Root string
	// CPUs are the CPUs to trace (tracing_cpumask); empty means all.
	CPUs []int
	// BufferKB is the per-CPU buffer size (buffer_size_kb); default
	// DefaultBufferKB.
	BufferKB int
}

// Events are the events an instance enables, where the kernel has them,
// as "system/event"; "system/*" stands for every event of the system
// whose name passes the system's filter (see wantEvent). They are what
// the cause analysis reads: who ran (sched), what interrupted
// (irq, softirq, the x86 vectors, NMIs, IPIs), the loop's timer, kernel
// work items, and osnoise's own noise events.
var Events = []string{
	"sched/sched_switch",
	"sched/sched_waking",
	"sched/sched_wakeup",
	"irq/irq_handler_entry",
	"irq/irq_handler_exit",
	"irq/softirq_entry",
	"irq/softirq_exit",
	"irq_vectors/*",
	"timer/hrtimer_expire_entry",
	"timer/hrtimer_expire_exit",
	"ipi/*",
	"nmi/nmi_handler",
	"workqueue/workqueue_execute_start",
	"workqueue/workqueue_execute_end",
	"osnoise/*",
}

// wantEvent filters the events of a system enabled with "system/*": of
// the x86 vectors, only the handler entries and exits (not vector
// allocation bookkeeping); of the others, all.
func wantEvent(system, event string) bool {
	if system == "irq_vectors" {
		return strings.HasSuffix(event, "_entry") || strings.HasSuffix(event, "_exit")
	}
	return true
}

// cpuMask formats CPUs as tracing_cpumask wants them: hexadecimal,
// 32-bit groups separated by commas, most significant first.
func cpuMask(cpus []int) (string, error) {
	top := -1
	for _, c := range cpus {
		if c < 0 || c >= 8192 {
			return "", fmt.Errorf("cpu %d: want 0–8191: %w", c, ErrInvalid)
		}
		top = max(top, c)
	}
	if top < 0 {
		return "", fmt.Errorf("no cpus: %w", ErrInvalid)
	}
	words := make([]uint32, top/32+1)
	for _, c := range cpus {
		words[c/32] |= 1 << (c % 32)
	}
	var b strings.Builder
	for i := len(words) - 1; i >= 0; i-- {
		if i == len(words)-1 {
			b.WriteString(strconv.FormatUint(uint64(words[i]), 16))
		} else {
			fmt.Fprintf(&b, ",%08x", words[i])
		}
	}
	return b.String(), nil
}

// stalePID returns the PID in an rtcell instance name, and false for a
// name that is not one.
func stalePID(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, InstancePrefix)
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 || strconv.Itoa(pid) != s {
		return 0, false
	}
	return pid, true
}
