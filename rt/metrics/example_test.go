package metrics_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/rtcell/rtcell/rt"
	"github.com/rtcell/rtcell/rt/metrics"
)

// The non-real-time side of a Program exports its tasks' statistics on
// 127.0.0.1:9101. Supervisor.Tasks is called on every scrape, so a task
// that the watchdog restarted is read from its new worker, and a task
// whose worker is gone is exported with rtcell_task_up 0.
func Example() {
	rt.Main(rt.Program{
		Tasks: []rt.Task{{
			Loop: rt.LoopOptions{
				Name:   "control",
				Period: time.Millisecond,
				Thread: rt.ThreadOptions{CPU: 1, Policy: rt.PolicyFIFO, Priority: 80},
			},
			Setup: func() (rt.CycleFunc, error) {
				return func(*rt.Cycle) bool { return true }, nil // the control logic
			},
			Watchdog: rt.Watchdog{Restart: true},
		}},
		NonRT: func(ctx context.Context, sup *rt.Supervisor) error {
			c := metrics.NewCollector(func() []metrics.Task {
				var tasks []metrics.Task
				for _, t := range sup.Tasks() {
					tasks = append(tasks, metrics.Task{Name: t.Name, Source: t, Exited: !t.Running})
				}
				return tasks
			})
			return metrics.Serve(ctx, "", c) // GET http://127.0.0.1:9101/metrics
		},
	})
}

// A loop in this process is a Source too. This one runs without RT
// privileges, ten cycles, and is scraped once it has ended.
func Example_loop() {
	loop, err := rt.NewLoop(rt.LoopOptions{
		Name:         "blink",
		Period:       time.Millisecond,
		Cycles:       10,
		AllowRuntime: true,
		Thread:       rt.ThreadOptions{CPU: -1, Policy: rt.PolicyOther, NoMlock: true, NoDMALatency: true},
	}, func(*rt.Cycle) bool { return true })
	if err != nil {
		log.Fatal(err)
	}
	c := metrics.NewCollector(func() []metrics.Task {
		return []metrics.Task{{Source: loop}} // the name is the loop's
	})
	if _, err := loop.Run(); err != nil {
		log.Fatal(err)
	}
	var b strings.Builder
	if err := c.WriteText(&b); err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "rtcell_task_up{") || strings.HasPrefix(line, "rtcell_task_cycles_total{") {
			fmt.Println(line)
		}
	}
	// Output:
	// rtcell_task_up{task="blink"} 0
	// rtcell_task_cycles_total{task="blink"} 10
}

// The verdict gauge, in firmware that judges its own run: the kernel is
// read once at start. This loop runs at SCHED_OTHER, so whatever the
// kernel, its figures prove nothing about real time: not-realtime.
func ExampleCollector_Verdict() {
	rtKernel := false
	if b, err := os.ReadFile("/sys/kernel/realtime"); err == nil && strings.TrimSpace(string(b)) == "1" {
		rtKernel = true
	}
	loop, err := rt.NewLoop(rt.LoopOptions{
		Name:         "blink",
		Period:       time.Millisecond,
		Cycles:       10,
		AllowRuntime: true,
		Thread:       rt.ThreadOptions{CPU: -1, Policy: rt.PolicyOther, NoMlock: true, NoDMALatency: true},
	}, func(*rt.Cycle) bool { return true })
	if err != nil {
		log.Fatal(err)
	}
	c := metrics.NewCollectorOptions(func() []metrics.Task {
		return []metrics.Task{{Source: loop}}
	}, metrics.CollectorOptions{Verdict: true, KernelRealtime: rtKernel})
	if _, err := loop.Run(); err != nil {
		log.Fatal(err)
	}
	v, err := c.Verdict()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verdict:", v)
	var b strings.Builder
	if err := c.WriteText(&b); err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "rtcell_verdict{") {
			fmt.Println(line)
		}
	}
	// Output:
	// verdict: not-realtime
	// rtcell_verdict{verdict="pass"} 0
	// rtcell_verdict{verdict="violations"} 0
	// rtcell_verdict{verdict="not-realtime"} 1
	// rtcell_verdict{verdict="failed"} 0
}
