package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rtcell/rtcell/rt/trace"
)

// TestTraceJSONContract: tasks[i].trace is {"threshold_ns": N,
// "breach_cycle": null} without a breach, and carries latency_ns, file
// and cause, with contributors {"kind","name","cpu","ns","pct"} and
// unexplained_ns, with one.
func TestTraceJSONContract(t *testing.T) {
	r := &Report{Tasks: []Task{{Name: "a", Trace: &Trace{ThresholdNs: 150000}}}}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tasks []struct {
			Trace map[string]any `json:"trace"`
		} `json:"tasks"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	got := doc.Tasks[0].Trace
	if len(got) != 2 || got["threshold_ns"] != 150000.0 {
		t.Errorf("no breach: trace %v, want exactly threshold_ns 150000 and breach_cycle null", got)
	}
	if v, ok := got["breach_cycle"]; !ok || v != nil {
		t.Errorf("no breach: breach_cycle %v (present %v), want null", v, ok)
	}

	cycle := uint64(4711)
	r.Tasks[0].Trace = &Trace{ThresholdNs: 1500000, BreachCycle: &cycle, LatencyNs: 3000000, File: "run.trace.txt", Cause: &trace.Cause{
		Contributors:  []trace.Contributor{{Kind: trace.KindThread, Name: "rtcell-hog:4242 FIFO 95", CPU: 1, Ns: 2900000, Pct: 96.67, Preempted: true}},
		UnexplainedNs: 100000, UnexplainedPct: 3.33,
	}}
	buf.Reset()
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	got = doc.Tasks[0].Trace
	if got["breach_cycle"] != 4711.0 || got["latency_ns"] != 3000000.0 || got["file"] != "run.trace.txt" {
		t.Errorf("breach: trace %v", got)
	}
	cause, _ := got["cause"].(map[string]any)
	contrib, _ := cause["contributors"].([]any)
	if len(contrib) != 1 || cause["unexplained_ns"] != 100000.0 {
		t.Fatalf("cause %v", cause)
	}
	c0 := contrib[0].(map[string]any)
	for _, k := range []string{"kind", "name", "cpu", "ns", "pct"} {
		if _, ok := c0[k]; !ok {
			t.Errorf("contributor %v lacks %q", c0, k)
		}
	}
	if c0["kind"] != "thread" || c0["name"] != "rtcell-hog:4242 FIFO 95" {
		t.Errorf("contributor %v", c0)
	}
}

func TestTraceText(t *testing.T) {
	var buf bytes.Buffer
	writeTraceText(&buf, &Trace{ThresholdNs: 150000})
	if got := buf.String(); !strings.Contains(got, "threshold 150.0 µs: no cycle exceeded it") {
		t.Errorf("no breach: %q", got)
	}
	cycle := uint64(12)
	buf.Reset()
	writeTraceText(&buf, &Trace{ThresholdNs: 1500000, BreachCycle: &cycle, LatencyNs: 3000000, File: "r.trace.txt", Cause: &trace.Cause{
		Contributors: []trace.Contributor{
			{Kind: trace.KindThread, Name: "rtcell-hog:4242 FIFO 95", Ns: 2900000, Pct: 96.67, Preempted: true},
			{Kind: trace.KindIRQ, Name: "local_timer", Ns: 40000, Pct: 1.33},
		},
		UnexplainedNs: 60000, UnexplainedPct: 2,
	}})
	got := buf.String()
	t.Logf("\n%s", got)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 7 {
		t.Fatalf("%d lines, want 7 (breach, header, 2 contributors, unexplained, rule, total):\n%s", len(lines), got)
	}
	for i, want := range []string{
		"cycle 12 woke 3000.0 µs after its release; trace saved to r.trace.txt",
		"cause of the latency, largest first:",
		"thread      rtcell-hog:4242 FIFO 95 (preempted)",
		"irq         local_timer",
		"unexplained hardware, firmware or hypervisor",
		"-----",
	} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d %q lacks %q", i, lines[i], want)
		}
	}
	if !strings.Contains(lines[2], "2900.0 µs ( 96.67 %)") || !strings.Contains(lines[6], "latency") || !strings.Contains(lines[6], "3000.0 µs (100 %)") {
		t.Errorf("figures: %q, %q", lines[2], lines[6])
	}
}
