package runner

import (
	"fmt"
	"math"
	"strings"
	"syscall"

	"github.com/prometheus/procfs"
)

// A round is marked busy, and the comparison unreliable, when one of
// these holds. Both tools measure how fast the kernel wakes a thread on
// the RT CPU; what else ran on the box in the same seconds moves both
// figures, and moves them differently in the two halves of a round.
const (
	// busyStealPct: share of the RT CPU's time in the round that the
	// hypervisor gave to another guest (steal in /proc/stat). A vCPU
	// that is not running wakes no thread, however good the loop.
	busyStealPct = 5.0
	// busyOtherPct: share of the RT CPU's time in the round that tasks
	// other than the two measured ones (cyclictest, the rtcell worker)
	// ran there. A measuring loop asleep between cycles uses about 1–2 %
	// at 1 kHz; whatever runs beside it may delay its wake-ups.
	busyOtherPct = 5.0
)

// Busy is how busy the box was during one round of a comparison. Reason
// is empty when the round was quiet enough to compare; otherwise it says
// why not. Error, when set, says why the round could not be checked.
type Busy struct {
	// LoadAvg1 is the 1-minute load average at the end of the round,
	// against CPUs, the number of online CPUs.
	LoadAvg1 float64 `json:"loadavg1"`
	CPUs     int     `json:"cpus"`
	// StealPct is the share of the RT CPU's time stolen by the
	// hypervisor during the round, in %.
	StealPct float64 `json:"steal_pct"`
	// OtherPct is the share of the RT CPU's time that other tasks ran
	// there during the round, in %: its busy time (user, nice, system,
	// irq, softirq) less the CPU time of the round's own processes.
	OtherPct float64 `json:"other_pct"`
	Reason   string  `json:"reason,omitempty"`
	Error    string  `json:"error,omitempty"`
}

// busySample is the state at one end of a round.
type busySample struct {
	cpu procfs.CPUStat
	// ownSec is the CPU time, in s, of this process's children that
	// have exited and been reaped (getrusage RUSAGE_CHILDREN): by the
	// end of a round, cyclictest and the rtcell worker.
	ownSec float64
}

// busyMeter samples the RT CPU's times around a round.
type busyMeter struct {
	fs        procfs.FS
	cpu, cpus int
	// loaded: background load runs on the other CPUs on purpose, so a
	// load average above the CPU count is expected and not a reason.
	loaded bool
}

func newBusyMeter(procRoot string, cpu, cpus int, loaded bool) (*busyMeter, error) {
	fs, err := procfs.NewFS(procRoot)
	if err != nil {
		return nil, fmt.Errorf("reading %s for the busy check: %w", procRoot, err)
	}
	return &busyMeter{fs: fs, cpu: cpu, cpus: cpus, loaded: loaded}, nil
}

func (m *busyMeter) sample() (busySample, error) {
	st, err := m.fs.Stat()
	if err != nil {
		return busySample{}, fmt.Errorf("reading cpu times: %w", err)
	}
	c, ok := st.CPU[int64(m.cpu)]
	if !ok {
		return busySample{}, fmt.Errorf("reading cpu times: no line for CPU %d", m.cpu)
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return busySample{}, fmt.Errorf("reading the children's cpu time: %w", err)
	}
	own := float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	return busySample{cpu: c, ownSec: own}, nil
}

// end samples the end of a round that began at before and judges it.
func (m *busyMeter) end(before busySample) Busy {
	after, err := m.sample()
	if err != nil {
		return Busy{CPUs: m.cpus, Error: err.Error()}
	}
	la, err := m.fs.LoadAvg()
	if err != nil {
		return Busy{CPUs: m.cpus, Error: fmt.Sprintf("reading the load average: %v", err)}
	}
	return judgeBusy(before, after, la.Load1, m.cpu, m.cpus, m.loaded)
}

// judgeBusy compares two samples of the RT CPU taken at the ends of a
// round, with the load average at its end, against the thresholds.
func judgeBusy(before, after busySample, load1 float64, cpu, cpus int, loaded bool) Busy {
	b, a := before.cpu, after.cpu
	d := func(x, y float64) float64 { return math.Max(0, y-x) }
	steal := d(b.Steal, a.Steal)
	busy := d(b.User, a.User) + d(b.Nice, a.Nice) + d(b.System, a.System) + d(b.IRQ, a.IRQ) + d(b.SoftIRQ, a.SoftIRQ)
	total := busy + steal + d(b.Idle, a.Idle) + d(b.Iowait, a.Iowait)
	res := Busy{LoadAvg1: load1, CPUs: cpus}
	if total <= 0 {
		res.Error = fmt.Sprintf("no time passed on CPU %d in /proc/stat (a round shorter than a clock tick?)", cpu)
		return res
	}
	other := math.Max(0, busy-d(before.ownSec, after.ownSec))
	res.StealPct = round1(100 * steal / total)
	res.OtherPct = round1(100 * other / total)
	var why []string
	if !loaded && cpus > 0 && load1 > float64(cpus) {
		why = append(why, fmt.Sprintf("load average %.2f above %d CPUs", load1, cpus))
	}
	if res.StealPct > busyStealPct {
		why = append(why, fmt.Sprintf("%.1f %% of CPU %d's time stolen by the hypervisor (limit %.0f %%)", res.StealPct, cpu, busyStealPct))
	}
	if res.OtherPct > busyOtherPct {
		why = append(why, fmt.Sprintf("other tasks ran %.1f %% of the time on CPU %d (limit %.0f %%)", res.OtherPct, cpu, busyOtherPct))
	}
	res.Reason = strings.Join(why, "; ")
	return res
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
