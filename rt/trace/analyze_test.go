package trace

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tl formats one trace line at µs offset us after 10 s.
func tl(comm string, pid, cpu int, flags string, us int, event string) string {
	return fmt.Sprintf("%16s-%-7d [%03d] %s %6d.%06d: %s", comm, pid, cpu, flags, 10+us/1_000_000, us%1_000_000, event)
}

const hdr = `# tracer: nop
#
# entries-in-buffer/entries-written: 40/40   #P:2
#
#                                _-----=> irqs-off/BH-disabled
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
`

func at(us int) int64 { return 10_000_000_000 + int64(us)*1000 }

// sumOf checks the sum rule and returns the contributors by "kind name".
func sumOf(t *testing.T, c *Cause, latencyNs int64) map[string]Contributor {
	t.Helper()
	got := map[string]Contributor{}
	sum := c.UnexplainedNs
	for i, k := range c.Contributors {
		if k.Ns <= 0 {
			t.Errorf("contributor %+v has no time", k)
		}
		if i > 0 && k.Ns > c.Contributors[i-1].Ns {
			t.Errorf("contributors not sorted largest first: %+v after %+v", k, c.Contributors[i-1])
		}
		sum += k.Ns
		got[string(k.Kind)+" "+k.Name] = k
	}
	if sum != latencyNs {
		t.Errorf("contributors and unexplained sum to %d ns, latency is %d ns", sum, latencyNs)
	}
	return got
}

// The hand-made trace: the loop (TID 100, FIFO 90) sleeps; a FIFO 95 hog
// runs when the release comes at 100 µs; the timer interrupt enters at
// 110, the loop's hrtimer expires at 112 and wakes it; the hog keeps the
// CPU, interrupted by a disk IRQ, a BLOCK softirq and an NMI, until it
// sleeps at 1900; the loop then runs for 100 µs without an event before
// its clock read at 2000 (half of that over SilentKernelNs). CPU 0's
// events must not count.
var handTrace = hdr + strings.Join([]string{
	tl("loop", 100, 1, "d..2.", 50, "sched_switch: prev_comm=loop prev_pid=100 prev_prio=9 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120"),
	tl("<idle>", 0, 1, "d..2.", 80, "sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=hog next_pid=200 next_prio=4"),
	tl("bash", 7, 0, "d.h..", 105, "irq_handler_entry: irq=40 name=eth0"),
	tl("hog", 200, 1, "d.h..", 110, "local_timer_entry: vector=236"),
	tl("bash", 7, 0, "d.h..", 111, "irq_handler_exit: irq=40 ret=handled"),
	tl("hog", 200, 1, "d.h..", 112, "hrtimer_expire_entry: hrtimer=00000000aaaa function=hrtimer_wakeup now=10000112000"),
	tl("hog", 200, 1, "d.h2.", 113, "sched_waking: comm=loop pid=100 prio=9 target_cpu=001"),
	tl("hog", 200, 1, "dNh3.", 114, "sched_wakeup: comm=loop pid=100 prio=9 target_cpu=001"),
	tl("hog", 200, 1, "dNh..", 115, "hrtimer_expire_exit: hrtimer=00000000aaaa"),
	tl("hog", 200, 1, "dNh..", 117, "local_timer_exit: vector=236"),
	tl("hog", 200, 1, "d.h..", 300, "irq_handler_entry: irq=36 name=virtio1-req.0"),
	tl("hog", 200, 1, "d.h..", 310, "irq_handler_exit: irq=36 ret=handled"),
	tl("hog", 200, 1, "..s..", 310, "softirq_entry: vec=4 [action=BLOCK]"),
	tl("bash", 7, 0, "d..2.", 320, "sched_switch: prev_comm=bash prev_pid=7 prev_prio=120 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120"),
	tl("hog", 200, 1, "..s..", 330, "softirq_exit: vec=4 [action=BLOCK]"),
	tl("hog", 200, 1, "d.Z..", 1000, "nmi_handler: handler=perf_event_nmi_handler+0x0/0x30 delta_ns=5000 handled=1"),
	tl("hog", 200, 1, "d..2.", 1900, "sched_switch: prev_comm=hog prev_pid=200 prev_prio=4 prev_state=S ==> next_comm=loop next_pid=100 next_prio=9"),
	tl("loop", 100, 1, "...1.", 2003, "tracing_mark_write: rtcell: task=t cycle=7 latency=1900000ns"),
	tl("loop", 100, 1, "d..2.", 2010, "sched_switch: prev_comm=loop prev_pid=100 prev_prio=9 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120"),
}, "\n") + "\n"

func TestAnalyzeHandMade(t *testing.T) {
	b := Breach{CPU: 1, TID: 100, ReleaseNs: at(100), WakeNs: at(2000)}
	c, err := Analyze(strings.NewReader(handTrace), b)
	if err != nil {
		t.Fatal(err)
	}
	got := sumOf(t, c, 1_900_000)
	want := map[string]int64{
		"thread hog:200 FIFO 95":   1_748_000, // 117–1900 less the IRQ, softirq and NMI
		"wakeup loop:100":          53_000,    // its hrtimer callback 3 µs, its own run 50 µs of 100
		"softirq BLOCK":            20_000,
		"timer_irq hrtimer_wakeup": 12_000, // release to the hrtimer's entry
		"irq irq/36 virtio1-req.0": 10_000,
		"nmi nmi":                  5_000,
		"irq local_timer":          2_000, // the timer vector after the loop's expiry
	}
	for k, ns := range want {
		if got[k].Ns != ns {
			t.Errorf("%s: %d ns, want %d", k, got[k].Ns, ns)
		}
	}
	if len(got) != len(want) {
		t.Errorf("contributors %v, want %v", c.Contributors, want)
	}
	if c.UnexplainedNs != 50_000 {
		t.Errorf("unexplained %d ns, want 50000", c.UnexplainedNs)
	}
	top := c.Contributors[0]
	if top.Kind != KindThread || !top.Preempted || top.CPU != 1 || top.Pct != 92 {
		t.Errorf("top contributor %+v, want the hog, preempted, 92 %%", top)
	}
	if got["softirq BLOCK"].Preempted {
		t.Error("a softirq marked preempted")
	}
}

func TestAnalyzeFindsBreachByMarker(t *testing.T) {
	// The marker says 1800 µs; the loop was switched in at 1900 after its
	// timer woke it, so the wake-up is 1900 and the release 100.
	tr := strings.Replace(handTrace, "latency=1900000ns", "latency=1800000ns", 1)
	c, err := Analyze(strings.NewReader(tr), Breach{})
	if err != nil {
		t.Fatal(err)
	}
	got := sumOf(t, c, 1_800_000)
	if k := c.Contributors[0]; k.Name != "hog:200 FIFO 95" || k.CPU != 1 || k.Ns != 1_748_000 {
		t.Errorf("top %+v, want the hog on CPU 1, 1748 µs", k)
	}
	if got["timer_irq hrtimer_wakeup"].Ns != 12_000 || got["wakeup loop:100"].Ns != 3_000 || c.UnexplainedNs != 0 {
		t.Errorf("contributors %+v, unexplained %d", c.Contributors, c.UnexplainedNs)
	}
	// Times zero with the TID set: the TID's marker decides too.
	c2, err := Analyze(strings.NewReader(tr), Breach{CPU: 1, TID: 100})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Contributors[0] != c.Contributors[0] {
		t.Errorf("with TID: %+v, without: %+v", c2.Contributors[0], c.Contributors[0])
	}
}

func TestAnalyzeStolenIdleCPU(t *testing.T) {
	// The CPU is idle at the release and its timer interrupt comes 2 ms
	// late with no event in between: the host held the vCPU.
	tr := hdr + strings.Join([]string{
		tl("loop", 100, 1, "d..2.", 50, "sched_switch: prev_comm=loop prev_pid=100 prev_prio=9 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120"),
		tl("<idle>", 0, 1, "d.h1.", 2100, "local_timer_entry: vector=236"),
		tl("<idle>", 0, 1, "d.h1.", 2102, "hrtimer_expire_entry: hrtimer=00000000aaaa function=hrtimer_wakeup now=10002101000"),
		tl("<idle>", 0, 1, "d.h2.", 2103, "sched_waking: comm=loop pid=100 prio=9 target_cpu=001"),
		tl("<idle>", 0, 1, "d.h1.", 2104, "hrtimer_expire_exit: hrtimer=00000000aaaa"),
		tl("<idle>", 0, 1, "d.h1.", 2105, "local_timer_exit: vector=236"),
		tl("<idle>", 0, 1, "d..2.", 2108, "sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=loop next_pid=100 next_prio=9"),
		tl("loop", 100, 1, "...1.", 2111, "tracing_mark_write: rtcell: task=t cycle=3 latency=2010000ns"),
	}, "\n") + "\n"
	c, err := Analyze(strings.NewReader(tr), Breach{CPU: 1, TID: 100, ReleaseNs: at(100), WakeNs: at(2110)})
	if err != nil {
		t.Fatal(err)
	}
	got := sumOf(t, c, 2_010_000)
	// 100–2100 silent: 50 µs to timer_irq, the rest unexplained; 2100–2102
	// the timer vector up to the expiry; the loop's wake-up path is its
	// hrtimer callback 2102–2104 and 2105–2110, after the rest of the
	// timer vector (2104–2105).
	if c.UnexplainedNs != 1_950_000 || c.UnexplainedPct < 97 {
		t.Errorf("unexplained %d ns (%.2f %%), want 1950000", c.UnexplainedNs, c.UnexplainedPct)
	}
	if got["timer_irq hrtimer_wakeup"].Ns != 52_000 || got["wakeup loop:100"].Ns != 7_000 || got["irq local_timer"].Ns != 1_000 {
		t.Errorf("contributors %+v", c.Contributors)
	}
}

func TestAnalyzeHeldByLowerPriorityThread(t *testing.T) {
	// A SCHED_OTHER kworker in a non-preemptible section keeps the CPU
	// 1 ms after the loop's wake-up (a kernel without full preemption);
	// on PREEMPT_RT a softirq runs in a task and is preempted like one:
	// ksoftirqd's TIMER softirq is parked while the kworker runs.
	tr := hdr + strings.Join([]string{
		tl("ksoftirqd/1", 22, 1, "..s..", 40, "softirq_entry: vec=1 [action=TIMER]"),
		tl("ksoftirqd/1", 22, 1, "d.s2.", 60, "sched_switch: prev_comm=ksoftirqd/1 prev_pid=22 prev_prio=120 prev_state=R+ ==> next_comm=kworker/1:1 next_pid=300 next_prio=120"),
		tl("kworker/1:1", 300, 1, "d.h..", 101, "local_timer_entry: vector=236"),
		tl("kworker/1:1", 300, 1, "d.h..", 102, "hrtimer_expire_entry: hrtimer=00000000aaaa function=hrtimer_wakeup now=10000101000"),
		tl("kworker/1:1", 300, 1, "d.h2.", 103, "sched_waking: comm=loop pid=100 prio=9 target_cpu=001"),
		tl("kworker/1:1", 300, 1, "dNh..", 104, "hrtimer_expire_exit: hrtimer=00000000aaaa"),
		tl("kworker/1:1", 300, 1, "dNh..", 105, "local_timer_exit: vector=236"),
		tl("kworker/1:1", 300, 1, "dN.2.", 1105, "sched_switch: prev_comm=kworker/1:1 prev_pid=300 prev_prio=120 prev_state=R+ ==> next_comm=ksoftirqd/1 next_pid=22 next_prio=120"),
		tl("ksoftirqd/1", 22, 1, "dNs..", 1110, "softirq_exit: vec=1 [action=TIMER]"),
		tl("ksoftirqd/1", 22, 1, "dN.2.", 1112, "sched_switch: prev_comm=ksoftirqd/1 prev_pid=22 prev_prio=120 prev_state=R+ ==> next_comm=loop next_pid=100 next_prio=9"),
		tl("loop", 100, 1, "...1.", 1120, "tracing_mark_write: rtcell: task=t cycle=3 latency=1020000ns"),
	}, "\n") + "\n"
	c, err := Analyze(strings.NewReader(tr), Breach{CPU: 1, TID: 100, ReleaseNs: at(100), WakeNs: at(1120)})
	if err != nil {
		t.Fatal(err)
	}
	got := sumOf(t, c, 1_020_000)
	k := got["thread kworker/1:1:300 OTHER 0"]
	if k.Ns != 1_000_000 || k.Preempted {
		t.Errorf("kworker %+v, want 1000 µs, held (not preempted)", k)
	}
	if got["softirq TIMER"].Ns != 5_000 {
		t.Errorf("TIMER softirq %+v, want 5 µs (1105–1110, after the kworker)", got["softirq TIMER"])
	}
	if _, ok := got["thread ksoftirqd/1:22 OTHER 0"]; !ok {
		t.Errorf("ksoftirqd's own run after its softirq is missing: %+v", c.Contributors)
	}
}

func TestAnalyzeOtherWakeups(t *testing.T) {
	loopSleeps := tl("loop", 100, 1, "d..2.", 50, "sched_switch: prev_comm=loop prev_pid=100 prev_prio=9 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120")
	tests := []struct {
		name  string
		lines []string
		b     Breach
		want  map[string]int64 // "kind name" → ns; unexplained under "unexplained"
	}{
		{
			// nohz_full CPU 1's timer expires on CPU 0, which wakes the
			// loop; CPU 1 takes the reschedule IPI.
			name: "timer expires on another CPU",
			lines: []string{
				loopSleeps,
				tl("bash", 7, 0, "d.h..", 120, "local_timer_entry: vector=236"),
				tl("bash", 7, 0, "d.h..", 130, "hrtimer_expire_entry: hrtimer=00000000aaaa function=hrtimer_wakeup now=10000129000"),
				tl("bash", 7, 0, "d.h2.", 131, "sched_waking: comm=loop pid=100 prio=9 target_cpu=001"),
				tl("bash", 7, 0, "d.h..", 133, "hrtimer_expire_exit: hrtimer=00000000aaaa"),
				tl("<idle>", 0, 1, "dnh1.", 140, "reschedule_entry: vector=253"),
				tl("<idle>", 0, 1, "dnh1.", 142, "reschedule_exit: vector=253"),
				tl("<idle>", 0, 1, "d..2.", 145, "sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=loop next_pid=100 next_prio=9"),
				tl("loop", 100, 1, "...1.", 152, "tracing_mark_write: rtcell: task=t cycle=3 latency=50000ns"),
			},
			b:    Breach{CPU: 1, TID: 100, ReleaseNs: at(100), WakeNs: at(150)},
			want: map[string]int64{"timer_irq hrtimer_wakeup": 30_000, "wakeup loop:100": 18_000, "irq reschedule": 2_000},
		},
		{
			// The same with CPU 0 not traced (tracing_cpumask holds the
			// RT CPU only): no waking is seen, but the loop was asleep at
			// its release, so its switch-in is its wake-up path.
			name: "timer expires on an untraced CPU",
			lines: []string{
				loopSleeps,
				tl("<idle>", 0, 1, "dnh1.", 140, "reschedule_entry: vector=253"),
				tl("<idle>", 0, 1, "dnh1.", 142, "reschedule_exit: vector=253"),
				tl("<idle>", 0, 1, "d..2.", 145, "sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=loop next_pid=100 next_prio=9"),
				tl("loop", 100, 1, "...1.", 152, "tracing_mark_write: rtcell: task=t cycle=3 latency=50000ns"),
			},
			b:    Breach{CPU: 1, TID: 100, ReleaseNs: at(100), WakeNs: at(150)},
			want: map[string]int64{"wakeup loop:100": 48_000, "irq reschedule": 2_000},
		},
		{
			// An arm64-style IPI (ipi_entry/ipi_exit, no irq_vectors)
			// while a thread holds the CPU after the loop's expiry.
			name: "ipi_entry handler",
			lines: []string{
				loopSleeps,
				tl("<idle>", 0, 1, "d..2.", 90, "sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=kworker/1:1 next_pid=300 next_prio=120"),
				tl("kworker/1:1", 300, 1, "d.h..", 101, "hrtimer_expire_entry: hrtimer=00000000aaaa function=hrtimer_wakeup now=10000101000"),
				tl("kworker/1:1", 300, 1, "d.h2.", 102, "sched_waking: comm=loop pid=100 prio=9 target_cpu=001"),
				tl("kworker/1:1", 300, 1, "d.h..", 103, "hrtimer_expire_exit: hrtimer=00000000aaaa"),
				tl("kworker/1:1", 300, 1, "d.h..", 110, "ipi_entry: (Function call interrupts)"),
				tl("kworker/1:1", 300, 1, "d.h..", 117, "ipi_exit: (Function call interrupts)"),
				tl("kworker/1:1", 300, 1, "d..2.", 150, "sched_switch: prev_comm=kworker/1:1 prev_pid=300 prev_prio=120 prev_state=R+ ==> next_comm=loop next_pid=100 next_prio=9"),
				tl("loop", 100, 1, "...1.", 161, "tracing_mark_write: rtcell: task=t cycle=3 latency=60000ns"),
			},
			b: Breach{CPU: 1, TID: 100, ReleaseNs: at(100), WakeNs: at(160)},
			want: map[string]int64{"timer_irq hrtimer_wakeup": 1_000, "wakeup loop:100": 12_000,
				"irq ipi Function call interrupts": 7_000, "thread kworker/1:1:300 OTHER 0": 40_000},
		},
		{
			// Another task wakes the loop from a lock (not its timer):
			// until then the loop waited on it (bash:7 on CPU 0); then the
			// loop's wake-up path.
			name: "woken by another CPU",
			lines: []string{
				loopSleeps,
				tl("bash", 7, 0, "d..2.", 160, "sched_waking: comm=loop pid=100 prio=9 target_cpu=001"),
				tl("<idle>", 0, 1, "d..2.", 170, "sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=loop next_pid=100 next_prio=9"),
				tl("loop", 100, 1, "...1.", 181, "tracing_mark_write: rtcell: task=t cycle=3 latency=80000ns"),
			},
			b:    Breach{CPU: 1, TID: 100, ReleaseNs: at(100), WakeNs: at(180)},
			want: map[string]int64{"thread bash:7": 60_000, "wakeup loop:100": 20_000},
		},
		{
			// The loop never slept: it ran from before its release (its
			// previous cycle overran) to its clock read: its own thread.
			name: "loop overran",
			lines: []string{
				tl("<idle>", 0, 1, "d..2.", 40, "sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=loop next_pid=100 next_prio=9"),
				tl("loop", 100, 1, "d.h..", 500, "local_timer_entry: vector=236"),
				tl("loop", 100, 1, "d.h..", 504, "local_timer_exit: vector=236"),
				tl("loop", 100, 1, "...1.", 901, "tracing_mark_write: rtcell: task=t cycle=3 latency=800000ns"),
			},
			b:    Breach{CPU: 1, TID: 100, ReleaseNs: at(100), WakeNs: at(900)},
			want: map[string]int64{"thread loop:100 FIFO 90": 796_000, "irq local_timer": 4_000},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := hdr + strings.Join(tt.lines, "\n") + "\n"
			c, err := Analyze(strings.NewReader(tr), tt.b)
			if err != nil {
				t.Fatal(err)
			}
			got := sumOf(t, c, tt.b.WakeNs-tt.b.ReleaseNs)
			if c.UnexplainedNs > 0 {
				got["unexplained"] = Contributor{Ns: c.UnexplainedNs}
			}
			if len(got) != len(tt.want) {
				t.Errorf("contributors %+v, unexplained %d; want %v", c.Contributors, c.UnexplainedNs, tt.want)
			}
			for k, ns := range tt.want {
				if got[k].Ns != ns {
					t.Errorf("%s: %d ns, want %d", k, got[k].Ns, ns)
				}
			}
		})
	}
}

func TestAnalyzeTimerlatTrace(t *testing.T) {
	// rtla timerlat's own trace: no rtcell marker; the last thread sample
	// of timerlat/1 is the breach (release 100, woken at 3000).
	tr := hdr + strings.Join([]string{
		tl("timerlat/1", 201, 1, "d..2.", 50, "sched_switch: prev_comm=timerlat/1 prev_pid=201 prev_prio=9 prev_state=S ==> next_comm=hog next_pid=200 next_prio=4"),
		tl("hog", 200, 1, "d.h..", 101, "local_timer_entry: vector=236"),
		tl("hog", 200, 1, "d.h..", 102, "hrtimer_expire_entry: hrtimer=00000000bbbb function=timerlat_irq now=10000101000"),
		tl("hog", 200, 1, "d.h..", 103, "#7     context    irq timer_latency      1000 ns"),
		tl("hog", 200, 1, "d.h2.", 104, "sched_waking: comm=timerlat/1 pid=201 prio=9 target_cpu=001"),
		tl("hog", 200, 1, "d.h..", 105, "hrtimer_expire_exit: hrtimer=00000000bbbb"),
		tl("hog", 200, 1, "d.h..", 106, "local_timer_exit: vector=236"),
		tl("hog", 200, 1, "d..2.", 2990, "sched_switch: prev_comm=hog prev_pid=200 prev_prio=4 prev_state=S ==> next_comm=timerlat/1 next_pid=201 next_prio=9"),
		tl("timerlat/1", 201, 1, ".....", 3000, "#7     context thread timer_latency   2900000 ns"),
	}, "\n") + "\n"
	c, err := Analyze(strings.NewReader(tr), Breach{})
	if err != nil {
		t.Fatal(err)
	}
	got := sumOf(t, c, 2_900_000)
	if k := c.Contributors[0]; k.Name != "hog:200 FIFO 95" || !k.Preempted || k.Ns != 2_884_000 {
		t.Errorf("top %+v, want the hog, preempted, 2884 µs", k)
	}
	// The wake-up is taken at the thread's switch-in (2990), 10 µs before
	// its sample: the release is 90.
	if got["timer_irq timerlat_irq"].Ns != 12_000 {
		t.Errorf("timer_irq %+v", c.Contributors)
	}
}

func TestAnalyzeErrors(t *testing.T) {
	tests := []struct {
		name  string
		trace string
		b     Breach
		want  error
	}{
		{"no marker, no times", hdr + tl("a", 1, 1, ".....", 10, "sched_waking: comm=b pid=2 prio=120 target_cpu=001") + "\n", Breach{}, ErrNoBreach},
		{"wake before release", handTrace, Breach{CPU: 1, TID: 100, ReleaseNs: at(200), WakeNs: at(100)}, ErrNoBreach},
		{"release before the CPU's first event", handTrace, Breach{CPU: 1, TID: 100, ReleaseNs: at(10), WakeNs: at(1910)}, ErrNotCovered},
		{"TID not in the trace", handTrace, Breach{CPU: 1, TID: 4242, ReleaseNs: at(100), WakeNs: at(2000)}, ErrNotCovered},
		{"other CPU has no events", handTrace, Breach{CPU: 3, TID: 100, ReleaseNs: at(100), WakeNs: at(2000)}, ErrNotCovered},
		{"marker disagrees", handTrace, Breach{CPU: 1, TID: 100, ReleaseNs: at(100), WakeNs: at(1500)}, ErrMismatch},
		{"lost events inside", strings.Replace(handTrace, tl("hog", 200, 1, "d.h..", 300, "irq_handler_entry: irq=36 name=virtio1-req.0"), "CPU:1 [LOST 9 EVENTS]\n"+tl("hog", 200, 1, "d.h..", 300, "irq_handler_entry: irq=36 name=virtio1-req.0"), 1),
			Breach{CPU: 1, TID: 100, ReleaseNs: at(100), WakeNs: at(2000)}, ErrNotCovered},
		{"nothing parses", "junk\nmore junk\n", Breach{}, ErrMalformed},
		{"header and junk", hdr + "junk\n", Breach{}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Analyze(strings.NewReader(tt.trace), tt.b)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Analyze = %+v, %v; want %v", c, err, tt.want)
			}
		})
	}
}

// fixtureBreach is testdata/NAME.json.
type fixtureBreach struct {
	Scenario    string `json:"scenario"`
	Kernel      string `json:"kernel"`
	CapturedAt  string `json:"captured_at"`
	ThresholdNs int64  `json:"threshold_ns"`
	CPU         int    `json:"cpu"`
	TID         int    `json:"tid"`
	Cycle       uint64 `json:"cycle"`
	ReleaseNs   int64  `json:"release_ns"`
	WakeNs      int64  `json:"wake_ns"`
	LatencyNs   int64  `json:"latency_ns"`
	HogPID      int    `json:"hog_pid,omitempty"`
}

// loadFixture reads a captured trace with its breach (see
// analyze_capture_test.go).
func loadFixture(t testing.TB, name string) (string, fixtureBreach) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var fb fixtureBreach
	if err := json.Unmarshal(raw, &fb); err != nil {
		t.Fatal(err)
	}
	tr, err := os.ReadFile(filepath.Join("testdata", name+".trace"))
	if err != nil {
		t.Fatal(err)
	}
	return string(tr), fb
}

// The captured fixtures and what the analysis must find in each: the
// largest contributor (kind, name prefix, share, preempted or held) and
// kinds that must be present. Shares of the top contributor come with a
// floor, not an exact figure; the sum rule is exact.
func TestAnalyzeFixtures(t *testing.T) {
	tests := []struct {
		fixture   string
		topKind   Kind
		topPrefix string
		topSuffix string
		minPct    float64
		preempted bool
		kinds     []Kind
		// minUnexplainedPct, when set, replaces the top contributor check.
		minUnexplainedPct float64
	}{
		// A FIFO 95 thread spinning 2.5 ms on the loop's CPU (6.18 VM).
		{"hog", KindThread, "rtcell-hog:", " FIFO 95", 90, true, []Kind{KindTimerIRQ, KindWakeup}, 0},
		// A SCHED_OTHER thread (a Go build of another test run) holds the
		// CPU with preemption off for 1.7 ms after the loop's expiry.
		{"held", KindThread, "go:", " OTHER 0", 90, false, []Kind{KindTimerIRQ, KindWakeup, KindIRQ, KindSoftIRQ}, 0},
		// A browser thread holds the CPU; IRQs and softirqs (NET_RX, BLOCK,
		// RCU) and virtio interrupts take their shares.
		{"busy", KindThread, "ThreadPoolForeg:", " OTHER 0", 80, false, []Kind{KindTimerIRQ, KindWakeup, KindIRQ, KindSoftIRQ}, 0},
		// The timer interrupt came 4.9 ms after the release to a CPU
		// running a task in user space, with no event in between: the host
		// held the vCPU.
		{"idle", "", "", "", 0, false, []Kind{KindTimerIRQ, KindWakeup, KindIRQ}, 90},
		// Debian's PREEMPT_RT kernel (6.1) under QEMU's TCG: the loop's
		// thread was current at the release (its Go runtime had woken it
		// from a futex) and no event came on its CPU for 17 ms, while
		// CPU 0's tick handler took 14 ms: the emulator stalled the guest.
		{"rt-stall", "", "", "", 0, false, []Kind{KindWakeup}, 90},
		// The RT guest with the hog (30 ms every 150 ms at FIFO 95): the
		// loop's timer expired on CPU 0 (CPU 1 is nohz_full) 31 ms late
		// while CPU 1 sat idle with no event (TCG), then the hog ran
		// 54 ms before the loop could.
		{"rt-hog", KindThread, "rtcell-hog:", " FIFO 95", 60, true, []Kind{KindTimerIRQ, KindWakeup, KindIRQ}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			tr, fb := loadFixture(t, tt.fixture)
			c, err := Analyze(strings.NewReader(tr), Breach{CPU: fb.CPU, TID: fb.TID, ReleaseNs: fb.ReleaseNs, WakeNs: fb.WakeNs})
			if err != nil {
				t.Fatal(err)
			}
			sumOf(t, c, fb.LatencyNs)
			top := c.Contributors[0]
			if tt.minUnexplainedPct > 0 {
				if c.UnexplainedPct < tt.minUnexplainedPct {
					t.Errorf("unexplained %.2f %%, want ≥ %.0f %%: %+v", c.UnexplainedPct, tt.minUnexplainedPct, c.Contributors)
				}
			} else if top.Kind != tt.topKind || !strings.HasPrefix(top.Name, tt.topPrefix) || !strings.HasSuffix(top.Name, tt.topSuffix) ||
				top.Pct < tt.minPct || top.Preempted != tt.preempted || top.CPU != fb.CPU {
				t.Errorf("top contributor %+v, want %s %s…%s ≥ %.0f %% preempted=%v", top, tt.topKind, tt.topPrefix, tt.topSuffix, tt.minPct, tt.preempted)
			}
			has := map[Kind]bool{}
			for _, k := range c.Contributors {
				has[k.Kind] = true
			}
			for _, k := range tt.kinds {
				if !has[k] {
					t.Errorf("no %s contributor: %+v", k, c.Contributors)
				}
			}
			// Found by its marker alone, the breach has the same top
			// contributor (the marker is written µs after the wake-up).
			m, err := Analyze(strings.NewReader(tr), Breach{})
			if err != nil {
				t.Fatal(err)
			}
			sumOf(t, m, fb.LatencyNs)
			if tt.minUnexplainedPct > 0 {
				// The marker may come ms after the wake-up (a Go loop
				// that blocked in its runtime first): the interval
				// found from it is shifted, but still mostly unexplained.
				if m.UnexplainedPct < 50 {
					t.Errorf("by marker: unexplained %.2f %%, want ≥ 50 %%", m.UnexplainedPct)
				}
			} else if m.Contributors[0].Name != top.Name {
				t.Errorf("by marker: top %+v, want %s", m.Contributors[0], top.Name)
			}
		})
	}
}

// The cross-check with rtla: rtla timerlat top -T 10000 -t, run in the
// PREEMPT_RT guest with the hog (see TestCaptureRTLA), saved its trace.
// The task that ran on the CPU before rtla's timerlat thread woke, read
// straight from the trace's last sched_switch to it, is the one the
// analysis names first, found with no breach given.
func TestAnalyzeRTLATrace(t *testing.T) {
	raw, err := os.ReadFile("testdata/rt-rtla.trace")
	if err != nil {
		t.Fatal(err)
	}
	var before string
	var sample *Event
	sc := NewScanner(strings.NewReader(string(raw)))
	for sc.Scan() {
		ev := sc.Event()
		if ev.Kind == EvSchedSwitch && strings.HasPrefix(ev.Switch.NextComm, "timerlat/") {
			before = fmt.Sprintf("%s:%d", ev.Switch.PrevComm, ev.Switch.PrevPID)
		}
		if ev.Kind == EvTimerlat && ev.Timerlat.Context == "thread" {
			e := *ev
			sample = &e
		}
	}
	if sample == nil || before == "" {
		t.Fatal("rtla's trace has no timerlat thread sample or no switch to the timerlat thread")
	}
	c, err := Analyze(strings.NewReader(string(raw)), Breach{})
	if err != nil {
		t.Fatal(err)
	}
	sumOf(t, c, sample.Timerlat.LatencyNs)
	top := c.Contributors[0]
	if top.Kind != KindThread || !strings.HasPrefix(top.Name, before+" ") || top.Pct < 60 || !top.Preempted {
		t.Errorf("top %+v; rtla's timerlat/%d (latency %d ns) ran after %s", top, sample.CPU, sample.Timerlat.LatencyNs, before)
	}
	// The same breach given by hand (the thread sample's CPU, TID and
	// times) names the same thread.
	b := Breach{CPU: sample.CPU, TID: sample.PID, ReleaseNs: sample.TimeNs - sample.Timerlat.LatencyNs, WakeNs: sample.TimeNs}
	c2, err := Analyze(strings.NewReader(string(raw)), b)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Contributors[0].Name != top.Name {
		t.Errorf("with the breach given: top %+v, want %s", c2.Contributors[0], top.Name)
	}
}
