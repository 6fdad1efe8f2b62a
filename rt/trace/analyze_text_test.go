package trace

import (
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
