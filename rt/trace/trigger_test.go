package trace

import (
	"strings"
	"testing"
)

func TestMarkerFormat(t *testing.T) {
	for _, tc := range []struct {
		name    string
		task    string
		cycle   uint64
		latency int64
		want    string
	}{
		{"zero", "t", 0, 0, "rtcell: task=t cycle=0 latency=0ns\n"},
		{"typical", "control", 4711, 1_523_000, "rtcell: task=control cycle=4711 latency=1523000ns\n"},
		{"max", "x", ^uint64(0), 1<<63 - 1, "rtcell: task=x cycle=18446744073709551615 latency=9223372036854775807ns\n"},
		{"negative", "x", 1, -5, "rtcell: task=x cycle=1 latency=-5ns\n"},
		{"longest name", strings.Repeat("n", maxTaskName), 1, 1, "rtcell: task=" + strings.Repeat("n", maxTaskName) + " cycle=1 latency=1ns\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m markerBuf
			if err := m.init(tc.task); err != nil {
				t.Fatal(err)
			}
			if got := string(m.format(tc.cycle, tc.latency)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			// Formatting again overwrites the variable part whole.
			if got := string(m.format(7, 8)); got != "rtcell: task="+tc.task+" cycle=7 latency=8ns\n" {
				t.Errorf("second format: got %q", got)
			}
		})
	}
}

func TestMarkerBadName(t *testing.T) {
	for _, name := range []string{"", strings.Repeat("n", maxTaskName+1)} {
		var m markerBuf
		if err := m.init(name); err == nil {
			t.Errorf("name of %d bytes accepted", len(name))
		}
	}
}

func TestCPUMask(t *testing.T) {
	for _, tc := range []struct {
		cpus []int
		want string
		bad  bool
	}{
		{cpus: []int{0}, want: "1"},
		{cpus: []int{1}, want: "2"},
		{cpus: []int{1, 3}, want: "a"},
		{cpus: []int{31}, want: "80000000"},
		{cpus: []int{32}, want: "1,00000000"},
		{cpus: []int{0, 33, 64}, want: "1,00000002,00000001"},
		{cpus: nil, bad: true},
		{cpus: []int{-1}, bad: true},
		{cpus: []int{8192}, bad: true},
	} {
		got, err := cpuMask(tc.cpus)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("cpuMask(%v) = %q, %v; want %q (error %v)", tc.cpus, got, err, tc.want, tc.bad)
		}
	}
}

func TestStalePID(t *testing.T) {
	for _, tc := range []struct {
		name string
		pid  int
		ok   bool
	}{
		{"rtcell-4711", 4711, true},
		{"rtcell-1", 1, true},
		{"rtcell-", 0, false},
		{"rtcell-0", 0, false},
		{"rtcell-007", 0, false},
		{"rtcell-12a", 0, false},
		{"rtcell--3", 0, false},
		{"other-4711", 0, false},
	} {
		pid, ok := stalePID(tc.name)
		if pid != tc.pid || ok != tc.ok {
			t.Errorf("stalePID(%q) = %d, %v; want %d, %v", tc.name, pid, ok, tc.pid, tc.ok)
		}
	}
}

func TestWantEvent(t *testing.T) {
	for _, tc := range []struct {
		sys, ev string
		want    bool
	}{
		{"irq_vectors", "local_timer_entry", true},
		{"irq_vectors", "reschedule_exit", true},
		{"irq_vectors", "vector_config", false},
		{"ipi", "ipi_send_cpu", true},
		{"osnoise", "thread_noise", true},
	} {
		if got := wantEvent(tc.sys, tc.ev); got != tc.want {
			t.Errorf("wantEvent(%s, %s) = %v", tc.sys, tc.ev, got)
		}
	}
}
