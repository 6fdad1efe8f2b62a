package stats_test

import (
	"fmt"

	"github.com/rtcell/rtcell/rt/stats"
)

func ExampleSeries_Summary() {
	var lat stats.Series
	for i := range int64(10_000) {
		lat.Record(8_000 + i%50*100) // 8.0 … 12.9 µs
	}
	lat.Record(95_000) // one late wake-up
	// Percentiles are within 0.4 % (true P50 is 10500, P90 12500, P99
	// 12900); Min, Avg and Max are exact.
	fmt.Printf("%+v\n", lat.Summary())
	// Output:
	// {Min:8000 Avg:10458 P50:10527 P90:12511 P99:12895 P999:12895 P9999:12895 Max:95000 Count:10001}
}

func ExampleRecorder() {
	var task stats.Task
	if err := task.Init(stats.DefaultWindowNs, 0); err != nil {
		panic(err)
	}
	hist, err := stats.NewHistogram(make([]uint64, stats.HistogramWords(50)))
	if err != nil {
		panic(err)
	}
	rec := stats.NewRecorder(&task, hist)
	const periodNs = 1_000_000 // 1 kHz
	for cycle := range uint64(3000) {
		lat := int64(9_000 + cycle%7*1_000)
		if cycle == 1234 {
			lat = 180_000
		}
		at := int64(cycle)*periodNs + lat
		rec.Record(stats.Sample{Cycle: cycle, AtNs: at, LatencyNs: lat, JitterNs: lat - 12_000, ExecNs: 40_000})
	}
	snap := task // a reader copies the block (under the seqlock) and works on the copy
	fmt.Printf("latency %+v\n", snap.Latency.Summary())
	fmt.Printf("jitter  %+v\n", snap.Jitter.Summary())
	fmt.Printf("worst   %+v\n", snap.Worst.Sorted(nil)[0])
	for _, w := range snap.Windows.History(nil) {
		fmt.Printf("window  %+v\n", w)
	}
	fmt.Printf("histogram bin 9 µs: %d, overflows: %d at cycles %v\n", hist.Bin(9), hist.Overflow(), snap.Overflows.Kept())
	// Output:
	// latency {Min:9000 Avg:12054 P50:11999 P90:15007 P99:15007 P999:15007 P9999:180000 Max:180000 Count:3000}
	// jitter  {Min:-3000 Avg:54 P50:2003 P90:2999 P99:2999 P999:2999 P9999:168000 Max:168000 Count:3000}
	// worst   {Cycle:1234 AtNs:1234180000 LatencyNs:180000 ExecNs:40000}
	// window  {StartNs:0 MaxNs:15000 Samples:1000}
	// window  {StartNs:1000000000 MaxNs:180000 Samples:1000}
	// histogram bin 9 µs: 429, overflows: 1 at cycles [1234]
}
