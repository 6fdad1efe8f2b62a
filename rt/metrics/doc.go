// Package metrics exports the statistics of rtcell RT tasks to
// Prometheus, in the text exposition format 0.0.4, written by hand (no
// client library): over HTTP (Handler, Serve, on 127.0.0.1:9101 by
// default) and as a textfile for node_exporter's textfile collector
// (WriteTextfile).
//
// It runs in the supervisor, never in an RT process: every scrape copies
// each task's telemetry block (a seqlock copy that never blocks the loop),
// computes summaries from the copy and allocates. Every series carries a
// task label; rtcell_task_info adds the task's CPU, policy, priority and
// wake strategy, to be joined on task (`* on (task) group_left (policy)
// rtcell_task_info`), which keeps the other families to one series per
// task.
//
// Example, in a supervisor that runs workers:
//
//	c := metrics.NewCollector(func() []metrics.Task {
//		mu.Lock()
//		defer mu.Unlock()
//		tasks := make([]metrics.Task, len(workers))
//		for i, w := range workers {
//			tasks[i] = metrics.Task{Name: w.Spec.Loop.Name, Telemetry: w.Telemetry(), Exited: exited(w)}
//		}
//		return tasks
//	})
//	go metrics.Serve(ctx, "127.0.0.1:9101", c) // GET http://127.0.0.1:9101/metrics
//
// When the watchdog replaces a worker, the supervisor swaps it in its
// list first and then closes the old block with c.CloseTelemetry, which
// waits for scrapes in progress.
package metrics
