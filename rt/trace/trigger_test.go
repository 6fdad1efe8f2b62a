package trace

import (
	"strings"
	"testing"
)

func TestTaskName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"", false},
		{"t", true},
		{strings.Repeat("n", maxTaskName), true},
		{strings.Repeat("n", maxTaskName+1), false},
	} {
		if err := checkTaskName(tc.name); (err == nil) != tc.ok {
			t.Errorf("name of %d bytes: error %v, want ok %v", len(tc.name), err, tc.ok)
		}
	}
	// The longest marker fits the trigger's buffer.
	if m := AppendMarker(nil, strings.Repeat("n", maxTaskName), ^uint64(0), -1<<63); len(m) > markerCap {
		t.Errorf("longest marker is %d bytes, buffer %d", len(m), markerCap)
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
