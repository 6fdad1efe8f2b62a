// Command plc is a small PLC built on rtcell: a 1 kHz scan cycle in a
// SCHED_FIFO worker process reads the input process image, runs the
// logic (a door and over-temperature interlock and a PI temperature loop
// on a simulated thermal tank) and writes the output process image. The
// non-real-time side, in the supervisor process, serves the images as
// JSON over HTTP on 127.0.0.1, logs state changes with timestamps, and
// drives the outputs to a safe state (heater off, safe latched) when the
// watchdog catches a hung, overrunning or killed scan.
//
// Run it as root (SCHED_FIFO, mlockall):
//
//	go run ./examples/plc -duration 30s -setpoint 60 -enable
//	# it prints "plc: HMI token 3f9c…"; every POST must carry it
//	H=(-H "Authorization: Bearer 3f9c…" -H 'Content-Type: application/json')
//	curl -s 127.0.0.1:8080/image
//	curl -s "${H[@]}" -XPOST -d '{"door":true}' 127.0.0.1:8080/inputs      # the interlock trips
//	curl -s "${H[@]}" -XPOST -d '{"fault":"hang"}' 127.0.0.1:8080/inputs   # the scan hangs: watchdog, safe state
//	curl -s "${H[@]}" -XPOST -d '{"enable":true}' 127.0.0.1:8080/inputs    # the operator resumes
//	curl -s 127.0.0.1:8080/metrics                                         # the scan's statistics, for Prometheus
//	curl -s "${H[@]}" -XPOST 127.0.0.1:8080/shutdown                       # summary and exit
//
// The HMI refuses every POST without the token (generated with
// crypto/rand at start and printed once, or read from -token-file), with
// a Content-Type other than application/json, or with an Origin other
// than its own; and every request whose Host is not its own address
// (127.0.0.1, localhost or [::1] with its port): together these stop
// local processes, cross-site requests from any web page, and DNS
// rebinding. JSON bodies with duplicate or unknown keys are refused, and
// every number (flags and HMI) must be a finite value in range. It warns
// on stderr when bound beyond loopback.
//
// Faults: "hang" (the cycle never returns: the stall watchdog fires),
// "slow" (every cycle overruns: the deadline-miss watchdog fires), "kill"
// (the supervisor kills the worker: the watchdog sees it die). After the
// safe state the task restarts (-restart, up to -max-restarts) with the
// heater held off until the operator enables again.
//
// The last lines are a machine-checkable summary, e.g.
//
//	SUMMARY cycles=5474 trips=1 watchdog=1 restarts=1 temperature=20.00 heater=0.000 interlock=none safe=true
//
// and the scan task's latency statistics. The log goes to stdout, the
// watchdog's own messages to stderr. The exit code is 0 when no watchdog
// fired, 1 when one fired and the scan was restarted, 3 when the watchdog
// gave up on the scan (no restart left, or -restart=false; the HMI keeps
// showing the safe state until POST /shutdown, -duration or SIGINT), 2
// when a flag is wrong or the scan could not start (privileges, a CPU
// another rtcell process measures on).
package main
