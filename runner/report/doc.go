// Package report writes the runner's run report in five formats: JSON
// (schema rtcell.run/v1, times in ns), a text summary for people, a
// histogram file in cyclictest's -h format for existing plotting scripts,
// an SVG plot in OSADL's style, and a self-contained HTML commissioning
// report to print and sign (WriteHTML), which can merge several runs and
// show their drift from a commissioned baseline (Compare). It only
// formats and compares: the runner measures and computes every number,
// percentiles included.
//
// Every output of a run that was not real-time (a kernel that is not
// PREEMPT_RT, or a run allowed at SCHED_OTHER) says NOT REAL-TIME in
// plain words. Write files with atomicfile.Write (package rt/atomicfile),
// so that a reader, or a run stopped by a signal, never sees a partial
// file.
//
// Example:
//
//	rep := &report.Report{Host: host, Preflight: pf, Tasks: tasks, Verdict: report.VerdictPass}
//	for name, write := range map[string]func(io.Writer) error{
//		"run.json": rep.WriteJSON,
//		"run.txt":  rep.WriteText,
//		"run.hist": rep.WriteHistfile,
//		"run.svg":  func(w io.Writer) error { return report.WriteSVG(w, rep) },
//	} {
//		if err := atomicfile.Write(filepath.Join("out", name), write, 0o644); err != nil {
//			return err
//		}
//	}
package report
