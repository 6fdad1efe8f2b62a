package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/rtcell/rtcell/rt"
	"github.com/rtcell/rtcell/rt/metrics"
	"github.com/rtcell/rtcell/rt/shm"
)

// logger writes timestamped lines to stdout, one write per line, so that
// lines from several goroutines (and rt.Main's own) do not mix.
type logger struct {
	mu sync.Mutex
	w  io.Writer
}

func newLogger(w io.Writer) *logger { return &logger{w: w} }

const stampLayout = "2006-01-02T15:04:05.000000Z07:00"

func (l *logger) printf(format string, args ...any) {
	l.printAt(time.Now(), format, args...)
}

func (l *logger) printAt(t time.Time, format string, args ...any) {
	line := t.UTC().Format(stampLayout) + " " + fmt.Sprintf(format, args...) + "\n"
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, line)
}

// follow logs the scan's events until ctx ends, polling the ring every
// 10 ms, then logs what is left. The scan stamps each event with its
// CLOCK_MONOTONIC time, which follow converts to wall-clock time.
func (l *logger) follow(ctx context.Context, ring *shm.Ring[Event]) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var buf [64]Event
	var dropped uint64
	drain := func() {
		for {
			n := ring.PopBatch(buf[:])
			for _, ev := range buf[:n] {
				l.event(ev)
			}
			if n < len(buf) {
				break
			}
		}
		if d := ring.Stats().Dropped; d > dropped {
			l.printf("plc: %d scan events lost: the event ring was full", d-dropped)
			dropped = d
		}
	}
	for {
		select {
		case <-ctx.Done():
			drain()
			return
		case <-tick.C:
			drain()
		}
	}
}

// event logs one scan event at the time the scan saw it.
func (l *logger) event(ev Event) {
	at := time.Now().Add(-time.Duration(rt.Nanotime() - ev.TimeNs))
	switch ev.Kind {
	case EventTrip:
		why := "door open"
		if ev.Trip == TripOverTemp {
			why = fmt.Sprintf("over-temperature (limit %g °C)", TripC)
		}
		l.printAt(at, "interlock TRIPPED: %s at T=%.2f °C, cycle %d; heater off", why, ev.TemperatureC, ev.Cycle)
	case EventReset:
		l.printAt(at, "interlock RESET (was %s) at T=%.2f °C, cycle %d", ev.Trip, ev.TemperatureC, ev.Cycle)
	case EventSafeClear:
		l.printAt(at, "safe state CLEARED by the operator enable at cycle %d", ev.Cycle)
	default:
		l.printAt(at, "unknown scan event %d at cycle %d", ev.Kind, ev.Cycle)
	}
}

// controller is the single writer of the input image in the supervisor:
// the HMI and the safe-state hook both change inputs through it.
type controller struct {
	img *rt.SharedImage[Inputs]
	log *logger
	mu  sync.Mutex
	cur Inputs
}

func newController(img *rt.SharedImage[Inputs], log *logger, initial Inputs) *controller {
	return &controller{img: img, log: log, cur: initial}
}

// publish writes the current inputs to the image.
func (c *controller) publish() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.img.Image().Write(&c.cur)
}

// update changes the inputs with f, publishes them and logs what changed,
// saying who changed it.
func (c *controller) update(f func(*Inputs), who string) Inputs {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.cur
	f(&c.cur)
	c.img.Image().Write(&c.cur)
	n := c.cur
	if n.SetpointC != old.SetpointC {
		c.log.printf("input setpoint %g → %g °C (%s)", old.SetpointC, n.SetpointC, who)
	}
	if n.Door != old.Door {
		c.log.printf("input door %s → %s (%s)", doorName(old.Door), doorName(n.Door), who)
	}
	if n.Enable != old.Enable {
		c.log.printf("input enable %v → %v (%s)", old.Enable, n.Enable, who)
	}
	if n.Fault != old.Fault {
		c.log.printf("input fault %s → %s (%s)", faultName(old.Fault), faultName(n.Fault), who)
	}
	return n
}

func (c *controller) get() Inputs {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

func doorName(open bool) string {
	if open {
		return "open"
	}
	return "closed"
}

func faultName(f Fault) string {
	switch f {
	case FaultNone:
		return "none"
	case FaultHang:
		return "hang"
	case FaultSlow:
		return "slow"
	}
	return fmt.Sprintf("fault(%d)", uint8(f))
}

// inputPatch is the body of POST /inputs: every field is optional.
type inputPatch struct {
	SetpointC *float64 `json:"setpoint_c"`
	Door      *bool    `json:"door"`
	Enable    *bool    `json:"enable"`
	// Fault is "none", "hang", "slow" or "kill" ("kill" kills the scan
	// worker from the supervisor; it is not an input).
	Fault *string `json:"fault"`
}

var errPatch = errors.New(`want a JSON object like {"setpoint_c":60,"door":false,"enable":true,"fault":"none"}`)

// parsePatch decodes and checks a POST /inputs body.
func parsePatch(b []byte) (inputPatch, error) {
	var p inputPatch
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("decoding the inputs: %w; %w", err, errPatch)
	}
	if dec.More() {
		return p, fmt.Errorf("decoding the inputs: data after the object: %w", errPatch)
	}
	if p.SetpointC == nil && p.Door == nil && p.Enable == nil && p.Fault == nil {
		return p, fmt.Errorf("decoding the inputs: no field set: %w", errPatch)
	}
	if s := p.SetpointC; s != nil && (math.IsNaN(*s) || *s < MinSetpnt || *s > MaxSetpnt) {
		return p, fmt.Errorf("setpoint_c %g: want %g–%g °C: %w", *s, MinSetpnt, MaxSetpnt, errPatch)
	}
	if f := p.Fault; f != nil {
		switch *f {
		case "none", "hang", "slow", "kill":
		default:
			return p, fmt.Errorf("fault %q: want none, hang, slow or kill: %w", *f, errPatch)
		}
	}
	return p, nil
}

// apply changes in to what the patch says; the "kill" fault is not an
// input and leaves in.Fault alone.
func (p inputPatch) apply(in *Inputs) {
	if p.SetpointC != nil {
		in.SetpointC = *p.SetpointC
	}
	if p.Door != nil {
		in.Door = *p.Door
	}
	if p.Enable != nil {
		in.Enable = *p.Enable
	}
	if p.Fault != nil {
		switch *p.Fault {
		case "none":
			in.Fault = FaultNone
		case "hang":
			in.Fault = FaultHang
		case "slow":
			in.Fault = FaultSlow
		}
	}
}

// ImageView is the JSON of GET /image.
type ImageView struct {
	Inputs struct {
		SetpointC float64 `json:"setpoint_c"`
		Door      bool    `json:"door"`
		Enable    bool    `json:"enable"`
		Fault     string  `json:"fault"`
	} `json:"inputs"`
	Outputs struct {
		Cycle        uint64  `json:"cycle"`
		AgeMs        float64 `json:"age_ms"` // since the scan (or the safe-state hook) wrote them
		TemperatureC float64 `json:"temperature_c"`
		Heater       float64 `json:"heater"`
		Interlock    string  `json:"interlock"`
		Safe         bool    `json:"safe"`
		Trips        uint64  `json:"trips"`
	} `json:"outputs"`
	Task struct {
		Name     string `json:"name"`
		Running  bool   `json:"running"`
		PID      int    `json:"pid,omitempty"`
		Restarts int    `json:"restarts"`
	} `json:"task"`
}

func (p *plc) view() ImageView {
	var v ImageView
	in := p.ctl.get()
	v.Inputs.SetpointC, v.Inputs.Door, v.Inputs.Enable, v.Inputs.Fault = in.SetpointC, in.Door, in.Enable, faultName(in.Fault)
	var o Outputs
	outputs.Image().Read(&o)
	vo := &v.Outputs
	vo.Cycle, vo.TemperatureC, vo.Heater, vo.Interlock, vo.Safe, vo.Trips = o.Cycle, o.TemperatureC, o.Heater, o.Interlock.String(), o.Safe, o.Trips
	if o.TimeNs != 0 {
		vo.AgeMs = float64(rt.Nanotime()-o.TimeNs) / 1e6
	}
	v.Task.Name = taskName
	if sup := p.sup.Load(); sup != nil {
		for _, t := range sup.Tasks() {
			if t.Name == taskName {
				v.Task.Running, v.Task.PID, v.Task.Restarts = t.Running, t.PID, t.Restarts
			}
		}
	}
	return v
}

// hmi is the HTTP side: loopback JSON for operators and tests.
type hmi struct {
	srv *http.Server
}

func newHMI(p *plc, shutdown context.CancelFunc) *hmi {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /image", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, p.view())
	})
	mux.HandleFunc("POST /inputs", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 4096))
		if err != nil {
			http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
			return
		}
		patch, err := parsePatch(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		who := "http " + r.RemoteAddr
		p.ctl.update(patch.apply, who)
		if patch.Fault != nil && *patch.Fault == "kill" {
			p.log.printf("fault injection: killing the scan worker (%s)", who)
			if err := p.sup.Load().Kill(taskName); err != nil {
				http.Error(w, err.Error(), http.StatusConflict)
				return
			}
		}
		writeJSON(w, http.StatusOK, p.view())
	})
	mux.HandleFunc("POST /shutdown", func(w http.ResponseWriter, r *http.Request) {
		p.log.printf("plc: shutdown requested (http %s)", r.RemoteAddr)
		w.WriteHeader(http.StatusAccepted)
		shutdown()
	})
	mux.Handle("GET /metrics", metrics.Handler(metrics.NewCollector(func() []metrics.Task {
		sup := p.sup.Load()
		if sup == nil {
			return nil
		}
		ts := sup.Tasks()
		out := make([]metrics.Task, len(ts))
		for i, t := range ts {
			out[i] = metrics.Task{Name: t.Name, Source: t, Exited: !t.Running}
		}
		return out
	})))
	return &hmi{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
}

func (h *hmi) serve(ln net.Listener) { h.srv.Serve(ln) }

func (h *hmi) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	h.srv.Shutdown(ctx)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}
