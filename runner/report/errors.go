package report

import "errors"

// Sentinel errors. Wrapped errors carry the detail and the remedy; test
// for the kind with errors.Is.
var (
	// ErrMalformed marks a report file that is not valid JSON.
	ErrMalformed = errors.New("malformed report")
	// ErrSchema means a report has another schema than Schema: it was
	// written by another tool or an incompatible version.
	ErrSchema = errors.New("unknown report schema")
	// ErrBinWidth means a histogram's bins cannot be written as
	// cyclictest's 1 µs bins: the width must divide 1000 ns.
	ErrBinWidth = errors.New("histogram bin width does not divide 1 µs")
)
