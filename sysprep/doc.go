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
// throwaway thread and restores it (see rt/probe.FIFO). Reading is also
// bounded: only regular files are opened (a FIFO in a tree is an error
// naming it), each read is capped, and names from the box are escaped.
//
// Apply changes the system: PlanApply works out the run-time fixes for
// a report (sysctls, IRQ affinities, masks, governor...), Apply makes
// them after writing an undo journal, and Rollback restores them. They
// need root on the live box and change it as a whole:
//
//	plan, err := sysprep.PlanApply(env, rep, opts, sysprep.ApplyOptions{})
//	j, err := sysprep.Apply(env, plan, sysprep.DefaultJournalPath(time.Now()), time.Now())
//	restored, failed := sysprep.Rollback(env, j)
package sysprep
