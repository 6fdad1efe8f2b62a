package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"strings"
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
	img func() *shm.Image[Inputs]
	log *logger
	mu  sync.Mutex
	cur Inputs
}

func newController(img func() *shm.Image[Inputs], log *logger, initial Inputs) *controller {
	return &controller{img: img, log: log, cur: initial}
}

// publish writes the current inputs to the image.
func (c *controller) publish() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.img().Write(&c.cur)
}

// update changes the inputs with f, publishes them and logs what changed,
// saying who changed it.
func (c *controller) update(f func(*Inputs), who string) Inputs {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.cur
	f(&c.cur)
	c.img().Write(&c.cur)
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
	if err := checkPatchKeys(b); err != nil {
		return p, fmt.Errorf("decoding the inputs: %w; %w", err, errPatch)
	}
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
	// "Not inside the range" rather than "outside it", so that NaN and
	// ±Inf fail too (JSON has no literal for them, but the check must not
	// depend on the decoder).
	if s := p.SetpointC; s != nil && !(*s >= MinSetpnt && *s <= MaxSetpnt) {
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

// patchKeys are the field names of inputPatch, as they must be spelt.
var patchKeys = map[string]bool{"setpoint_c": true, "door": true, "enable": true, "fault": true}

// checkPatchKeys checks that b is one JSON object whose keys are
// patchKeys, each spelt exactly and at most once. encoding/json lets the
// last of two equal keys win, and matches keys case-insensitively, so
// {"door":false,"Door":true} would open the door while a filter that
// reads the first key sees it closed; such bodies are refused here.
func checkPatchKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("not a JSON object")
	}
	seen := make(map[string]bool, len(patchKeys))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		k, _ := tok.(string)
		if !patchKeys[k] {
			return fmt.Errorf("unknown field %q", k)
		}
		if seen[k] {
			return fmt.Errorf("duplicate field %q", k)
		}
		seen[k] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
	}
	_, err = dec.Token() // the closing brace
	return err
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
	p.out().Read(&o)
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

// hmi is the HTTP side: JSON for operators and tests.
//
// An HMI that can change a machine's state must not obey whoever reaches
// its port. Three kinds of caller reach a port on 127.0.0.1 besides the
// operator, and each check below stops one of them:
//   - any web page open in a browser on the box: a cross-site POST with
//     Content-Type text/plain is sent without a CORS preflight, so only
//     the Origin check and the application/json requirement stop it
//     (a page cannot send application/json cross-origin without a
//     preflight, which this server never answers);
//   - a page whose DNS name was rebound to 127.0.0.1 is same-origin to
//     the browser, but its requests carry its own name in Host: the Host
//     check refuses them, GET /image included;
//   - any local process or user: only the bearer token stops it. The
//     token is compared in constant time.
type hmi struct {
	srv *http.Server
}

// hmiOptions are the HMI's access rules.
type hmiOptions struct {
	token    string // the bearer token every POST must carry
	addr     string // the address the listener is bound to (host:port)
	bindHost string // the -http flag as given, host:port
}

// allowedHosts lists the Host headers the HMI answers: the loopback
// names and the bound address (or the one given in -http, when it names
// a host rather than every interface), each with the bound port.
func allowedHosts(o hmiOptions) map[string]bool {
	_, port, err := net.SplitHostPort(o.addr)
	if err != nil {
		return nil
	}
	hosts := map[string]bool{}
	add := func(h string) {
		if h == "" {
			return
		}
		if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
			return
		}
		hosts[strings.ToLower(net.JoinHostPort(h, port))] = true
	}
	for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
		add(h)
	}
	if h, _, err := net.SplitHostPort(o.addr); err == nil {
		add(h)
	}
	if h, _, err := net.SplitHostPort(o.bindHost); err == nil {
		add(h)
	}
	return hosts
}

// guard checks a request against the access rules and returns the HTTP
// status and reason of the refusal, or 0. GET requests need a right
// Host; POST requests also an absent or same-origin Origin, the token
// and Content-Type application/json.
func guard(r *http.Request, o hmiOptions, hosts map[string]bool) (int, string) {
	host := strings.ToLower(r.Host)
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(strings.Trim(host, "[]"), "80") // a client omits the default port
	}
	if !hosts[host] {
		return http.StatusForbidden, fmt.Sprintf("host %q is not this HMI's address (a DNS rebinding attack looks like this)", r.Host)
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return 0, ""
	}
	if origin := r.Header.Get("Origin"); origin != "" && origin != "http://"+r.Host {
		return http.StatusForbidden, fmt.Sprintf("origin %q is not this HMI: cross-site requests are refused", origin)
	}
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(o.token)) != 1 {
		return http.StatusUnauthorized, "missing or wrong token: send the one plc printed at start as \"Authorization: Bearer TOKEN\""
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return http.StatusUnsupportedMediaType, "want Content-Type: application/json"
	}
	return 0, ""
}

func newHMI(p *plc, shutdown context.CancelFunc, o hmiOptions) *hmi {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /image", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, p.view())
	})
	mux.HandleFunc("POST /inputs", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4096))
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
			sup := p.sup.Load()
			if sup == nil {
				http.Error(w, "the scan is not running", http.StatusConflict)
				return
			}
			if err := sup.Kill(taskName); err != nil {
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
	hosts := allowedHosts(o)
	var refusals refusalLog
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code, why := guard(r, o, hosts); code != 0 {
			if code == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="plc"`)
			}
			refusals.log(p.log, time.Now(), fmt.Sprintf("%s %s from %s: %s", r.Method, r.URL.Path, r.RemoteAddr, why))
			http.Error(w, why, code)
			return
		}
		mux.ServeHTTP(w, r)
	})
	return &hmi{srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}}
}

// refusalLog logs refused requests, at most one line a second with the
// number left out since the last: a flood of refused requests must not
// flood the log.
type refusalLog struct {
	mu      sync.Mutex
	last    time.Time
	skipped int
}

func (rl *refusalLog) log(l *logger, now time.Time, what string) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if now.Sub(rl.last) < time.Second {
		rl.skipped++
		return
	}
	more := ""
	if rl.skipped > 0 {
		more = fmt.Sprintf(" (and %d more refused since the last such line)", rl.skipped)
	}
	rl.last, rl.skipped = now, 0
	l.printf("plc: refused %s%s", what, more)
}

// loadToken reads the HMI token from path, or makes one from 32 bytes of
// crypto/rand when path is empty.
func loadToken(path string) (string, error) {
	if path == "" {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("generating the HMI token: %w", err)
		}
		return hex.EncodeToString(b[:]), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the HMI token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < 16 || strings.ContainsAny(tok, " \t\r\n") {
		return "", fmt.Errorf("the HMI token in %s: want one word of at least 16 characters", path)
	}
	return tok, nil
}

// exposureWarning returns a loud warning when the HMI listens beyond
// loopback, where anyone on the network can reach it, or "".
func exposureWarning(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok || ta.IP.IsLoopback() {
		return ""
	}
	where := ta.IP.String()
	if ta.IP.IsUnspecified() {
		where = "EVERY interface"
	}
	return fmt.Sprintf("plc: WARNING: the HMI listens on %s (%s), not only on loopback: anyone who can reach this port and holds the token can change the inputs, inject faults and stop the PLC, over plain HTTP (the token travels in clear text). Bind to 127.0.0.1 and reach it through an SSH tunnel or a TLS proxy.\n", a, where)
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
