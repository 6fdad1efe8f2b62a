package metrics

import "testing"

// TestScrapeThreadCounters: the loop thread's fault and context-switch
// counts are exported as the Result has them; a loop that sleeps every
// cycle has at least one voluntary switch per cycle.
func TestScrapeThreadCounters(t *testing.T) {
	const cycles = 100
	loop := runTestLoop(t, "loop", cycles)
	res := loop.Snapshot(nil).Result()
	e, _ := scrape(t, static(Task{Name: "loop", Source: loop}))
	c := res.ThreadCounters
	want := map[string]uint64{
		"rtcell_task_minor_page_faults_total":            c.MinorFaults,
		"rtcell_task_major_page_faults_total":            c.MajorFaults,
		"rtcell_task_voluntary_context_switches_total":   c.VoluntarySwitches,
		"rtcell_task_involuntary_context_switches_total": c.InvoluntarySwitches,
	}
	for name, w := range want {
		if got := must(t, e, name, "task", "loop"); got != float64(w) {
			t.Errorf("%s = %v, want %d", name, got, w)
		}
	}
	if c.VoluntarySwitches < cycles/2 {
		t.Errorf("%d voluntary switches over %d sleeping cycles: the counters are not the loop thread's", c.VoluntarySwitches, cycles)
	}
}
