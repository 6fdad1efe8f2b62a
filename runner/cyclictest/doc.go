// Package cyclictest runs rt-tests' cyclictest and parses what it writes:
// the --json=FILE result and the -h histogram text. The runner uses it to
// cross-check its own loops against the reference tool on the same CPU,
// and the report package's histfile is checked against ParseHistogram.
//
// cyclictest reports latencies in whole microseconds (truncated), its
// histogram has 1 µs bins and counts a sample beyond the last bin as an
// overflow. This package converts to nanoseconds at the edge: every field
// or value ending in Ns is in ns, every histogram index is in µs.
//
// Example:
//
//	res, err := cyclictest.Run(ctx, cyclictest.Options{
//		CPU: 1, Priority: 90, Interval: time.Millisecond, Loops: 5000, HistogramUS: 1000,
//	})
//	if err != nil {
//		return err
//	}
//	s, err := res.Summary()
//	if err != nil {
//		return err
//	}
//	fmt.Printf("cyclictest %s: p99 %d ns, max %d ns\n", res.Version, s.P99Ns, s.MaxNs)
package cyclictest
