// Package rt runs periodic real-time loops in Go on Linux, for PLC scan
// cycles, control loops and sensor gateways on PREEMPT_RT boxes.
//
// A loop runs a cycle function once per period on an OS thread of its
// own, pinned to a CPU under SCHED_FIFO, with absolute releases on
// CLOCK_MONOTONIC, and measures every cycle: wake latency as cyclictest
// defines it (CLOCK_MONOTONIC at wake-up minus the release), period
// jitter on CLOCK_MONOTONIC_RAW, execution time, deadline misses,
// overruns and missed releases, in constant memory and without
// allocating.
//
// Two ways to run loops:
//
//   - NewLoop and Loop.Run run one loop in this process. The process must
//     be started with GOMAXPROCS=1, GODEBUG=asyncpreemptoff=1 and
//     GOGC=off (call Reexec first thing in main), and must do no other
//     work while the loop runs: in such a process any other busy
//     goroutine delays the loop by milliseconds, and the garbage
//     collector would stop it.
//   - A Program (Run or Main) runs each Task's loop in a worker process
//     of its own (this binary, re-executed with the same arguments under
//     those settings) and the non-real-time code (HMI, network, logging,
//     metrics) in the supervisor process, as ordinary Go. The two sides
//     share only process images and rings in shared memory (DeclareImage,
//     DeclareRing), which the loop reads and writes without locks or
//     syscalls: the non-RT side can never delay a loop. The supervisor
//     runs each task's watchdog (deadline misses in a row, a stalled
//     cycle, a dead worker), drives the outputs to a safe state and
//     restarts the task if asked to.
//
// Privileges: SCHED_FIFO needs CAP_SYS_NICE (or RLIMIT_RTPRIO), locking
// memory needs CAP_IPC_LOCK (or RLIMIT_MEMLOCK); run as root, or grant the
// binary the file capabilities with setcap. Errors for a refused setting
// match ErrPermission and keep the errno (errors.Is(err, syscall.EPERM)).
//
// Exit statuses of Main, shared by rtcell's commands: ExitOK,
// ExitViolations, ExitConfig, ExitFailed, ExitOutput.
package rt
