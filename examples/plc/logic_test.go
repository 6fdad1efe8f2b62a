package main

import (
	"math"
	"strings"
	"testing"

	"github.com/rtcell/rtcell/rt"
	"github.com/rtcell/rtcell/rt/shm"
)

const dt = 0.001 // 1 kHz

// run steps s for sec seconds of plant time and returns the events.
func run(s *Scan, in *Inputs, sec float64) []Event {
	var evs []Event
	for range int(sec / dt) {
		if ev := s.Step(in, dt); ev.Kind != 0 {
			evs = append(evs, ev)
		}
	}
	return evs
}

func TestScanReachesSetpoint(t *testing.T) {
	for _, sp := range []float64{30, 60, 80} {
		s := NewScan(Outputs{}, Inputs{})
		in := Inputs{SetpointC: sp, Enable: true}
		peak := 0.0
		for range 3000 {
			s.Step(&in, dt)
			peak = max(peak, s.Out.TemperatureC)
			if h := s.Out.Heater; h < 0 || h > 1 {
				t.Fatalf("setpoint %g: heater command %g outside 0–1", sp, h)
			}
		}
		if got := s.Out.TemperatureC; math.Abs(got-sp) > 0.5 {
			t.Errorf("setpoint %g: temperature %.2f after 3 s, want within 0.5 °C", sp, got)
		}
		if peak > sp+3 {
			t.Errorf("setpoint %g: overshoot to %.2f °C, want ≤ 3 °C", sp, peak)
		}
		if s.Out.Trips != 0 || s.Out.Interlock != TripNone {
			t.Errorf("setpoint %g: interlock %s, %d trips; want none", sp, s.Out.Interlock, s.Out.Trips)
		}
	}
}

func TestScanDisabledCoolsDown(t *testing.T) {
	s := NewScan(Outputs{Cycle: 1, TemperatureC: 70}, Inputs{})
	in := Inputs{SetpointC: 70}
	run(s, &in, 10)
	if s.Out.Heater != 0 || math.Abs(s.Out.TemperatureC-AmbientC) > 0.5 {
		t.Errorf("disabled: heater %g, T %.2f after 10 s; want 0 and ambient %g", s.Out.Heater, s.Out.TemperatureC, AmbientC)
	}
}

func TestScanDoorInterlock(t *testing.T) {
	s := NewScan(Outputs{}, Inputs{})
	in := Inputs{SetpointC: 60, Enable: true}
	run(s, &in, 2)
	in.Door = true
	ev := s.Step(&in, dt)
	if ev.Kind != EventTrip || ev.Trip != TripDoor || s.Out.Interlock != TripDoor || s.Out.Trips != 1 {
		t.Fatalf("door opened: event %+v, interlock %s, %d trips; want a door trip", ev, s.Out.Interlock, s.Out.Trips)
	}
	evs := run(s, &in, 1)
	if s.Out.Heater != 0 || len(evs) != 0 {
		t.Errorf("door open: heater %g, events %+v; want 0 and none", s.Out.Heater, evs)
	}
	cooled := s.Out.TemperatureC
	in.Door = false
	ev = s.Step(&in, dt)
	if ev.Kind != EventReset || ev.Trip != TripDoor || s.Out.Interlock != TripNone {
		t.Fatalf("door closed: event %+v, interlock %s; want a reset of the door trip", ev, s.Out.Interlock)
	}
	if s.Out.Heater <= 0 || cooled >= 60 {
		t.Errorf("door closed at %.2f °C: heater %g, want > 0", cooled, s.Out.Heater)
	}
}

func TestScanOverTempInterlock(t *testing.T) {
	s := NewScan(Outputs{}, Inputs{})
	in := Inputs{SetpointC: MaxSetpnt, Enable: true}
	var trip, reset []Event
	for _, ev := range run(s, &in, 5) {
		switch ev.Kind {
		case EventTrip:
			trip = append(trip, ev)
		case EventReset:
			reset = append(reset, ev)
		}
	}
	if len(trip) < 2 || len(reset) < 1 {
		t.Fatalf("setpoint above the trip: %d trips, %d resets in 5 s; want the interlock to cycle", len(trip), len(reset))
	}
	for _, ev := range trip {
		if ev.Trip != TripOverTemp || ev.TemperatureC < TripC || ev.TemperatureC > TripC+1 {
			t.Errorf("trip %+v: want an over-temperature trip just above %g °C", ev, TripC)
		}
	}
	for _, ev := range reset {
		if ev.Trip != TripOverTemp || ev.TemperatureC > ResetC {
			t.Errorf("reset %+v: want the over-temperature trip reset at or below %g °C", ev, ResetC)
		}
	}
	if s.Out.Trips != uint64(len(trip)) {
		t.Errorf("Trips %d, %d trip events", s.Out.Trips, len(trip))
	}
	// Never above the limit by more than one step of heating.
	s2 := NewScan(Outputs{}, Inputs{})
	for range 5000 {
		s2.Step(&in, dt)
		if s2.Out.TemperatureC > TripC+HeatRate*dt {
			t.Fatalf("temperature %.3f above the trip limit %g", s2.Out.TemperatureC, TripC)
		}
	}
}

func TestScanSafeLatch(t *testing.T) {
	// The supervisor latched the safe state and cleared Enable; a
	// restarted worker starts from that image.
	last := Outputs{Cycle: 500, TimeNs: 1, TemperatureC: 55, Safe: true}
	in := Inputs{SetpointC: 60}
	s := NewScan(last, in)
	if s.Out.TemperatureC != 55 || s.Out.Cycle != 500 {
		t.Fatalf("restart: T %.2f, cycle %d; want the last image's 55 and 500", s.Out.TemperatureC, s.Out.Cycle)
	}
	if evs := run(s, &in, 0.5); len(evs) != 0 || s.Out.Heater != 0 || !s.Out.Safe {
		t.Fatalf("safe, disabled: heater %g, safe %v, events %+v; want 0, true, none", s.Out.Heater, s.Out.Safe, evs)
	}
	in.Enable = true
	ev := s.Step(&in, dt)
	if ev.Kind != EventSafeClear || s.Out.Safe || s.Out.Heater <= 0 {
		t.Errorf("enable rising: event %+v, safe %v, heater %g; want cleared and heating", ev, s.Out.Safe, s.Out.Heater)
	}

	// Enable already high when the worker starts is not an acknowledge.
	s = NewScan(last, Inputs{SetpointC: 60, Enable: true})
	in = Inputs{SetpointC: 60, Enable: true}
	if evs := run(s, &in, 0.5); len(evs) != 0 || !s.Out.Safe || s.Out.Heater != 0 {
		t.Errorf("enable held high across the restart: safe %v, heater %g, events %+v; want the latch kept", s.Out.Safe, s.Out.Heater, evs)
	}
}

func TestNewScanColdStart(t *testing.T) {
	s := NewScan(Outputs{}, Inputs{})
	if s.Out.TemperatureC != AmbientC {
		t.Errorf("cold start at %.2f °C, want ambient %g", s.Out.TemperatureC, AmbientC)
	}
}

// shared builds the images and the ring on private memory, as the
// program does in shared memory.
func shared(t testing.TB) (*shm.Image[Inputs], *shm.Image[Outputs], *shm.Ring[Event]) {
	t.Helper()
	in, err := shm.NewImage[Inputs](shm.PrivateRegion(shm.ImageSize[Inputs]()))
	if err != nil {
		t.Fatal(err)
	}
	out, err := shm.NewImage[Outputs](shm.PrivateRegion(shm.ImageSize[Outputs]()))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := shm.NewRing[Event](shm.PrivateRegion(shm.RingSize[Event](256)), 256, shm.DropNewest)
	if err != nil {
		t.Fatal(err)
	}
	return in, out, ev
}

func TestCycle(t *testing.T) {
	in, out, evr := shared(t)
	in.Write(&Inputs{SetpointC: 60, Enable: true})
	fn := newCycle(in, out, evr)
	const period = 1_000_000
	c := rt.Cycle{}
	step := func(n int) {
		for range n {
			c.Release += period
			c.Wake = c.Release + 1000
			if !fn(&c) {
				t.Fatal("cycle asked to stop")
			}
			c.N++
		}
	}
	step(1500)
	var o Outputs
	out.Read(&o)
	if o.Cycle != 1500 || o.TimeNs != c.Wake || o.TemperatureC < 50 || o.Heater <= 0 {
		t.Fatalf("after 1.5 s at setpoint 60: %+v; want cycle 1500, heating towards 60", o)
	}
	in.Write(&Inputs{SetpointC: 60, Enable: true, Door: true})
	step(2)
	out.Read(&o)
	var ev Event
	if !evr.Pop(&ev) || ev.Kind != EventTrip || ev.Trip != TripDoor || ev.Cycle != 1501 {
		t.Fatalf("door opened: event %+v, want a door trip at cycle 1501", ev)
	}
	if o.Heater != 0 || o.Interlock != TripDoor {
		t.Errorf("door open: outputs %+v, want heater 0 and a door interlock", o)
	}
	// Missed releases advance the plant by the time that passed.
	before := o.TemperatureC
	c.Release += 100 * period // 100 releases skipped
	c.Missed = 100
	step(1)
	c.Missed = 0
	out.Read(&o)
	if want := before - (before-AmbientC)/TauS*0.101; math.Abs(o.TemperatureC-want) > 0.01 {
		t.Errorf("after 101 ms of missed releases: T %.3f, want %.3f", o.TemperatureC, want)
	}

	// A restarted cycle continues from the image.
	fn2 := newCycle(in, out, evr)
	step2 := c
	step2.Release += period
	fn2(&step2)
	var o2 Outputs
	out.Read(&o2)
	if o2.Cycle != o.Cycle+1 || math.Abs(o2.TemperatureC-o.TemperatureC) > 1e-9 {
		t.Errorf("restart: cycle %d, T %.3f; want %d and %.3f", o2.Cycle, o2.TemperatureC, o.Cycle+1, o.TemperatureC)
	}
}

func TestCycleSlowFaultOverruns(t *testing.T) {
	in, out, evr := shared(t)
	fn := newCycle(in, out, evr)
	const period = 200_000 // 200 µs keeps the test short
	now := rt.Nanotime()
	c := rt.Cycle{Release: now}
	fn(&c)
	c.Release += period
	fn(&c) // learns the period
	in.Write(&Inputs{Fault: FaultSlow})
	c.Release += period
	fn(&c)
	if end := rt.Nanotime(); end < c.Release+period*3/2 {
		t.Errorf("slow fault: the cycle ended %d ns after its release, want ≥ %d (1.5 periods)", end-c.Release, period*3/2)
	}
}

// TestCycleAllocs: the scan cycle, interlock events included, allocates
// nothing.
func TestCycleAllocs(t *testing.T) {
	in, out, evr := shared(t)
	in.Write(&Inputs{SetpointC: 60, Enable: true})
	fn := newCycle(in, out, evr)
	c := rt.Cycle{}
	var ev Event
	allocs := testing.AllocsPerRun(5000, func() {
		c.N++
		c.Release += 1_000_000
		c.Wake = c.Release
		if c.N%100 == 0 { // toggle the door: a trip or a reset event
			var i Inputs
			in.Read(&i)
			i.Door = !i.Door
			in.Write(&i)
		}
		fn(&c)
		evr.Pop(&ev)
	})
	if allocs != 0 {
		t.Errorf("the scan cycle allocates %.2f times per cycle, want 0", allocs)
	}
	if s := evr.Stats(); s.Pushed < 50 {
		t.Errorf("only %d events pushed: the door toggling did not exercise the event path", s.Pushed)
	}
}

func BenchmarkCycle(b *testing.B) {
	in, out, evr := shared(b)
	in.Write(&Inputs{SetpointC: 60, Enable: true})
	fn := newCycle(in, out, evr)
	c := rt.Cycle{}
	b.ReportAllocs()
	for b.Loop() {
		c.N++
		c.Release += 1_000_000
		fn(&c)
	}
}

func TestParsePatch(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       Inputs // applied to the zero Inputs
		err        string
	}{
		{name: "setpoint", body: `{"setpoint_c":60}`, want: Inputs{SetpointC: 60}},
		{name: "all", body: `{"setpoint_c":45.5,"door":true,"enable":true,"fault":"hang"}`, want: Inputs{SetpointC: 45.5, Door: true, Enable: true, Fault: FaultHang}},
		{name: "slow", body: `{"fault":"slow"}`, want: Inputs{Fault: FaultSlow}},
		{name: "kill is not an input", body: `{"fault":"kill"}`, want: Inputs{}},
		{name: "empty object", body: `{}`, err: "no field set"},
		{name: "empty body", body: ``, err: "decoding the inputs"},
		{name: "not json", body: `setpoint=60`, err: "decoding the inputs"},
		{name: "unknown field", body: `{"setpoint":60}`, err: "unknown field"},
		{name: "trailing data", body: `{"door":true}{"door":false}`, err: "data after the object"},
		{name: "setpoint too high", body: `{"setpoint_c":151}`, err: "want 0–150"},
		{name: "setpoint negative", body: `{"setpoint_c":-1}`, err: "want 0–150"},
		{name: "bad fault", body: `{"fault":"crash"}`, err: "want none, hang, slow or kill"},
		{name: "wrong type", body: `{"door":"open"}`, err: "decoding the inputs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parsePatch([]byte(tc.body))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got Inputs
			p.apply(&got)
			if got != tc.want {
				t.Errorf("applied %+v, want %+v", got, tc.want)
			}
		})
	}
}

func FuzzParsePatch(f *testing.F) {
	f.Add([]byte(`{"setpoint_c":60,"door":true}`))
	f.Add([]byte(`{"fault":"hang"}`))
	f.Add([]byte(`{"setpoint_c":1e309}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parsePatch(b)
		if err != nil {
			return
		}
		var in Inputs
		p.apply(&in)
		if math.IsNaN(in.SetpointC) || in.SetpointC < MinSetpnt || in.SetpointC > MaxSetpnt || in.Fault > FaultSlow {
			t.Errorf("accepted %q giving inputs %+v", b, in)
		}
	})
}

// TestScanNaNCannotDisableInterlock feeds the logic inputs and state that
// are not numbers: the heater stays off or within 0–1, and the
// over-temperature interlock still trips.
func TestScanNaNCannotDisableInterlock(t *testing.T) {
	for _, sp := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), MaxSetpnt + 1, -1} {
		s := NewScan(Outputs{Cycle: 1, TemperatureC: TripC - 1}, Inputs{})
		in := Inputs{SetpointC: sp, Enable: true}
		for range 5000 {
			s.Step(&in, dt)
			if h := s.Out.Heater; h != 0 {
				t.Fatalf("setpoint %g: heater %g, want 0 (the setpoint is not a valid number)", sp, h)
			}
			if math.IsNaN(s.Out.TemperatureC) || s.Out.TemperatureC > TripC {
				t.Fatalf("setpoint %g: temperature %g", sp, s.Out.TemperatureC)
			}
		}
	}
	// A temperature that is not a number (a corrupt image after a
	// restart) trips the over-temperature interlock and holds it.
	s := NewScan(Outputs{Cycle: 1, TemperatureC: math.NaN()}, Inputs{})
	in := Inputs{SetpointC: 60, Enable: true}
	ev := s.Step(&in, dt)
	if ev.Kind != EventTrip || ev.Trip != TripOverTemp || s.Out.Interlock != TripOverTemp || s.Out.Heater != 0 {
		t.Fatalf("NaN temperature: event %+v, interlock %s, heater %g; want an over-temperature trip, heater 0", ev, s.Out.Interlock, s.Out.Heater)
	}
	for range 100 {
		s.Step(&in, dt)
		if s.Out.Interlock != TripOverTemp || s.Out.Heater != 0 {
			t.Fatalf("NaN temperature: interlock %s, heater %g; want the trip held", s.Out.Interlock, s.Out.Heater)
		}
	}
	// A corrupt integral term cannot drive the heater either.
	s = NewScan(Outputs{Cycle: 1, TemperatureC: 50}, Inputs{})
	s.integral = math.NaN()
	s.Step(&in, dt)
	if h := s.Out.Heater; !(h >= 0 && h <= 1) {
		t.Fatalf("NaN integral: heater %g, want 0–1", h)
	}
}
