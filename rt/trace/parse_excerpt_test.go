package trace

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteExcerpt(t *testing.T) {
	var out bytes.Buffer
	if err := WriteExcerpt(&out, strings.NewReader(handTrace), at(100), at(1000)); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"# tracer: nop", "local_timer_entry", "nmi_handler"} {
		if !strings.Contains(got, want) {
			t.Errorf("excerpt lacks %q:\n%s", want, got)
		}
	}
	for _, not := range []string{"10.000050:", "10.001900:", "tracing_mark_write"} {
		if strings.Contains(got, not) {
			t.Errorf("excerpt has %q, outside the window:\n%s", not, got)
		}
	}
	// A fixture cut from 20 ms before its release analyses as the whole.
	tr, fb := loadFixture(t, "busy")
	b := Breach{CPU: fb.CPU, TID: fb.TID, ReleaseNs: fb.ReleaseNs, WakeNs: fb.WakeNs}
	var cut bytes.Buffer
	if err := WriteExcerpt(&cut, strings.NewReader(tr), fb.ReleaseNs-2_000_000, 0); err != nil {
		t.Fatal(err)
	}
	if cut.Len() >= len(tr) {
		t.Fatalf("excerpt of %d bytes from a trace of %d", cut.Len(), len(tr))
	}
	whole, err := Analyze(strings.NewReader(tr), b)
	if err != nil {
		t.Fatal(err)
	}
	part, err := Analyze(&cut, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(part.Contributors) != len(whole.Contributors) || part.Contributors[0] != whole.Contributors[0] || part.UnexplainedNs != whole.UnexplainedNs {
		t.Errorf("excerpt: %+v\nwhole: %+v", part, whole)
	}
}
