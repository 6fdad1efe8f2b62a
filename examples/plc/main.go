package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rtcell/rtcell/rt"
	"github.com/rtcell/rtcell/rt/shm"
)

// The shared regions, declared at package level so that the supervisor
// and the scan worker (the same binary, re-executed) declare the same
// regions in the same order.
var (
	inputs  = rt.DeclareImage[Inputs]("plc-inputs")
	outputs = rt.DeclareImage[Outputs]("plc-outputs")
	events  = rt.DeclareRing[Event]("plc-events", 256, shm.DropNewest)
)

// taskName names the scan task (worker, watchdog messages, metrics).
const taskName = "scan"

// config is what the flags set. The supervisor and the scan worker (which
// rt re-executes with the same arguments) both parse them; the worker
// takes its loop options from the supervisor all the same, and everything
// else through the images.
type config struct {
	httpAddr    string
	duration    time.Duration
	period      time.Duration
	cpu         int
	priority    int
	restart     bool
	maxRestarts int
	stall       time.Duration
	maxMisses   int
	setpointC   float64
	enable      bool
	tokenFile   string
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("plc", flag.ContinueOnError)
	fs.StringVar(&c.httpAddr, "http", "127.0.0.1:8080", "address of the HMI (JSON over HTTP); port 0 picks a free port")
	fs.DurationVar(&c.duration, "duration", 0, "stop after this long and print a summary (0: run until SIGINT or POST /shutdown)")
	fs.DurationVar(&c.period, "period", time.Millisecond, "scan cycle period")
	fs.IntVar(&c.cpu, "cpu", runtime.NumCPU()-1, "CPU the scan thread is pinned to (-1: any)")
	fs.IntVar(&c.priority, "prio", 80, "SCHED_FIFO priority of the scan thread")
	fs.BoolVar(&c.restart, "restart", true, "restart the scan task after the watchdog put the outputs in the safe state")
	fs.IntVar(&c.maxRestarts, "max-restarts", 3, "restarts allowed before the task stays stopped and the program ends")
	fs.DurationVar(&c.stall, "stall", 300*time.Millisecond, "watchdog: no completed cycle for this long is a hang")
	fs.IntVar(&c.maxMisses, "max-misses", 20, "watchdog: this many deadline misses in a row is a fault")
	fs.Float64Var(&c.setpointC, "setpoint", 40, "initial setpoint, °C")
	fs.BoolVar(&c.enable, "enable", false, "start with the heater control enabled")
	fs.StringVar(&c.tokenFile, "token-file", "", "read the HMI's bearer token from this file (at least 16 characters); empty: generate one at start and print it")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	// Every number is checked as "inside the range", never as "not
	// outside it": flag.Float64 accepts NaN and ±Inf, and every
	// comparison with NaN is false, so "x < min || x > max" lets a NaN
	// through (a NaN setpoint once disabled the over-temperature trip).
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q: every option is a flag (see -h)", fs.Args())
	case !(c.setpointC >= MinSetpnt && c.setpointC <= MaxSetpnt):
		return c, fmt.Errorf("-setpoint %g °C: want a number in %g–%g", c.setpointC, MinSetpnt, MaxSetpnt)
	case !(c.period >= 50*time.Microsecond && c.period <= time.Second):
		return c, fmt.Errorf("-period %v: want 50µs–1s", c.period)
	case c.duration < 0:
		return c, fmt.Errorf("-duration %v: want ≥ 0 (0: until SIGINT or POST /shutdown)", c.duration)
	case !(c.cpu >= -1 && c.cpu < 4096):
		return c, fmt.Errorf("-cpu %d: want a CPU number, or -1 for any", c.cpu)
	case !(c.priority >= 1 && c.priority <= 99):
		return c, fmt.Errorf("-prio %d: want a SCHED_FIFO priority in 1–99", c.priority)
	case !(c.stall > 0):
		return c, fmt.Errorf("-stall %v: want > 0", c.stall)
	case !(c.maxMisses >= 0):
		return c, fmt.Errorf("-max-misses %d: want ≥ 0 (0: off)", c.maxMisses)
	}
	if c.maxRestarts < 1 {
		c.maxRestarts = 1
	}
	return c, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "plc:", err)
		os.Exit(rt.ExitConfig)
	}
	rt.Main(program(cfg))
}

// program builds the Program. In the worker only the task's name and
// Setup matter; the loop options come from the supervisor.
func program(cfg config) rt.Program {
	p := &plc{cfg: cfg, start: time.Now(), log: newLogger(os.Stdout), out: outputs.Image}
	p.ctl = newController(inputs.Image, p.log, Inputs{SetpointC: cfg.setpointC, Enable: cfg.enable})
	return rt.Program{
		Tasks: []rt.Task{{
			Loop: rt.LoopOptions{
				Name:   taskName,
				Period: cfg.period,
				Thread: rt.ThreadOptions{CPU: cfg.cpu, Pin: cfg.cpu >= 0, Policy: rt.PolicyFIFO, Priority: cfg.priority},
			},
			Setup: func() (rt.CycleFunc, error) {
				return newCycle(inputs.Image(), outputs.Image(), events.Ring()), nil
			},
			Watchdog: rt.Watchdog{
				MaxMisses:   cfg.maxMisses,
				Stall:       cfg.stall,
				Restart:     cfg.restart,
				MaxRestarts: cfg.maxRestarts,
			},
			SafeState: p.safeState,
		}},
		NonRT: p.run,
		// The HMI stays up after the scan stopped for good, to show the
		// safe state, until -duration, POST /shutdown or a signal.
		KeepRunning: true,
		// The deadline-miss watchdog (-max-misses) judges the scan's
		// misses: a miss alone does not fail the run.
		IgnoreMisses: true,
	}
}

// plc is the non-RT side: HMI, event log, safe state, summary.
type plc struct {
	cfg   config
	start time.Time
	ctl   *controller
	log   *logger
	out   func() *shm.Image[Outputs] // the output image (a function: it exists once rt.Run has mapped it)
	sup   atomic.Pointer[rt.Supervisor]

	watchdogs atomic.Int64
	summary   sync.Once
}

// run is the non-RT side. It runs in the supervisor, as ordinary Go.
func (p *plc) run(ctx context.Context, sup *rt.Supervisor) error {
	p.sup.Store(sup)
	p.ctl.publish()

	token, err := loadToken(p.cfg.tokenFile)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", p.cfg.httpAddr)
	if err != nil {
		return fmt.Errorf("listening for the HMI on %s: %w (choose another address with -http, port 0 for any)", p.cfg.httpAddr, err)
	}
	p.log.printf("plc: HMI on http://%s (GET /image, POST /inputs, GET /metrics, POST /shutdown)", ln.Addr())
	if p.cfg.tokenFile == "" {
		// Printed once, to the operator's terminal or journal only.
		p.log.printf("plc: HMI token %s (send it as \"Authorization: Bearer %s\" with every POST)", token, token)
	}
	if w := exposureWarning(ln.Addr()); w != "" {
		fmt.Fprint(os.Stderr, w)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if p.cfg.duration > 0 {
		var c2 context.CancelFunc
		ctx, c2 = context.WithTimeout(ctx, p.cfg.duration)
		defer c2()
	}
	srv := newHMI(p, cancel, hmiOptions{token: token, addr: ln.Addr().String(), bindHost: p.cfg.httpAddr})
	go srv.serve(ln)
	defer srv.close()
	p.log.follow(ctx, events.Ring())
	p.printSummary()
	return nil
}

// safeState runs in the supervisor after the watchdog killed the scan
// worker: the worker can no longer drive the outputs, so the supervisor
// writes a safe output image itself (heater off, safe latched), and
// disarms the inputs so that a restarted worker comes up with the heater
// off and stays so until the operator enables again.
func (p *plc) safeState(ev rt.WatchdogEvent) {
	img := p.out()
	var o Outputs
	img.Read(&o)
	o.Heater, o.Safe = 0, true
	o.TimeNs = rt.Nanotime()
	img.Write(&o)
	p.watchdogs.Add(1)
	p.log.printf("SAFE STATE: watchdog (%s: %s): heater off, outputs latched safe at %.2f °C after cycle %d",
		ev.Reason, ev.Detail, o.TemperatureC, o.Cycle)
	p.ctl.update(func(in *Inputs) { in.Enable, in.Fault = false, FaultNone }, "watchdog")
	if p.cfg.restart && ev.Restarts < p.cfg.maxRestarts {
		p.log.printf("plc: the restarted scan keeps the heater off; POST {\"enable\":true} to resume")
		return
	}
	why := "no restart left"
	if !p.cfg.restart {
		why = "restart is off (-restart=false)"
	}
	p.log.printf("plc: %s; the scan stays stopped with the outputs in the safe state; the HMI shows it until POST /shutdown, -duration or SIGINT", why)
}

func (p *plc) printSummary() {
	p.summary.Do(func() {
		var o Outputs
		p.out().Read(&o)
		restarts := 0
		if sup := p.sup.Load(); sup != nil {
			if ts := sup.Tasks(); len(ts) > 0 {
				restarts = ts[0].Restarts
			}
		}
		fmt.Printf("plc: ran %v: %d scan cycles, %d interlock trips, %d watchdog events, %d restarts; last T=%.2f °C heater=%.0f%% interlock=%s safe=%v\n",
			time.Since(p.start).Round(time.Millisecond), o.Cycle, o.Trips, p.watchdogs.Load(), restarts, o.TemperatureC, 100*o.Heater, o.Interlock, o.Safe)
		fmt.Printf("SUMMARY cycles=%d trips=%d watchdog=%d restarts=%d temperature=%.2f heater=%.3f interlock=%s safe=%v\n",
			o.Cycle, o.Trips, p.watchdogs.Load(), restarts, o.TemperatureC, o.Heater, o.Interlock, o.Safe)
	})
}
