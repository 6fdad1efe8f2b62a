package rt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"unsafe"

	"github.com/rtcell/rtcell/rt/internal/telemetry"
	"golang.org/x/sys/unix"
)

// threadSetup is the undo record of setupThread.
type threadSetup struct {
	tid     int
	oldAttr *unix.SchedAttr
	oldCPUs *unix.CPUSet
	dma     *os.File
	state   ThreadState
	opts    ThreadOptions
	mlocked bool // munlockall is due
}

// setupThread applies o to the calling OS thread. The caller must hold
// runtime.LockOSThread: affinity and policy are per-thread.
func setupThread(o ThreadOptions) (*threadSetup, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	ts := &threadSetup{tid: unix.Gettid(), opts: o}
	if a, err := unix.SchedGetAttr(0, 0); err == nil {
		ts.oldAttr = a
	}
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err == nil {
		ts.oldCPUs = &old
	}
	if err := applySched(o); err != nil {
		ts.undo()
		return nil, err
	}
	if !o.NoMlock {
		if err := unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE); err != nil {
			if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOMEM) {
				ts.undo()
				return nil, fmt.Errorf("locking memory (mlockall): %w (%w): %s", ErrPermission, err, memlockAdvice())
			}
			ts.undo()
			return nil, fmt.Errorf("mlockall: %w", err)
		}
		ts.mlocked = true
		ts.state.MemLocked = true
	}
	prefaultStack(o.StackPrefault)
	if !o.NoDMALatency {
		f, err := holdDMALatency()
		if err != nil {
			ts.state.Warnings = append(ts.state.Warnings, err.Error())
		} else {
			ts.dma = f
			ts.state.DMALatency = true
		}
	}
	ts.readBack()
	return ts, nil
}

// applySched sets affinity and policy on the calling thread.
func applySched(o ThreadOptions) error {
	if o.CPU >= 0 {
		var set unix.CPUSet
		set.Set(o.CPU)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			return fmt.Errorf("setting affinity to CPU %d: %w (is the CPU online and in this process's cpuset?)", o.CPU, err)
		}
	}
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr}
	switch o.Policy {
	case PolicyFIFO:
		attr.Policy = unix.SCHED_FIFO
	case PolicyRR:
		attr.Policy = unix.SCHED_RR
	default:
		attr.Policy = unix.SCHED_NORMAL
	}
	attr.Priority = uint32(o.Priority)
	// Do not let a forked child inherit RT scheduling.
	attr.Flags = unix.SCHED_FLAG_RESET_ON_FORK
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("setting %s priority %d: %w (%w): %s", o.Policy, o.Priority, ErrPermission, err, schedAdvice(o.Priority))
		}
		return fmt.Errorf("setting %s priority %d: %w", o.Policy, o.Priority, err)
	}
	return nil
}

// readBack fills ts.state from the kernel.
func (ts *threadSetup) readBack() {
	ts.state.TID = unix.Gettid()
	if a, err := unix.SchedGetAttr(0, 0); err == nil {
		ts.state.Policy = policyName(a.Policy)
		ts.state.Priority = int(a.Priority)
	}
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err == nil {
		ts.state.CPUs = cpuList(&set)
	}
}

func policyName(p uint32) Policy {
	switch p &^ unix.SCHED_RESET_ON_FORK {
	case unix.SCHED_FIFO:
		return PolicyFIFO
	case unix.SCHED_RR:
		return PolicyRR
	default:
		return PolicyOther
	}
}

func cpuList(set *unix.CPUSet) []int {
	var cpus []int
	for i := 0; i < len(set)*64; i++ {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	return cpus
}

// undo restores what is per-thread (policy, affinity) and releases the
// process-wide holds (DMA latency, memory lock). It reports whether the
// thread is back to its old state; if not, the caller must not unlock the
// goroutine from it, so that the runtime discards the thread.
func (ts *threadSetup) undo() bool {
	if ts.dma != nil {
		ts.dma.Close()
		ts.dma = nil
	}
	if ts.mlocked {
		unix.Munlockall()
		ts.mlocked = false
	}
	ok := true
	if ts.oldAttr != nil {
		a := *ts.oldAttr
		a.Size = unix.SizeofSchedAttr
		if err := unix.SchedSetAttr(0, &a, 0); err != nil {
			ok = false
		}
	}
	if ts.oldCPUs != nil {
		if err := unix.SchedSetaffinity(0, ts.oldCPUs); err != nil {
			ok = false
		}
	}
	return ok && ts.oldAttr != nil && ts.oldCPUs != nil
}

// moveTo follows the goroutine to the calling thread tid, after it was
// found there (see Loop): the thread it left gets its old policy and
// affinity back, by TID, and the calling thread gets the RT ones.
func (ts *threadSetup) moveTo(tid int) error {
	if ts.oldAttr != nil {
		a := *ts.oldAttr
		a.Size = unix.SizeofSchedAttr
		unix.SchedSetAttr(ts.tid, &a, 0)
	}
	if ts.oldCPUs != nil {
		unix.SchedSetaffinity(ts.tid, ts.oldCPUs)
	}
	ts.tid = tid
	if err := applySched(ts.opts); err != nil {
		return err
	}
	ts.readBack()
	return nil
}

// holdDMALatency opens /dev/cpu_dma_latency and writes a 32-bit 0, as
// cyclictest does. The request holds for as long as the file stays open.
func holdDMALatency() (*os.File, error) {
	f, err := os.OpenFile("/dev/cpu_dma_latency", os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("holding /dev/cpu_dma_latency at 0: %w (deep C-states stay allowed)", err)
	}
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], 0)
	if _, err := f.Write(b[:]); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing /dev/cpu_dma_latency: %w", err)
	}
	return f, nil
}

// currentTID is the calling thread's ID, by raw syscall.
func currentTID() int {
	tid, _, _ := unix.RawSyscall(unix.SYS_GETTID, 0, 0, 0)
	return int(tid)
}

// threadCounters reads the calling thread's page faults and context
// switches (getrusage RUSAGE_THREAD). The caller holds LockOSThread.
func threadCounters() (telemetry.ThreadCounters, bool) {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_THREAD, &ru) != nil {
		return telemetry.ThreadCounters{}, false
	}
	return telemetry.ThreadCounters{
		MinFlt: uint64(ru.Minflt), MajFlt: uint64(ru.Majflt),
		VolCS: uint64(ru.Nvcsw), InvolCS: uint64(ru.Nivcsw),
	}, true
}

// nameThread names the calling thread name (its comm, cut to the
// kernel's 15 bytes) so that ps -L, top and ftrace show the loop by its
// name rather than the binary's ("exe" for a worker re-executed through
// /proc/self/exe), and returns a function that restores the old name.
// A name the kernel refuses leaves the thread as it was.
func nameThread(name string) (restore func()) {
	if name == "" {
		return func() {}
	}
	var old [16]byte
	if err := unix.Prctl(unix.PR_GET_NAME, uintptr(unsafe.Pointer(&old[0])), 0, 0, 0); err != nil {
		return func() {}
	}
	var b [16]byte
	copy(b[:15], name)
	if err := unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&b[0])), 0, 0, 0); err != nil {
		return func() {}
	}
	return func() { unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&old[0])), 0, 0, 0) }
}
