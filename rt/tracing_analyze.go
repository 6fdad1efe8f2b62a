package rt

import "github.com/rtcell/rtcell/rt/trace"

// analyzeTrace splits a breach in a saved trace into its causes; a
// variable so that tests can see what the supervisor passes it.
var analyzeTrace = trace.Analyze
