package main

import (
	"github.com/rtcell/rtcell/rt"
	"github.com/rtcell/rtcell/rt/shm"
)

// Inputs is the input process image. The non-RT side (HTTP, operator)
// writes it; the scan cycle reads it once per cycle. Pointer-free and
// fixed-size, as shared memory requires.
type Inputs struct {
	SetpointC float64 // temperature setpoint, °C
	Door      bool    // the tank door is open
	Enable    bool    // operator enable; a rising edge clears a latched safe state
	Fault     Fault   // injected fault, for demonstrations
}

// Fault is a fault the scan cycle injects into itself on request.
type Fault uint8

// Faults handled by the scan cycle. "kill" is done by the supervisor
// (it kills the worker process) and never reaches the image.
const (
	FaultNone Fault = iota
	// FaultHang makes the logic hang: the cycle never returns, no cycle
	// completes, and the watchdog's stall check fires.
	FaultHang
	// FaultSlow makes every cycle run 1.5 periods: every cycle misses its
	// deadline and the watchdog's MaxMisses check fires.
	FaultSlow
)

// Outputs is the output process image, written by the scan cycle every
// cycle (and once by the supervisor's safe-state hook).
type Outputs struct {
	Cycle        uint64  // scan cycles since the first start (restarts continue the count)
	TimeNs       int64   // CLOCK_MONOTONIC of the scan that wrote this image
	TemperatureC float64 // simulated plant temperature
	Heater       float64 // heater power command, 0–1
	Interlock    Trip    // why the interlock holds the heater off; TripNone when it does not
	Safe         bool    // latched safe state (watchdog fired); heater off until Enable rises
	Trips        uint64  // interlock trips so far
}

// Trip is why the interlock cut the heater.
type Trip uint8

// Interlock states.
const (
	TripNone Trip = iota
	TripDoor
	TripOverTemp
)

func (t Trip) String() string {
	switch t {
	case TripNone:
		return "none"
	case TripDoor:
		return "door"
	case TripOverTemp:
		return "overtemp"
	}
	return "unknown"
}

// Event is a state change the scan cycle reports to the non-RT side
// through a ring, which logs it: the cycle cannot log (fmt allocates,
// writes block).
type Event struct {
	Cycle        uint64
	TimeNs       int64 // CLOCK_MONOTONIC
	Kind         EventKind
	Trip         Trip
	TemperatureC float64
}

// EventKind says what changed.
type EventKind uint8

// Event kinds.
const (
	EventTrip      EventKind = iota + 1 // the interlock tripped (Event.Trip says why)
	EventReset                          // the interlock reset
	EventSafeClear                      // the operator enable cleared the latched safe state
)

// Plant and controller constants. The plant is a first-order thermal
// tank: dT/dt = HeatRate·u − (T − Ambient)/Tau, so full heater power
// settles at Ambient + HeatRate·Tau = 120 °C.
const (
	AmbientC  = 20.0
	HeatRate  = 50.0            // °C/s at full heater power
	TauS      = 2.0             // cooling time constant, s
	TripC     = 90.0            // over-temperature trip
	ResetC    = 85.0            // the over-temperature trip resets below this
	Kp        = 0.06            // 1/°C: full power at 16.7 °C of error
	Ki        = Kp / (4 * TauS) // slow: the feedforward carries the steady state
	MinSetpnt = 0.0
	MaxSetpnt = 150.0
)

// Scan is the PLC logic: the plant simulation, the interlock and the PID
// controller. Step is pure computation on fixed-size state: it does not
// allocate, block, or call into the scheduler, so it may run in the RT
// cycle; it is also what the unit tests drive.
type Scan struct {
	Out        Outputs
	integral   float64 // PID integral term, in heater units
	prevEnable bool
}

// NewScan starts the logic from the last published outputs (last.Cycle
// == 0 means a cold start at ambient temperature) and the current inputs,
// so that a worker restarted by the watchdog continues the plant and
// keeps a latched safe state instead of resetting them.
func NewScan(last Outputs, in Inputs) *Scan {
	s := &Scan{Out: last, prevEnable: in.Enable}
	if last.Cycle == 0 && last.TimeNs == 0 {
		s.Out.TemperatureC = AmbientC
	}
	return s
}

// Step runs one scan of dtS seconds with the inputs in and returns the
// event the scan produced, if any (Kind 0 when none).
func (s *Scan) Step(in *Inputs, dtS float64) Event {
	o := &s.Out
	ev := Event{TemperatureC: o.TemperatureC} // as measured by this scan

	// Operator enable: a rising edge acknowledges a latched safe state.
	if in.Enable && !s.prevEnable && o.Safe {
		o.Safe = false
		s.integral = 0
		ev.Kind = EventSafeClear
	}
	s.prevEnable = in.Enable

	// Interlock: the door or an over-temperature cuts the heater. The
	// over-temperature trip holds until the tank has cooled below ResetC.
	// The comparisons are written so that a temperature that is not a
	// number trips: every comparison with NaN is false, so "T >= TripC"
	// would let a NaN pass the interlock, where "!(T < TripC)" does not.
	trip := TripNone
	switch {
	case in.Door:
		trip = TripDoor
	case !(o.TemperatureC < TripC) || (o.Interlock == TripOverTemp && !(o.TemperatureC <= ResetC)):
		trip = TripOverTemp
	}
	if trip != o.Interlock {
		if trip != TripNone {
			o.Trips++
			ev.Kind, ev.Trip = EventTrip, trip
		} else {
			ev.Kind, ev.Trip = EventReset, o.Interlock
		}
		o.Interlock = trip
	}

	// PI controller with a steady-state feedforward (the power that holds
	// the setpoint against the losses) and conditional integration (no
	// wind-up while the output is saturated in the error's direction or
	// forced off).
	// A setpoint that is not a finite number in range (the supervisor
	// checks every input, but the image is shared memory) holds the
	// heater off: with a NaN setpoint every term below is NaN, and no
	// clamp, being a comparison, would catch it.
	u := 0.0
	if in.Enable && !o.Safe && trip == TripNone && in.SetpointC >= MinSetpnt && in.SetpointC <= MaxSetpnt {
		e := in.SetpointC - o.TemperatureC
		u = (in.SetpointC-AmbientC)/(HeatRate*TauS) + Kp*e + s.integral
		switch {
		case u > 1:
			u = 1
			if e < 0 {
				s.integral += Ki * e * dtS
			}
		case u < 0:
			u = 0
			if e > 0 {
				s.integral += Ki * e * dtS
			}
		default:
			s.integral += Ki * e * dtS
		}
	}
	if !(u >= 0 && u <= 1) { // NaN (a corrupt integral) included
		u, s.integral = 0, 0
	}
	o.Heater = u

	// Plant: explicit Euler step of the first-order tank.
	o.TemperatureC += (HeatRate*u - (o.TemperatureC-AmbientC)/TauS) * dtS
	return ev
}

// scanState is everything the cycle function owns, allocated in Setup.
type scanState struct {
	in     *shm.Image[Inputs]
	out    *shm.Image[Outputs]
	events *shm.Ring[Event]
	scan   *Scan
	cur    Inputs
	// prevRelease and periodNs are learnt from the release times: the
	// worker is not told its period.
	prevRelease int64
	periodNs    int64
}

// newCycle builds the scan cycle over the images and the event ring.
// Everything that allocates happens here; the returned function does not
// allocate (TestCycleAllocs).
func newCycle(in *shm.Image[Inputs], out *shm.Image[Outputs], events *shm.Ring[Event]) rt.CycleFunc {
	st := &scanState{in: in, out: out, events: events}
	var last Outputs
	out.Read(&last)
	in.Read(&st.cur)
	st.scan = NewScan(last, st.cur)
	return st.cycle
}

func (st *scanState) cycle(c *rt.Cycle) bool {
	// Read the inputs; on the (bounded, very rare) failure keep last
	// cycle's values.
	var in Inputs
	if st.in.Read(&in) {
		st.cur = in
	}
	// The plant advances by the time between releases, missed releases
	// included; the first cycle only publishes the state.
	var dtNs int64
	if st.prevRelease != 0 {
		dtNs = c.Release - st.prevRelease
		if c.Missed == 0 {
			st.periodNs = dtNs
		}
	}
	st.prevRelease = c.Release
	switch st.cur.Fault {
	case FaultHang:
		// The logic hangs: a loop that never ends, as a bug would. No
		// cycle completes; the supervisor's stall watchdog kills us.
		hang(&st.cur)
	case FaultSlow:
		// Overrun: run until half a period past the next release.
		for rt.Nanotime() < c.Release+st.periodNs*3/2 {
		}
	}
	ev := st.scan.Step(&st.cur, float64(dtNs)*1e-9)
	o := &st.scan.Out
	o.Cycle++
	o.TimeNs = c.Wake
	st.out.Write(o)
	if ev.Kind != 0 {
		ev.Cycle, ev.TimeNs = o.Cycle, c.Wake
		st.events.Push(&ev) // dropped and counted if the logger is far behind
	}
	return true
}

// hang spins for as long as the fault is set in the cycle's own copy of
// the inputs, that is forever: the cycle never reads the image again.
//
//go:noinline
func hang(in *Inputs) {
	//lint:ignore SA5002 the logic hangs on purpose, for the watchdog
	for in.Fault == FaultHang {
	}
}
