package rt

import (
	"context"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/rttest"
)

// BenchmarkTraceArmedCost measures what armed but untriggered tracing
// costs the loop, for the bar "≤ 10 % on p50 and p99": it runs the test
// worker's noop task (1 kHz, 5 s) as a Program without tracing (A) and
// with a threshold no cycle reaches (B), A B A B for three rounds, and
// reports the medians of each side's p50 and p99 and their ratios.
// Run it alone, on a box as quiet as it gets:
//
//	go test ./rt -run '^$' -bench TraceArmedCost -benchtime 1x
func BenchmarkTraceArmedCost(b *testing.B) {
	rttest.RequireRoot(b)
	th := testThread()
	rttest.LeaseCPU(b, th.CPU)
	run := func(armed bool) (p50, p99 float64) {
		p := Program{
			Tasks:        []Task{{Loop: LoopOptions{Name: "noop", Period: time.Millisecond, Duration: 5 * time.Second, Thread: th}, Setup: func() (CycleFunc, error) { return nil, nil }}},
			IgnoreMisses: true,
			ShareCPUs:    true,
			Worker:       WorkerOptions{Args: []string{"-test.run=^$"}},
			Stdout:       io.Discard,
			Stderr:       io.Discard,
		}
		if armed {
			p.Trace = &TraceOptions{Threshold: time.Hour}
		}
		sum, err := Run(context.Background(), p)
		if err != nil || sum.Tasks[0].Result == nil {
			b.Fatalf("run (armed %v): %v", armed, err)
		}
		l := sum.Tasks[0].Result.Latency
		return float64(l.P50) / 1e3, float64(l.P99) / 1e3
	}
	median := func(v []float64) float64 { s := slices.Clone(v); slices.Sort(s); return s[len(s)/2] }
	for i := 0; i < b.N; i++ {
		var a50, a99, b50, b99 []float64
		for round := 0; round < 3; round++ {
			p50, p99 := run(false)
			a50, a99 = append(a50, p50), append(a99, p99)
			p50, p99 = run(true)
			b50, b99 = append(b50, p50), append(b99, p99)
		}
		b.Logf("p50 µs unarmed %v armed %v; p99 µs unarmed %v armed %v", a50, b50, a99, b99)
		b.ReportMetric(median(a50), "p50-µs-unarmed")
		b.ReportMetric(median(b50), "p50-µs-armed")
		b.ReportMetric(median(b50)/median(a50), "p50-ratio")
		b.ReportMetric(median(a99), "p99-µs-unarmed")
		b.ReportMetric(median(b99), "p99-µs-armed")
		b.ReportMetric(median(b99)/median(a99), "p99-ratio")
	}
}
