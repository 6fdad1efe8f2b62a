package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/rtcell/rtcell/rt"
	"github.com/rtcell/rtcell/rt/metrics"
	"github.com/rtcell/rtcell/rt/shm"
)

// RingCapacity is the sample ring's size: about 1 s at 2 kHz, which rides
// out a non-RT side descheduled for a while without loss.
const RingCapacity = 2048

// The shared regions, declared at package level so that the supervisor
// and the sampler worker (the same binary, re-executed) declare the same
// regions in the same order. A ring's policy is fixed when it is
// declared, so that -policy can choose at run time there is one ring per
// policy; the sampler pushes to the one Control.Ring names.
var (
	control          = rt.DeclareImage[Control]("sgw-control")
	status           = rt.DeclareImage[Status]("sgw-status")
	samplesDrop      = rt.DeclareRing[Sample]("sgw-samples-drop-newest", RingCapacity, shm.DropNewest)
	samplesOverwrite = rt.DeclareRing[Sample]("sgw-samples-overwrite-oldest", RingCapacity, shm.OverwriteOldest)
)

const taskName = "sampler"

type config struct {
	rate          int
	duration      time.Duration
	policy        string
	batch         int
	interval      time.Duration
	collector     string
	collectorWait time.Duration
	collect       string
	drain         time.Duration
	cpu, priority int
	metricsAddr   string
	maxConns      int
	idleTimeout   time.Duration
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("sensorgw", flag.ContinueOnError)
	fs.IntVar(&c.rate, "rate", 2000, "samples per second (the RT loop's frequency)")
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "sampling time; then drain, report and exit")
	fs.StringVar(&c.policy, "policy", "drop-newest", "what the full ring does: drop-newest (refuse new samples) or overwrite-oldest")
	fs.IntVar(&c.batch, "batch", 64, fmt.Sprintf("largest batch per frame, 1–%d samples", MaxBatch))
	fs.DurationVar(&c.interval, "interval", 10*time.Millisecond, "how often the forwarder empties the ring")
	fs.StringVar(&c.collector, "collector", "", "collector address (host:port); empty: start the built-in collector on 127.0.0.1")
	fs.DurationVar(&c.collectorWait, "collector-delay", 0, "the collector spends this long on each frame before acking it (a slow collector)")
	fs.StringVar(&c.collect, "collect", "", "run only a collector, listening on this address (e.g. 127.0.0.1:9000), until SIGINT")
	fs.DurationVar(&c.drain, "drain", 2*time.Second, "after sampling stops, keep forwarding what is left in the ring for at most this long")
	fs.IntVar(&c.cpu, "cpu", runtime.NumCPU()-1, "CPU the sampler thread is pinned to (-1: any)")
	fs.IntVar(&c.priority, "prio", 80, "SCHED_FIFO priority of the sampler thread")
	fs.StringVar(&c.metricsAddr, "metrics", "", "serve the sampler's statistics for Prometheus on this address (e.g. 127.0.0.1:9101); empty: off")
	fs.IntVar(&c.maxConns, "max-conns", DefaultMaxConns, "with -collect: connections served at once; more are closed at once")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", DefaultIdleTimeout, "with -collect: close a connection that sends no frame for this long")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q: every option is a flag (see -h)", fs.Args())
	case c.rate < 1 || c.rate > 50_000:
		return c, fmt.Errorf("-rate %d: want 1–50000 samples per second", c.rate)
	case c.duration <= 0:
		return c, fmt.Errorf("-duration %v: want > 0", c.duration)
	case c.policy != "drop-newest" && c.policy != "overwrite-oldest":
		return c, fmt.Errorf("-policy %q: want drop-newest or overwrite-oldest", c.policy)
	case c.batch < 1 || c.batch > MaxBatch:
		return c, fmt.Errorf("-batch %d: want 1–%d", c.batch, MaxBatch)
	case c.interval <= 0:
		return c, fmt.Errorf("-interval %v: want > 0", c.interval)
	case c.collectorWait < 0:
		return c, fmt.Errorf("-collector-delay %v: want ≥ 0", c.collectorWait)
	case c.drain < 0:
		return c, fmt.Errorf("-drain %v: want ≥ 0", c.drain)
	case c.maxConns < 1:
		return c, fmt.Errorf("-max-conns %d: want ≥ 1", c.maxConns)
	case c.idleTimeout <= 0:
		return c, fmt.Errorf("-idle-timeout %v: want > 0", c.idleTimeout)
	case !(c.cpu >= -1 && c.cpu < 4096):
		return c, fmt.Errorf("-cpu %d: want a CPU number, or -1 for any", c.cpu)
	case !(c.priority >= 1 && c.priority <= 99):
		return c, fmt.Errorf("-prio %d: want a SCHED_FIFO priority in 1–99", c.priority)
	}
	return c, nil
}

func main() {
	// The sampler worker is this binary re-executed with the same
	// arguments, so it parses the same flags (and never has -collect).
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "sensorgw:", err)
		os.Exit(rt.ExitConfig)
	}
	if cfg.collect != "" {
		os.Exit(runCollector(cfg))
	}
	rt.Main(rt.Program{
		Tasks: []rt.Task{{
			Loop: rt.LoopOptions{
				Name:   taskName,
				Period: time.Second / time.Duration(max(cfg.rate, 1)),
				Thread: rt.ThreadOptions{CPU: cfg.cpu, Pin: cfg.cpu >= 0, Policy: rt.PolicyFIFO, Priority: cfg.priority},
			},
			Setup: func() (rt.CycleFunc, error) {
				return newSampler(control.Image(), status.Image(), samplesDrop.Ring(), samplesOverwrite.Ring()), nil
			},
			// A stalled sampler is reported and ends the run; missed
			// samples are not a safety matter, so no MaxMisses.
			Watchdog: rt.Watchdog{Stall: time.Second},
		}},
		NonRT: func(ctx context.Context, sup *rt.Supervisor) error { return gateway(ctx, sup, cfg) },
		// Nor do deadline misses fail the run: the ring rides them out,
		// and the report counts what they cost.
		IgnoreMisses: true,
	})
}

// logf writes a timestamped line to stdout.
var logMu sync.Mutex

func logf(format string, args ...any) {
	line := time.Now().UTC().Format("2006-01-02T15:04:05.000000Z07:00") + " " + fmt.Sprintf(format, args...) + "\n"
	logMu.Lock()
	defer logMu.Unlock()
	os.Stdout.WriteString(line)
}

// runCollector is the -collect mode: a collector alone, until SIGINT or
// SIGTERM.
func runCollector(cfg config) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", cfg.collect)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sensorgw: listening for gateways on %s: %v\n", cfg.collect, err)
		return rt.ExitConfig
	}
	c := &Collector{Delay: cfg.collectorWait, Logf: logf, MaxConns: cfg.maxConns, IdleTimeout: cfg.idleTimeout}
	logf("collector: listening on %s, %v per frame, at most %d connections, each closed after %v idle",
		ln.Addr(), cfg.collectorWait, cmp.Or(c.MaxConns, DefaultMaxConns), cmp.Or(c.IdleTimeout, DefaultIdleTimeout))
	if err := c.Serve(ctx, ln); err != nil {
		fmt.Fprintln(os.Stderr, "sensorgw:", err)
		return rt.ExitFailed
	}
	t := c.Total()
	logf("collector: total received %d, missing %d, out of order %d, corrupt %d", t.Received, t.Missing, t.OutOfOrder, t.Corrupt)
	return rt.ExitOK
}

// gateway is the non-RT side: collector, forwarder, report.
func gateway(ctx context.Context, sup *rt.Supervisor, cfg config) error {
	ring := samplesDrop.Ring()
	ringIdx := uint8(0)
	if cfg.policy == "overwrite-oldest" {
		ring, ringIdx = samplesOverwrite.Ring(), 1
	}
	if cfg.metricsAddr != "" {
		mc := metrics.NewCollector(func() []metrics.Task {
			var ts []metrics.Task
			for _, t := range sup.Tasks() {
				ts = append(ts, metrics.Task{Name: t.Name, Source: t, Exited: !t.Running})
			}
			return ts
		})
		go func() {
			if err := metrics.Serve(ctx, cfg.metricsAddr, mc); err != nil {
				logf("sensorgw: %v", err)
			}
		}()
	}

	addr := cfg.collector
	var coll *Collector
	collDone := make(chan struct{})
	if addr == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("starting the built-in collector: %w", err)
		}
		addr = ln.Addr().String()
		coll = &Collector{Delay: cfg.collectorWait}
		cctx, cancel := context.WithCancel(context.Background())
		defer func() { cancel(); <-collDone }()
		go func() { defer close(collDone); coll.Serve(cctx, ln) }()
	} else {
		close(collDone)
	}
	// The first dial must succeed: an address that does not answer at
	// start is a configuration error. Later failures are retried with
	// backoff while the ring rides them out.
	var d net.Dialer
	dial := func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return fmt.Errorf("connecting to the collector at %s: %w (start one with `sensorgw -collect %s`)", addr, err, addr)
	}
	// Wait for the sampler's loop to run (it writes its status every
	// cycle, sampling or not), so that the sampling time is all RT time.
	for end := time.Now().Add(10 * time.Second); status.Image().Version() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(end) || ctx.Err() != nil {
			return fmt.Errorf("the sampler task did not start in 10 s")
		}
	}
	where := "the external collector at " + addr
	if coll != nil {
		where = fmt.Sprintf("the built-in collector at %s (%v per frame)", addr, cfg.collectorWait)
	}
	logf("sensorgw: sampling at %d Hz for %v into a %d-sample %s ring; batches of ≤ %d every %v to %s",
		cfg.rate, cfg.duration, RingCapacity, cfg.policy, cfg.batch, cfg.interval, where)
	fw := newForwarder(ring, conn, dial, cfg.batch)
	fw.logf = logf
	defer func() {
		if fw.conn != nil {
			fw.conn.Close()
		}
	}()
	start := time.Now()
	control.Image().Write(&Control{Run: true, Ring: ringIdx})
	rctx, cancel := context.WithTimeout(ctx, cfg.duration)
	fw.run(rctx, cfg.interval)
	cancel()

	// Stop sampling and wait until the sampler says it has stopped: no
	// push can come after that, so the counts below are final.
	control.Image().Write(&Control{Run: false, Ring: ringIdx})
	var st Status
	for end := time.Now().Add(2 * time.Second); ; time.Sleep(time.Millisecond) {
		if status.Image().Read(&st) && !st.Sampling || time.Now().After(end) {
			break
		}
	}
	sampled := time.Since(start)
	fwErr := fw.drain(time.Now().Add(cfg.drain))
	if fwErr != nil {
		logf("sensorgw: forwarding stopped: %v", fwErr)
	}
	status.Image().Read(&st)
	report(st, ring.Stats(), ring.Len(), fw, sampled)
	return fwErr
}

func report(st Status, rs shm.RingStats, left int, fw *forwarder, sampled time.Duration) {
	a := fw.acked
	// Every count is checked before it is subtracted: acked ≤ popped ≤
	// produced holds by construction (an ack is only counted when it
	// answers a frame exactly), and a report that finds otherwise says
	// so rather than print an underflowed number.
	var lost uint64
	if a.Received <= st.Produced {
		lost = st.Produced - a.Received
	} else {
		logf("sensorgw: BUG: %d samples acknowledged of %d produced", a.Received, st.Produced)
	}
	unacked := uint64(fw.pending)
	pct := 0.0
	if st.Produced > 0 {
		pct = 100 * float64(lost) / float64(st.Produced)
	}
	balanced := rs.Pushed == st.Produced && rs.Pushed == rs.Popped+rs.Dropped+uint64(left) && rs.Popped == fw.popped &&
		fw.popped == a.Received+unacked
	fmt.Printf("sensorgw: sampled for %v: produced %d samples (%.0f/s); ring: pushed %d, popped %d, dropped %d (refused by a full ring: %d), left %d; balanced %v\n",
		sampled.Round(time.Millisecond), st.Produced, float64(st.Produced)/sampled.Seconds(), rs.Pushed, rs.Popped, rs.Dropped, st.Refused, left, balanced)
	fmt.Printf("sensorgw: collector acked %d samples in %d frames: missing %d, out of order %d, corrupt %d\n",
		a.Received, fw.frames, a.Missing, a.OutOfOrder, a.Corrupt)
	fmt.Printf("sensorgw: connection failures %d (bad acks %d), reconnects %d, samples resent %d\n",
		fw.failures, fw.protoErrs, fw.reconnects, fw.resent)
	fmt.Printf("sensorgw: end-to-end loss %d of %d (%.2f%%) = dropped %d + left in the ring %d + sent but not acked %d\n",
		lost, st.Produced, pct, rs.Dropped, left, unacked)
	fmt.Printf("SUMMARY produced=%d dropped=%d left=%d received=%d lost=%d missing=%d ordered=%v corrupt=%d balanced=%v reconnects=%d\n",
		st.Produced, rs.Dropped, left, a.Received, lost, a.Missing, a.OutOfOrder == 0, a.Corrupt, balanced, fw.reconnects)
}
