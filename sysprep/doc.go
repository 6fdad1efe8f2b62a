// Package sysprep is the commissioning checklist for a real-time box. It
// reads /proc and /sys (or a fixture tree with the same layout), runs a
// fixed list of checks (PREEMPT_RT kernel, CPU isolation, IRQ affinity,
// RT throttling, privileges, clocks, memory...) and returns, for each, a
// status, what it observed, what it expected and the exact remedy.
//
// The runner calls it as its preflight:
//
//	env, err := sysprep.NewEnv("", "") // the live /proc and /sys
//	if err != nil {
//		return err
//	}
//	rep, err := sysprep.Run(env, sysprep.Options{RTCPUs: []int{1}, Priority: 80})
//	if err != nil {
//		return err // bad option or unreadable root
//	}
//	if rep.ExitCode() == 2 {
//		rep.WriteTable(os.Stderr, false)
//	}
//
// Reading is side-effect free, with one exception: on the live system
// (proc root is the real /proc), priv.sys_nice sets SCHED_FIFO on a
// throwaway thread and restores it (see rt/probe.FIFO).
package sysprep
