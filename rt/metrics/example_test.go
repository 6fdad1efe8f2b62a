package metrics_test

import (
	"context"
	"log"
	"sync"

	"github.com/rtcell/rtcell/rt"
	"github.com/rtcell/rtcell/rt/metrics"
)

// A supervisor exports its workers' statistics on 127.0.0.1:9101 and
// replaces a stalled worker without ever unmapping a block under a scrape.
func Example() {
	ctx := context.Background()
	spec := rt.WorkerSpec{Role: "control", Loop: rt.LoopOptions{Name: "control"}}

	var mu sync.Mutex
	w, err := rt.StartWorker(spec, rt.WorkerOptions{})
	if err != nil {
		log.Fatal(err)
	}
	c := metrics.NewCollector(func() []metrics.Task {
		mu.Lock()
		defer mu.Unlock()
		exited := false
		select {
		case <-w.Done():
			exited = true
		default:
		}
		return []metrics.Task{{Name: w.Spec.Loop.Name, Telemetry: w.Telemetry(), Exited: exited}}
	})
	go func() {
		if err := metrics.Serve(ctx, "", c); err != nil {
			log.Print(err)
		}
	}()

	// The watchdog restarts the worker: swap it, then close the old block.
	mu.Lock()
	old := w
	w, err = rt.StartWorker(spec, rt.WorkerOptions{})
	mu.Unlock()
	if err != nil {
		log.Fatal(err)
	}
	old.Kill()
	old.Wait()
	c.CloseTelemetry(old.Telemetry())
}
