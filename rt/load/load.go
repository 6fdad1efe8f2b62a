package load

import (
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/rtcell/rtcell/rt/cpulist"
)

// Names of the load generators, as found on PATH.
const (
	StressNG  = "stress-ng"
	Hackbench = "hackbench"
)

// Packages name the Debian package of each generator, for the remedy
// of ErrNotInstalled.
var Packages = map[string]string{StressNG: "stress-ng", Hackbench: "rt-tests"}

// Spec says what load runs and where.
type Spec struct {
	// StressNG runs stress-ng with StressNGArgs, or, when they are nil,
	// with DefaultStressNGArgs for the number of CPUs.
	StressNG     bool
	StressNGArgs []string
	// Hackbench runs hackbench in a loop, with HackbenchArgs or, when
	// they are nil, DefaultHackbenchArgs.
	Hackbench     bool
	HackbenchArgs []string
	// CPUs are the CPUs every load process is confined to (its
	// affinity, inherited by everything it forks). They must not
	// include a CPU that runs a real-time task; see Housekeeping.
	CPUs []int
}

// Command is one load generator as it runs.
type Command struct {
	Name string   // StressNG or Hackbench
	Argv []string // argv, Name first
	// Loop restarts the command each time it ends normally (hackbench
	// runs a fixed number of messages, then exits).
	Loop bool
}

// Cmdline is the command as a shell would show it.
func (c Command) Cmdline() string { return strings.Join(c.Argv, " ") }

// DefaultStressNGArgs are stress-ng's arguments for ncpu load CPUs when
// the config says only `stress_ng = true`. They follow what rteval loads
// a box with (hackbench for the scheduler, a kernel build for CPU, memory
// and I/O), in one tool that needs no source tree:
//   - --cpu ncpu: one CPU hog per load CPU keeps every one of them
//     busy, so the RT CPUs' siblings share caches and memory bandwidth
//     with a busy neighbour all the time;
//   - --vm and --vm-bytes 64M: page faults, page reclaim and TLB
//     shootdowns, which send IPIs to every CPU the process ran on and
//     touch kernel locks the RT CPUs' kernels also take;
//   - --switch: context switches between pipe-connected pairs, the
//     scheduler load hackbench also gives;
//   - --timer 1: a stream of hrtimer interrupts and softirqs on a load
//     CPU, so timer bases and the timer softirq are busy.
//
// --vm and --switch scale with half the load CPUs (at least one), so
// the CPU hogs stay the larger share; the memory they take is bounded
// by 64 MiB per --vm worker.
func DefaultStressNGArgs(ncpu int) []string {
	ncpu = max(ncpu, 1)
	half := strconv.Itoa(max(1, ncpu/2))
	return []string{"--cpu", strconv.Itoa(ncpu), "--vm", half, "--vm-bytes", "64M", "--switch", half, "--timer", "1"}
}

// DefaultHackbenchArgs are hackbench's arguments for ncpu load CPUs:
// processes (-P, as rteval), two groups of 20 senders and 20 receivers
// per load CPU exchanging 512-byte messages over sockets, 200 loops,
// which takes about a second here, so the loop restarts it often and
// fork and exit are part of the load too.
func DefaultHackbenchArgs(ncpu int) []string {
	return []string{"-P", "-g", strconv.Itoa(2 * max(ncpu, 1)), "-l", "200", "-s", "512"}
}

// Commands returns the generators the spec runs, with their arguments
// resolved, or an error for a spec that runs nothing or has no CPU.
func (s Spec) Commands() ([]Command, error) {
	if len(s.CPUs) == 0 {
		return nil, fmt.Errorf("load spec: %w", ErrNoCPUs)
	}
	var cmds []Command
	if s.StressNG {
		args := s.StressNGArgs
		if args == nil {
			args = DefaultStressNGArgs(len(s.CPUs))
		}
		cmds = append(cmds, Command{Name: StressNG, Argv: append([]string{StressNG}, args...)})
	}
	if s.Hackbench {
		args := s.HackbenchArgs
		if args == nil {
			args = DefaultHackbenchArgs(len(s.CPUs))
		}
		cmds = append(cmds, Command{Name: Hackbench, Argv: append([]string{Hackbench}, args...), Loop: true})
	}
	if len(cmds) == 0 {
		return nil, fmt.Errorf("load spec runs neither stress-ng nor hackbench: %w", ErrInvalid)
	}
	return cmds, nil
}

// CheckInstalled returns an error wrapping ErrNotInstalled that names
// the first generator of the spec that is not on PATH, and its package.
func (s Spec) CheckInstalled() error {
	cmds, err := s.Commands()
	if err != nil {
		return err
	}
	for _, c := range cmds {
		if err := Installed(c.Name); err != nil {
			return err
		}
	}
	return nil
}

// Installed returns nil when the generator name is on PATH, else an
// error wrapping ErrNotInstalled that names its Debian package.
func Installed(name string) error {
	if _, err := exec.LookPath(name); err != nil {
		return fmt.Errorf("%s is not on PATH (Debian package %s): %w", name, Packages[name], ErrNotInstalled)
	}
	return nil
}

// Housekeeping returns the CPUs for the load: every online CPU that runs
// no task. It fails with ErrNoCPUs when the tasks take every online CPU.
func Housekeeping(online, taskCPUs []int) ([]int, error) {
	var hk []int
	for _, c := range online {
		if !slices.Contains(taskCPUs, c) {
			hk = append(hk, c)
		}
	}
	if len(hk) == 0 {
		return nil, fmt.Errorf("tasks run on every online CPU (%s): %w", cpulist.Format(online), ErrNoCPUs)
	}
	return hk, nil
}

// Result is what ran: the load CPUs and each generator.
type Result struct {
	CPUs     []int           `json:"cpus"`
	Commands []CommandResult `json:"commands"`
}

// CommandResult is one generator's record.
type CommandResult struct {
	Name    string `json:"name"`
	Cmdline string `json:"cmdline"`
	// Starts counts how often it was started (hackbench loops).
	Starts int `json:"starts"`
	// Error says why it failed to start or ended before the load was
	// stopped, with the tail of its stderr.
	Error string `json:"error,omitempty"`
}
