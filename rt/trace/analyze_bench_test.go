package trace

import (
	"fmt"
	"strings"
	"testing"
)

// bigTrace repeats the events of a captured fixture, shifted in time,
// until the text is at least size bytes; only the last copy keeps the
// marker. It returns the text and the breach of the last copy.
func bigTrace(tb testing.TB, fixture string, size int) (string, Breach) {
	tb.Helper()
	tr, fb := loadFixture(tb, fixture)
	var lines []string
	var ts []int64
	for _, l := range strings.Split(tr, "\n") {
		var ev Event
		if strings.HasPrefix(l, "#") || parseLine(l, &ev) != nil {
			continue
		}
		lines, ts = append(lines, l), append(ts, ev.TimeNs)
	}
	span := ts[len(ts)-1] - ts[0] + 1_000_000
	copies := size/len(tr) + 1
	var b strings.Builder
	b.Grow(copies * len(tr))
	for c := 0; c < copies; c++ {
		shift := int64(c-copies+1) * span // the last copy is unshifted
		for i, l := range lines {
			if c < copies-1 && strings.Contains(l, MarkerPrefix) {
				continue
			}
			old := fmt.Sprintf(" %d.%06d:", ts[i]/1e9, ts[i]%1e9/1e3)
			t := ts[i] + shift
			b.WriteString(strings.Replace(l, old, fmt.Sprintf(" %d.%06d:", t/1e9, t%1e9/1e3), 1))
			b.WriteByte('\n')
		}
	}
	return b.String(), Breach{CPU: fb.CPU, TID: fb.TID, ReleaseNs: fb.ReleaseNs, WakeNs: fb.WakeNs}
}

func TestBigTraceAnalyzesLikeItsLastCopy(t *testing.T) {
	big, b := bigTrace(t, "busy", 1<<20)
	tr, _ := loadFixture(t, "busy")
	want, err := Analyze(strings.NewReader(tr), b)
	if err != nil {
		t.Fatal(err)
	}
	for _, br := range []Breach{b, {}} {
		got, err := Analyze(strings.NewReader(big), br)
		if err != nil {
			t.Fatal(err)
		}
		if br.TID != 0 && fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("1 MiB trace: %+v\nfixture alone: %+v", got, want)
		}
		if got.Contributors[0].Name != want.Contributors[0].Name {
			t.Errorf("breach %+v: top %+v, want %+v", br, got.Contributors[0], want.Contributors[0])
		}
	}
}

// BenchmarkAnalyze4MiB analyses the last breach of a 4 MiB trace (the
// bar: ≤ 200 ms), with the breach's times given and found by its marker.
func BenchmarkAnalyze4MiB(b *testing.B) {
	big, br := bigTrace(b, "busy", 4<<20)
	for _, bc := range []struct {
		name string
		br   Breach
	}{{"times", br}, {"marker", Breach{}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(big)))
			for b.Loop() {
				if _, err := Analyze(strings.NewReader(big), bc.br); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func FuzzAnalyze(f *testing.F) {
	f.Add(handTrace, 1, 100, int64(100), int64(2000))
	f.Add(handTrace, 0, 0, int64(0), int64(0))
	f.Add(hdr+tl("loop", 100, 1, "...1.", 5, "tracing_mark_write: rtcell: task=t cycle=1 latency=99999999999ns")+"\n", 0, 0, int64(0), int64(0))
	f.Fuzz(func(t *testing.T, tr string, cpu, tid int, relUs, wakeUs int64) {
		b := Breach{CPU: cpu, TID: tid, ReleaseNs: at(0) + relUs*1000, WakeNs: at(0) + wakeUs*1000}
		if tid == 0 {
			b = Breach{}
		}
		c, err := Analyze(strings.NewReader(tr), b)
		if err != nil {
			return
		}
		var sum int64 = c.UnexplainedNs
		for _, k := range c.Contributors {
			if k.Ns <= 0 {
				t.Fatalf("contributor %+v", k)
			}
			sum += k.Ns
		}
		if b.TID != 0 && sum != b.WakeNs-b.ReleaseNs {
			t.Fatalf("sum %d, latency %d: %+v", sum, b.WakeNs-b.ReleaseNs, c)
		}
	})
}
