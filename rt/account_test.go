package rt

import (
	"testing"
	"time"
)

func TestAccount(t *testing.T) {
	const p = 1000
	for _, tc := range []struct {
		name        string
		rel, end    int64
		skip        bool
		wantNext    int64
		wantOverrun bool
		wantMissed  uint64
	}{
		{"on time", 5000, 5300, true, 6000, false, 0},
		{"ends exactly at next release", 5000, 6000, true, 6000, false, 0},
		{"one ns past next release skip", 5000, 6001, true, 7000, true, 1},
		{"one ns past next release catchup", 5000, 6001, false, 6000, true, 1},
		{"1.5 periods skip", 0, 1500, true, 2000, true, 1},
		{"2.5 periods skip drops two", 0, 2500, true, 3000, true, 2},
		{"2.5 periods catchup counts one", 0, 2500, false, 1000, true, 1},
		{"exactly three periods skip", 0, 3000, true, 3000, true, 2},
		{"end before release", 1000, 900, true, 2000, false, 0},
		{"end equals release", 1000, 1000, false, 2000, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next, over, missed := account(tc.rel, tc.end, p, tc.skip)
			if next != tc.wantNext || over != tc.wantOverrun || missed != tc.wantMissed {
				t.Errorf("account(%d, %d, %d, %v) = %d, %v, %d; want %d, %v, %d",
					tc.rel, tc.end, p, tc.skip, next, over, missed, tc.wantNext, tc.wantOverrun, tc.wantMissed)
			}
			if over && tc.skip && next < tc.end {
				t.Errorf("skip: next release %d is before the cycle's end %d", next, tc.end)
			}
		})
	}
}

func TestLoopOptionsValidation(t *testing.T) {
	ok := func(o LoopOptions) LoopOptions {
		o.Period = time.Millisecond
		if o.Thread.Policy == "" {
			o.Thread = ThreadOptions{CPU: -1, Policy: PolicyFIFO, Priority: 50}
		}
		return o
	}
	for _, tc := range []struct {
		name string
		o    LoopOptions
	}{
		{"period too short", LoopOptions{Period: 5000}},
		{"negative deadline", ok(LoopOptions{Deadline: -1})},
		{"bad wake", ok(LoopOptions{Wake: "spin"})},
		{"margin not below period", ok(LoopOptions{Wake: WakeHybrid, Margin: 1_000_000})},
		{"bad overrun", ok(LoopOptions{Overrun: "drop"})},
		{"histogram too big", ok(LoopOptions{HistogramUS: 2_000_000})},
		{"window below period", ok(LoopOptions{Window: 1000})},
		{"priority 0 fifo", ok(LoopOptions{Thread: ThreadOptions{Policy: PolicyFIFO, Priority: 0}})},
		{"priority 100 rr", ok(LoopOptions{Thread: ThreadOptions{Policy: PolicyRR, Priority: 100}})},
		{"bad policy", ok(LoopOptions{Thread: ThreadOptions{Policy: "deadline", Priority: 10}})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewLoop(tc.o, func(*Cycle) bool { return true }); err == nil {
				t.Fatalf("NewLoop(%+v) succeeded, want an error", tc.o)
			}
		})
	}
	if _, err := NewLoop(ok(LoopOptions{}), nil); err == nil {
		t.Fatal("NewLoop with a nil function succeeded")
	}
}
