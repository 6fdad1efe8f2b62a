package trace

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Lines captured on this VM (6.18, 5 flag columns) and in Debian's
// PREEMPT_RT guest (6.1 RT, whose flags add need-resched-lazy and
// preempt-lazy-depth columns, and whose early boot prints pointers as
// "(____ptrval____)"), and variants the kernel's formats allow: comms
// with spaces, dashes and brackets, no flags, ns timestamps, the
// ipi_raise and ipi_entry of kernels before 6.6 (6.6 replaced them with
// ipi_send_cpu and ipi_send_cpumask), osnoise and nmi events.
func TestParseLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Event
	}{
		{
			name: "sched_switch 6.18",
			line: "      rtcell-hog-12983   [001] d..2.  8633.338816: sched_switch: prev_comm=rtcell-hog prev_pid=12983 prev_prio=4 prev_state=S ==> next_comm=rtcell-loop next_pid=12986 next_prio=9",
			want: Event{Comm: "rtcell-hog", PID: 12983, CPU: 1, Flags: "d..2.", TimeNs: 8633338816000, Name: "sched_switch", Kind: EvSchedSwitch,
				Switch: Switch{PrevComm: "rtcell-hog", PrevPID: 12983, PrevPrio: 4, PrevState: "S", NextComm: "rtcell-loop", NextPID: 12986, NextPrio: 9}},
		},
		{
			name: "sched_switch comm with spaces and R+",
			line: "     Web Content-4711    [000] d..2.  100.000001: sched_switch: prev_comm=Web Content prev_pid=4711 prev_prio=120 prev_state=R+ ==> next_comm=kworker/0:0H next_pid=10 next_prio=100",
			want: Event{Comm: "Web Content", PID: 4711, CPU: 0, Flags: "d..2.", TimeNs: 100000001000, Name: "sched_switch", Kind: EvSchedSwitch,
				Switch: Switch{PrevComm: "Web Content", PrevPID: 4711, PrevPrio: 120, PrevState: "R+", NextComm: "kworker/0:0H", NextPID: 10, NextPrio: 100}},
		},
		{
			name: "sched_switch 6.1 RT (7 flag columns)",
			line: "          <idle>-0       [001] d...2..    19.378316: sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=rtcell-hog next_pid=127 next_prio=4",
			want: Event{Comm: "<idle>", PID: 0, CPU: 1, Flags: "d...2..", TimeNs: 19378316000, Name: "sched_switch", Kind: EvSchedSwitch,
				Switch: Switch{PrevComm: "swapper/1", PrevPID: 0, PrevPrio: 120, PrevState: "R", NextComm: "rtcell-hog", NextPID: 127, NextPrio: 4}},
		},
		{
			name: "sched_wakeup 6.1 RT in a hard IRQ",
			line: "          <idle>-0       [000] d..h4..    19.324947: sched_wakeup: comm=rtcell-loop pid=119 prio=9 target_cpu=001",
			want: Event{Comm: "<idle>", PID: 0, CPU: 0, Flags: "d..h4..", TimeNs: 19324947000, Name: "sched_wakeup", Kind: EvSchedWakeup,
				Wake: Wake{Comm: "rtcell-loop", PID: 119, Prio: 9, TargetCPU: 1}},
		},
		{
			name: "softirq_entry 6.1 RT in ktimers (lazy depth column)",
			line: "       ktimers/0-15      [000] ...s.12    19.327541: softirq_entry: vec=8 [action=HRTIMER]",
			want: Event{Comm: "ktimers/0", PID: 15, CPU: 0, Flags: "...s.12", TimeNs: 19327541000, Name: "softirq_entry", Kind: EvSoftIRQEntry,
				SoftIRQ: SoftIRQ{Vec: 8, Action: "HRTIMER"}},
		},
		{
			name: "hrtimer_expire_entry 6.1 RT, pointer not yet hashed",
			line: "          <idle>-0       [001] d..h1..    19.341883: hrtimer_expire_entry: hrtimer=(____ptrval____) function=hrtimer_wakeup now=19341833310",
			want: Event{Comm: "<idle>", PID: 0, CPU: 1, Flags: "d..h1..", TimeNs: 19341883000, Name: "hrtimer_expire_entry", Kind: EvHRTimerEntry,
				HRTimer: HRTimer{Addr: "(____ptrval____)", NowNs: 19341833310, Function: "hrtimer_wakeup"}},
		},
		{
			name: "workqueue_execute_start 6.1 RT",
			line: "    kworker/u4:1-36      [000] .......    19.442442: workqueue_execute_start: work struct (____ptrval____): function fill_ptr_key_workfn",
			want: Event{Comm: "kworker/u4:1", PID: 36, CPU: 0, Flags: ".......", TimeNs: 19442442000, Name: "workqueue_execute_start", Kind: EvWorkStart,
				Work: Work{Work: "(____ptrval____)", Function: "fill_ptr_key_workfn"}},
		},
		{
			name: "sched_waking",
			line: "      rtcell-hog-12983   [001] d.h2.  8633.336485: sched_waking: comm=rtcell-loop pid=12986 prio=9 target_cpu=001",
			want: Event{Comm: "rtcell-hog", PID: 12983, CPU: 1, Flags: "d.h2.", TimeNs: 8633336485000, Name: "sched_waking", Kind: EvSchedWaking,
				Wake: Wake{Comm: "rtcell-loop", PID: 12986, Prio: 9, TargetCPU: 1}},
		},
		{
			name: "sched_wakeup with success field (old kernels)",
			line: "     ksoftirqd/1-22      [001] d.s4.  8366.328137: sched_wakeup: comm=rcu_preempt pid=15 prio=120 success=1 target_cpu=000",
			want: Event{Comm: "ksoftirqd/1", PID: 22, CPU: 1, Flags: "d.s4.", TimeNs: 8366328137000, Name: "sched_wakeup", Kind: EvSchedWakeup,
				Wake: Wake{Comm: "rcu_preempt", PID: 15, Prio: 120, TargetCPU: 0}},
		},
		{
			name: "irq_handler_entry",
			line: "          <idle>-0       [001] d.h1.  8366.356473: irq_handler_entry: irq=36 name=virtio1-req.0",
			want: Event{Comm: "<idle>", PID: 0, CPU: 1, Flags: "d.h1.", TimeNs: 8366356473000, Name: "irq_handler_entry", Kind: EvIRQEntry,
				IRQ: IRQ{IRQ: 36, Name: "virtio1-req.0"}},
		},
		{
			name: "irq_handler_entry name with space",
			line: "          <idle>-0       [000] d.h1.  1.000000: irq_handler_entry: irq=9 name=acpi extra",
			want: Event{Comm: "<idle>", PID: 0, CPU: 0, Flags: "d.h1.", TimeNs: 1000000000, Name: "irq_handler_entry", Kind: EvIRQEntry,
				IRQ: IRQ{IRQ: 9, Name: "acpi extra"}},
		},
		{
			name: "irq_handler_exit",
			line: "            bash-29828   [001] dNh..  8366.350156: irq_handler_exit: irq=42 ret=handled",
			want: Event{Comm: "bash", PID: 29828, CPU: 1, Flags: "dNh..", TimeNs: 8366350156000, Name: "irq_handler_exit", Kind: EvIRQExit,
				IRQ: IRQ{IRQ: 42, Ret: "handled"}},
		},
		{
			name: "softirq_entry",
			line: " ThreadPoolForeg-14532   [001] .Ns..  8652.516246: softirq_entry: vec=4 [action=BLOCK]",
			want: Event{Comm: "ThreadPoolForeg", PID: 14532, CPU: 1, Flags: ".Ns..", TimeNs: 8652516246000, Name: "softirq_entry", Kind: EvSoftIRQEntry,
				SoftIRQ: SoftIRQ{Vec: 4, Action: "BLOCK"}},
		},
		{
			name: "softirq_exit without action",
			line: "     ksoftirqd/1-22      [001] ..s..  1.5: softirq_exit: vec=9",
			want: Event{Comm: "ksoftirqd/1", PID: 22, CPU: 1, Flags: "..s..", TimeNs: 1500000000, Name: "softirq_exit", Kind: EvSoftIRQExit,
				SoftIRQ: SoftIRQ{Vec: 9, Action: "RCU"}},
		},
		{
			name: "local_timer_entry",
			line: "          <idle>-0       [000] d.h1.  8366.332023: local_timer_entry: vector=236",
			want: Event{Comm: "<idle>", PID: 0, CPU: 0, Flags: "d.h1.", TimeNs: 8366332023000, Name: "local_timer_entry", Kind: EvVectorEntry,
				Vector: Vector{Name: "local_timer", Vector: 236}},
		},
		{
			name: "call_function_single_exit",
			line: "            grep-29818   [001] d.h..  8366.326646: call_function_single_exit: vector=251",
			want: Event{Comm: "grep", PID: 29818, CPU: 1, Flags: "d.h..", TimeNs: 8366326646000, Name: "call_function_single_exit", Kind: EvVectorExit,
				Vector: Vector{Name: "call_function_single", Vector: 251}},
		},
		{
			name: "reschedule_entry",
			line: "          <idle>-0       [000] dnh1.  8366.333379: reschedule_entry: vector=253",
			want: Event{Comm: "<idle>", PID: 0, CPU: 0, Flags: "dnh1.", TimeNs: 8366333379000, Name: "reschedule_entry", Kind: EvVectorEntry,
				Vector: Vector{Name: "reschedule", Vector: 253}},
		},
		{
			name: "hrtimer_expire_entry 6.18 (function before now)",
			line: "      rtcell-hog-12983   [001] d.h..  8633.336484: hrtimer_expire_entry: hrtimer=00000000dc37acad function=hrtimer_wakeup now=8633336483081",
			want: Event{Comm: "rtcell-hog", PID: 12983, CPU: 1, Flags: "d.h..", TimeNs: 8633336484000, Name: "hrtimer_expire_entry", Kind: EvHRTimerEntry,
				HRTimer: HRTimer{Addr: "00000000dc37acad", NowNs: 8633336483081, Function: "hrtimer_wakeup"}},
		},
		{
			name: "hrtimer_expire_entry, fields in another order",
			line: "          <idle>-0       [001] d..h1.   55.123400: hrtimer_expire_entry: hrtimer=000000007fb3a2c4 now=55123398112 function=hrtimer_wakeup/0x0",
			want: Event{Comm: "<idle>", PID: 0, CPU: 1, Flags: "d..h1.", TimeNs: 55123400000, Name: "hrtimer_expire_entry", Kind: EvHRTimerEntry,
				HRTimer: HRTimer{Addr: "000000007fb3a2c4", NowNs: 55123398112, Function: "hrtimer_wakeup/0x0"}},
		},
		{
			name: "hrtimer_expire_exit",
			line: "      rtcell-hog-12983   [001] d.h..  8633.336489: hrtimer_expire_exit: hrtimer=00000000dc37acad",
			want: Event{Comm: "rtcell-hog", PID: 12983, CPU: 1, Flags: "d.h..", TimeNs: 8633336489000, Name: "hrtimer_expire_exit", Kind: EvHRTimerExit,
				HRTimer: HRTimer{Addr: "00000000dc37acad"}},
		},
		{
			name: "ipi_send_cpu 6.18",
			line: "            bash-29806   [000] ...1.  8366.329012: ipi_send_cpu: cpu=1 callsite=on_each_cpu_cond_mask+0x20/0x60 callback=generic_smp_call_function_single_interrupt+0x0/0x10",
			want: Event{Comm: "bash", PID: 29806, CPU: 0, Flags: "...1.", TimeNs: 8366329012000, Name: "ipi_send_cpu", Kind: EvIPISend,
				IPI: IPI{Target: "1", Callsite: "on_each_cpu_cond_mask+0x20/0x60", Callback: "generic_smp_call_function_single_interrupt+0x0/0x10"}},
		},
		{
			name: "ipi_raise 6.1",
			line: "      cyclictest-301     [000] d..2...   55.000100: ipi_raise: target_mask=00000000,00000002 (Rescheduling interrupts)",
			want: Event{Comm: "cyclictest", PID: 301, CPU: 0, Flags: "d..2...", TimeNs: 55000100000, Name: "ipi_raise", Kind: EvIPIRaise,
				IPI: IPI{Target: "00000000,00000002", Reason: "Rescheduling interrupts"}},
		},
		{
			name: "ipi_entry 6.1",
			line: "          <idle>-0       [001] d..h1..   55.000102: ipi_entry: (Rescheduling interrupts)",
			want: Event{Comm: "<idle>", PID: 0, CPU: 1, Flags: "d..h1..", TimeNs: 55000102000, Name: "ipi_entry", Kind: EvIPIEntry,
				IPI: IPI{Reason: "Rescheduling interrupts"}},
		},
		{
			name: "workqueue_execute_start",
			line: "     kworker/1:1-653     [001] .....  8366.332096: workqueue_execute_start: work struct 000000000bcbae00: function delayed_vfree_work",
			want: Event{Comm: "kworker/1:1", PID: 653, CPU: 1, Flags: ".....", TimeNs: 8366332096000, Name: "workqueue_execute_start", Kind: EvWorkStart,
				Work: Work{Work: "000000000bcbae00", Function: "delayed_vfree_work"}},
		},
		{
			name: "workqueue_execute_end",
			line: "    kworker/u8:2-32333   [001] .....  8652.059702: workqueue_execute_end: work struct 00000000e22cf794: function ext4_end_io_rsv_work",
			want: Event{Comm: "kworker/u8:2", PID: 32333, CPU: 1, Flags: ".....", TimeNs: 8652059702000, Name: "workqueue_execute_end", Kind: EvWorkEnd,
				Work: Work{Work: "00000000e22cf794", Function: "ext4_end_io_rsv_work"}},
		},
		{
			name: "nmi_handler",
			line: "          <idle>-0       [001] d.Z1.  10.000050: nmi_handler: handler=perf_event_nmi_handler+0x0/0x30 delta_ns=4321 handled=1",
			want: Event{Comm: "<idle>", PID: 0, CPU: 1, Flags: "d.Z1.", TimeNs: 10000050000, Name: "nmi_handler", Kind: EvNMI,
				NMI: NMI{Handler: "perf_event_nmi_handler+0x0/0x30", DeltaNs: 4321, Handled: 1}},
		},
		{
			name: "osnoise irq_noise",
			line: "     osnoise/1-812     [001] d.h..   20.000200: irq_noise: local_timer:236 start 20.000190123 duration 4567 ns",
			want: Event{Comm: "osnoise/1", PID: 812, CPU: 1, Flags: "d.h..", TimeNs: 20000200000, Name: "irq_noise", Kind: EvNoise,
				Noise: Noise{Name: "local_timer", ID: 236, StartNs: 20000190123, DurationNs: 4567}},
		},
		{
			name: "osnoise thread_noise with padded comm",
			line: "     osnoise/1-812     [001] .....   20.000400:  thread_noise:     kworker/1:1:653 start 20.000300000 duration 90000 ns",
			want: Event{Comm: "osnoise/1", PID: 812, CPU: 1, Flags: ".....", TimeNs: 20000400000, Name: "thread_noise", Kind: EvNoise,
				Noise: Noise{Name: "kworker/1:1", ID: 653, StartNs: 20000300000, DurationNs: 90000}},
		},
		{
			name: "osnoise nmi_noise",
			line: "     osnoise/1-812     [001] d.Z..   20.000500: nmi_noise: start 20.000499000 duration 800 ns",
			want: Event{Comm: "osnoise/1", PID: 812, CPU: 1, Flags: "d.Z..", TimeNs: 20000500000, Name: "nmi_noise", Kind: EvNoise,
				Noise: Noise{StartNs: 20000499000, DurationNs: 800}},
		},
		{
			name: "marker",
			line: "     rtcell-loop-12986   [001] ...1.  8633.339106: tracing_mark_write: rtcell: task=capture cycle=151 latency=2351780ns",
			want: Event{Comm: "rtcell-loop", PID: 12986, CPU: 1, Flags: "...1.", TimeNs: 8633339106000, Name: "tracing_mark_write", Kind: EvPrint,
				Print: Print{Text: "rtcell: task=capture cycle=151 latency=2351780ns"}},
		},
		{
			name: "no flags (irq-info off), ns timestamp",
			line: "            bash-29806   [000]  8366.329012345: sched_stat_runtime: comm=bash pid=29806 runtime=1000 [ns]",
			want: Event{Comm: "bash", PID: 29806, CPU: 0, TimeNs: 8366329012345, Name: "sched_stat_runtime", Kind: EvUnknown},
		},
		{
			name: "unknown event kept raw",
			line: "          <idle>-0       [001] d..1.  1.000001: tick_stop: success=1 dependency=NONE",
			want: Event{Comm: "<idle>", PID: 0, CPU: 1, Flags: "d..1.", TimeNs: 1000001000, Name: "tick_stop", Kind: EvUnknown},
		},
		{
			name: "comm with dash and bracket",
			line: "   my-[weird]-tool-77    [001] .....  2.000000: sched_waking: comm=x pid=1 prio=120 target_cpu=001",
			want: Event{Comm: "my-[weird]-tool", PID: 77, CPU: 1, Flags: ".....", TimeNs: 2000000000, Name: "sched_waking", Kind: EvSchedWaking,
				Wake: Wake{Comm: "x", PID: 1, Prio: 120, TargetCPU: 1}},
		},
		{
			name: "timerlat thread sample (no event name)",
			line: "      timerlat/1-201     [001] .......    30.000120: #1020  context thread timer_latency     12345 ns",
			want: Event{Comm: "timerlat/1", PID: 201, CPU: 1, Flags: ".......", TimeNs: 30000120000, Name: "timerlat", Kind: EvTimerlat,
				Timerlat: Timerlat{Seq: 1020, Context: "thread", LatencyNs: 12345}},
		},
		{
			name: "lost events",
			line: "CPU:1 [LOST 312 EVENTS]",
			want: Event{CPU: 1, PID: -1, Name: "lost", Kind: EvLost, Lost: 312},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Event
			if err := parseLine(tt.line, &got); err != nil {
				t.Fatalf("parseLine: %v", err)
			}
			got.Fields = "" // the raw rest, checked below
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseLineMalformed(t *testing.T) {
	for _, line := range []string{
		"garbage",
		"  bash-12 [001] d..2. notatime: sched_switch: x",
		"  bash-12 [001] d..2. 1.0000000000: sched_switch: x", // 10 fraction digits
		"  bash-12 [001] d..2.",
		"  bash [001] d..2. 1.0: sched_switch: x", // no PID
		"  bash-12 [001] d..2. 1.0: sched_switch: prev_comm=a prev_pid=1",
		"  bash-12 [001] d..2. 1.0: sched_switch: prev_comm=a prev_pid=x prev_prio=1 prev_state=S ==> next_comm=b next_pid=2 next_prio=3",
		"  bash-12 [001] d..2. 1.0: sched_waking: comm=a pid=1",
		"  bash-12 [001] d..2. 1.0: irq_handler_entry: irq=x name=y",
		"  bash-12 [001] d..2. 1.0: softirq_entry: vector=1",
		"  bash-12 [001] d..2. 1.0: local_timer_entry: vector=abc",
		"  bash-12 [001] d..2. 1.0: hrtimer_expire_entry: now=12",
		"  bash-12 [001] d..2. 1.0: hrtimer_expire_entry: hrtimer=ab now=x",
		"  bash-12 [001] d..2. 1.0: nmi_handler: handler=x delta_ns=y handled=1",
		"  bash-12 [001] d..2. 1.0: irq_noise: local_timer start 1.0 duration 1 ns",
		"  bash-12 [001] d..2. 1.0: workqueue_execute_start: function x",
		"CPU:x [LOST 3 EVENTS]",
		"  bash-12 [001] d..2. 1.0: #12 context thread timer_latency x ns",
		"  bash-12 [001] d..2. 1.0: #12 context",
		"  bash-12 [001] d..2. 99999999999999.999999: sched_waking: comm=a pid=1 prio=1 target_cpu=1",
	} {
		var ev Event
		err := parseLine(line, &ev)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("parseLine(%q) = %v, want ErrMalformed", line, err)
		}
	}
}

func TestScannerReportsMalformedLinesAndGoesOn(t *testing.T) {
	in := strings.Join([]string{
		"# tracer: nop",
		"#",
		"          <idle>-0       [001] d.h1.  1.000001: local_timer_entry: vector=236",
		"this is not an event",
		"",
		" => __schedule+0x1/0x2",
		"          <idle>-0       [001] d.h1.  1.000002: local_timer_exit: vector=236",
		"CPU:1 [LOST 5 EVENTS]",
		"          <idle>-0       [001] d.h1.  oops: local_timer_exit: vector=236",
	}, "\n")
	sc := NewScanner(strings.NewReader(in))
	var kinds []EventKind
	var lines []int
	for sc.Scan() {
		kinds = append(kinds, sc.Event().Kind)
		lines = append(lines, sc.Event().Line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []EventKind{EvVectorEntry, EvVectorExit, EvLost}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("kinds %v, want %v", kinds, want)
	}
	if want := []int{3, 7, 8}; !reflect.DeepEqual(lines, want) {
		t.Errorf("lines %v, want %v", lines, want)
	}
	bad, n := sc.Malformed()
	if n != 2 || len(bad) != 2 || bad[0].Line != 4 || bad[1].Line != 9 {
		t.Fatalf("malformed %d %v, want lines 4 and 9", n, bad)
	}
	if !strings.Contains(bad[0].Error(), "line 4") || !errors.Is(bad[0], ErrMalformed) {
		t.Errorf("LineError %q", bad[0].Error())
	}
}

func TestScannerBoundsMalformedAndLongLines(t *testing.T) {
	var b strings.Builder
	for range 500 {
		b.WriteString("nonsense\n")
	}
	b.WriteString(strings.Repeat("x", 200<<10) + "\n")
	b.WriteString("          <idle>-0       [001] d.h1.  1.000002: local_timer_exit: vector=236\n")
	sc := NewScanner(strings.NewReader(b.String()))
	n := 0
	for sc.Scan() {
		n++
	}
	bad, count := sc.Malformed()
	if n != 1 || count != 501 || len(bad) != maxLineErrors {
		t.Errorf("events %d, malformed %d kept %d; want 1, 501, %d", n, count, len(bad), maxLineErrors)
	}
	if len(bad[0].Text) > 200 {
		t.Errorf("kept %d bytes of a malformed line", len(bad[0].Text))
	}
}

// Every line of every captured fixture parses.
func TestParseFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.trace")
	if len(files) == 0 {
		t.Fatal("no fixtures in testdata")
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := NewScanner(fh)
		kinds := map[EventKind]int{}
		for sc.Scan() {
			kinds[sc.Event().Kind]++
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		if bad, n := sc.Malformed(); n > 0 {
			t.Errorf("%s: %d malformed lines, first %v", f, n, bad[0])
		}
		marker := EvPrint
		if strings.Contains(f, "rtla") {
			marker = EvTimerlat // rtla's own trace has no rtcell marker
		}
		for _, k := range []EventKind{EvSchedSwitch, EvSchedWaking, EvVectorEntry, EvHRTimerEntry, marker} {
			if kinds[k] == 0 {
				t.Errorf("%s: no event of kind %d", f, k)
			}
		}
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"      rtcell-hog-12983   [001] d..2.  8633.338816: sched_switch: prev_comm=rtcell-hog prev_pid=12983 prev_prio=4 prev_state=S ==> next_comm=rtcell-loop next_pid=12986 next_prio=9",
		"      rtcell-hog-12983   [001] d.h2.  8633.336485: sched_waking: comm=rtcell-loop pid=12986 prio=9 target_cpu=001",
		"          <idle>-0       [001] d.h1.  8366.356473: irq_handler_entry: irq=36 name=virtio1-req.0",
		" ThreadPoolForeg-14532   [001] .Ns..  8652.516246: softirq_entry: vec=4 [action=BLOCK]",
		"          <idle>-0       [001] d..h1..    19.341883: hrtimer_expire_entry: hrtimer=(____ptrval____) function=hrtimer_wakeup now=19341833310",
		"     osnoise/1-812     [001] .....   20.000400:  thread_noise:     kworker/1:1:653 start 20.000300000 duration 90000 ns",
		"     rtcell-loop-12986   [001] ...1.  8633.339106: tracing_mark_write: rtcell: task=capture cycle=151 latency=2351780ns",
		"CPU:1 [LOST 312 EVENTS]",
		"  a-1 [0] 1: x: y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var ev Event
		err := parseLine(line, &ev)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v is not ErrMalformed", err)
		}
		if err == nil && ev.Kind != EvLost && ev.Name == "" {
			t.Fatalf("parsed %q without an event name", line)
		}
		ParseMarker(line)
	})
}
