package trace

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestWriteText(t *testing.T) {
	c, err := Analyze(strings.NewReader(handTrace), Breach{CPU: 1, TID: 100, ReleaseNs: at(100), WakeNs: at(2000)})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := WriteText(&b, c, 1_900_000); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != len(c.Contributors)+2 {
		t.Fatalf("%d lines for %d contributors:\n%s", len(lines), len(c.Contributors), b.String())
	}
	for _, want := range []string{
		"latency", "1900.00 us",
		"thread    hog:200 FIFO 95 (preempted)", "1748.00 us (92.00 %)",
		"softirq   BLOCK", "20.00 us ( 1.05 %)",
		"unexplained", "50.00 us ( 2.63 %)",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
	if !strings.HasPrefix(lines[1], "  thread    hog:200") || !strings.HasPrefix(lines[len(lines)-1], "  unexplained") {
		t.Errorf("order:\n%s", b.String())
	}
	t.Logf("\n%s", b.String())
}

func TestMarkerRoundTrip(t *testing.T) {
	buf := make([]byte, 0, 128)
	for _, m := range []Marker{{"latency", 151, 2351780}, {"scan task 1", 0, 0}, {"x", 1<<64 - 1, 1 << 62}} {
		buf = AppendMarker(buf[:0], m.Task, m.Cycle, m.LatencyNs)
		if buf[len(buf)-1] != '\n' {
			t.Errorf("%q: no newline", buf)
		}
		got, ok := ParseMarker(string(buf))
		if !ok || got != m {
			t.Errorf("ParseMarker(%q) = %+v, %v; want %+v", buf, got, ok, m)
		}
	}
	if n := testing.AllocsPerRun(100, func() { buf = AppendMarker(buf[:0], "latency", 151, 2351780) }); n != 0 {
		t.Errorf("AppendMarker allocates %v times with room in buf", n)
	}
	for _, bad := range []string{"rtcell: task=a cycle=x latency=1ns", "rtcell: cycle=1 latency=1ns", "other: task=a cycle=1 latency=1ns", "rtcell: task=a cycle=1 latency=-5ns"} {
		if m, ok := ParseMarker(bad); ok {
			t.Errorf("ParseMarker(%q) = %+v, want not a marker", bad, m)
		}
	}
}

// The cause as the JSON contract has it (tasks[i].trace.cause).
func TestCauseJSON(t *testing.T) {
	c, err := Analyze(strings.NewReader(handTrace), Breach{CPU: 1, TID: 100, ReleaseNs: at(100), WakeNs: at(2000)})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Contributors  []map[string]any `json:"contributors"`
		UnexplainedNs *int64           `json:"unexplained_ns"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.UnexplainedNs == nil || *got.UnexplainedNs != 50_000 || len(got.Contributors) != len(c.Contributors) {
		t.Fatalf("JSON %s", raw)
	}
	first := got.Contributors[0]
	for _, k := range []string{"kind", "name", "cpu", "ns", "pct"} {
		if _, ok := first[k]; !ok {
			t.Errorf("contributor lacks %q: %s", k, raw)
		}
	}
	if first["kind"] != "thread" || first["name"] != "hog:200 FIFO 95" || first["ns"] != float64(1_748_000) || first["preempted"] != true {
		t.Errorf("first contributor %v", first)
	}
	if _, ok := got.Contributors[1]["preempted"]; ok {
		t.Errorf("preempted set on %v", got.Contributors[1])
	}
}
