package report

// DriftSchema names the JSON layout of a drift check.
const DriftSchema = "rtcell.drift/v1"

// Drift is what changed between a commissioned baseline run and a
// current one (runner report --baseline).
type Drift struct {
	Schema string `json:"schema"`
	// Baseline and Current are the files compared.
	Baseline string `json:"baseline"`
	Current  string `json:"current"`
	// TolerancePct is how far p99 and max latency may grow, in percent
	// of the baseline, before they count as drift (default 20).
	TolerancePct float64 `json:"tolerance_pct"`
	// Items lists every difference found, the drifted ones first.
	Items []DriftItem `json:"items"`
	// Drifted is true when at least one item is Worse.
	Drifted bool `json:"drifted"`
}

// DriftItem is one difference between the baseline and the current run.
type DriftItem struct {
	// Kind is "check" (a sysprep check), "host" (kernel, command line,
	// BIOS, CPU model) or "latency" (a task's p99 or max).
	Kind string `json:"kind"`
	// Name is the check ID, the host field or "TASK p99"/"TASK max".
	Name     string `json:"name"`
	Baseline string `json:"baseline"`
	Current  string `json:"current"`
	// Worse is true for a change that counts as drift: a check whose
	// status got worse, a changed host identity, latency beyond the
	// tolerance. Improvements are listed with Worse false.
	Worse bool `json:"worse"`
}
