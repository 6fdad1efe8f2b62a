package report

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestPhasesSideBySide(t *testing.T) {
	start := time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC)
	r := &Report{
		Phases: []Phase{
			{Name: "idle", StartTime: start, EndTime: start.Add(10 * time.Second)},
			{Name: "load", StartTime: start.Add(10 * time.Second), EndTime: start.Add(20 * time.Second), Load: &Load{
				CPUs: []int{0, 2, 3},
				Commands: []LoadCommand{
					{Name: "stress-ng", Cmdline: "stress-ng --cpu 3", Starts: 1},
					{Name: "hackbench", Cmdline: "hackbench -P -g 6 -l 200 -s 512", Starts: 9, Error: "ended before the load was stopped: exit status 1"},
				},
			}},
		},
		Tasks: []Task{
			{Name: "a", Phase: "idle", LatencyNs: Stats{P50: 12_300, P99: 25_100, Max: 103_200}, Cycles: 10000},
			{Name: "b", Phase: "idle", LatencyNs: Stats{P50: 11_000, P99: 21_000, Max: 90_000}, Cycles: 5000},
			{Name: "a", Phase: "load", LatencyNs: Stats{P50: 14_100, P99: 40_200, Max: 503_200}, DeadlineMisses: 2, Cycles: 10000},
		},
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"task a (phase idle) on CPU",
		"task a (phase load) on CPU",
		"  idle    20:00:00 .. 20:00:10, no load\n",
		"  load    20:00:10 .. 20:00:20, load on CPUs 0,2-3\n",
		"stress-ng --cpu 3\n",
		"hackbench -P -g 6 -l 200 -s 512 (started 9 times): error: ended before the load was stopped: exit status 1\n",
		"  task a                      idle        load\n",
		"  wake latency p50 µs         12.3        14.1\n",
		"  wake latency p99 µs         25.1        40.2\n",
		"  wake latency max µs        103.2       503.2\n",
		"  deadline misses                0           2\n",
		// A task missing from a phase shows a dash there.
		"  wake latency p50 µs         11.0           -\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}

	r.Phases = nil
	b.Reset()
	r.WriteText(&b)
	if strings.Contains(b.String(), "phases, each") {
		t.Errorf("a run without phases shows a phase block:\n%s", b.String())
	}
}
