// Package metrics exports the statistics of rtcell RT tasks to
// Prometheus, in the text exposition format 0.0.4, written by hand (no
// client library): over HTTP (Handler, Serve, on 127.0.0.1:9101 by
// default) and as a textfile for node_exporter's textfile collector
// (WriteTextfile).
//
// It runs in the supervisor, never in an RT process: every scrape takes
// a snapshot of each task (a seqlock copy that never blocks the loop),
// computes summaries from the copy and allocates. Every series carries a
// task label; rtcell_task_info adds the task's CPU, policy, priority and
// wake strategy, to be joined on task (`* on (task) group_left (policy)
// rtcell_task_info`), which keeps the other families to one series per
// task.
//
// Example, in the non-real-time side of an rt.Program:
//
//	NonRT: func(ctx context.Context, sup *rt.Supervisor) error {
//		c := metrics.NewCollector(func() []metrics.Task {
//			var tasks []metrics.Task
//			for _, t := range sup.Tasks() {
//				tasks = append(tasks, metrics.Task{Name: t.Name, Source: t, Exited: !t.Running})
//			}
//			return tasks
//		})
//		return metrics.Serve(ctx, "127.0.0.1:9101", c) // GET http://127.0.0.1:9101/metrics
//	},
//
// Supervisor.Tasks is called on every scrape, so a task the watchdog
// restarted is read from its new worker. A Program's telemetry blocks
// stay mapped until the process exits, so a scrape never reads an
// unmapped block. A loop in this process (an *rt.Loop) is a Source too.
//
// NewCollectorOptions with CollectorOptions.Verdict adds the gauge
// rtcell_verdict{verdict="pass|violations|not-realtime|failed"}, 1 for
// the run's verdict so far (Collector.Verdict) and 0 for the others; the
// firmware tells it whether the kernel is PREEMPT_RT, and fills
// Task.Restarts from rt.TaskInfo.Restarts. The metric names are stable:
// Prometheus rules and dashboards (configs/prometheus, configs/grafana)
// depend on them.
package metrics
