package stats

import "testing"

func TestRecorder(t *testing.T) {
	var task Task
	if err := task.Init(1e6, 0); err != nil {
		t.Fatal(err)
	}
	h, _ := NewHistogram(make([]uint64, HistogramWords(20)))
	rec := NewRecorder(&task, h)
	samples := []Sample{
		{Cycle: 0, AtNs: 0, LatencyNs: 9_000, JitterNs: 0, ExecNs: 100},
		{Cycle: 1, AtNs: 1e6 + 9_500, LatencyNs: 9_500, JitterNs: 500, ExecNs: 120},
		{Cycle: 2, AtNs: 2e6 + 25_000, LatencyNs: 25_000, JitterNs: 15_500, ExecNs: 90},
		{Cycle: 3, AtNs: 3e6 + 8_000, LatencyNs: 8_000, JitterNs: -17_000, ExecNs: 110},
	}
	for _, s := range samples {
		rec.Record(s)
	}
	if got := task.Latency.Summary(); got.Count != 4 || got.Min != 8_000 || got.Max != 25_000 || got.Avg != 12_875 {
		t.Errorf("latency %+v", got)
	}
	if got := task.Jitter.Summary(); got.Min != -17_000 || got.Max != 15_500 || got.P9999 != 17_000 || task.Jitter.Negative != 1 {
		t.Errorf("jitter %+v", got)
	}
	if got := task.Exec.Summary(); got.Min != 90 || got.Max != 120 || got.P50 != 100 {
		t.Errorf("exec %+v", got)
	}
	if w := task.Worst.Sorted(nil); len(w) != 4 || w[0] != (WorstEntry{Cycle: 2, AtNs: 2e6 + 25_000, LatencyNs: 25_000, ExecNs: 90}) {
		t.Errorf("worst %v", w)
	}
	if hw := task.Windows.History(nil); len(hw) != 3 || hw[2].MaxNs != 25_000 {
		t.Errorf("windows %v", hw)
	}
	if h.Bin(9) != 2 || h.Bin(8) != 1 || h.Overflow() != 1 || task.Overflows.Total != 1 || task.Overflows.Cycles[0] != 2 {
		t.Errorf("histogram bin8=%d bin9=%d overflow=%d log=%v", h.Bin(8), h.Bin(9), h.Overflow(), task.Overflows.Kept())
	}
}

func TestRecorderWithoutHistogram(t *testing.T) {
	var task Task
	rec := NewRecorder(&task, Histogram{})
	rec.Record(Sample{LatencyNs: 1e9})
	if task.Overflows.Total != 0 || task.Latency.Count != 1 {
		t.Errorf("overflows %d count %d, want 0 1", task.Overflows.Total, task.Latency.Count)
	}
}

func TestRecorderAllocatesNothing(t *testing.T) {
	task := new(Task)
	_ = task.Init(1000, 0)
	h, _ := NewHistogram(make([]uint64, HistogramWords(100)))
	rec := NewRecorder(task, h)
	var i int64
	// Crosses windows and finds new worst cycles, so the slow paths run too.
	if n := testing.AllocsPerRun(10000, func() {
		i++
		rec.Record(Sample{Cycle: uint64(i), AtNs: i * 300, LatencyNs: i % 997 * 150, JitterNs: i%5 - 2, ExecNs: 50})
	}); n != 0 {
		t.Errorf("Recorder.Record allocates %v per call", n)
	}
}
