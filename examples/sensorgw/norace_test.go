//go:build !race

package main

// raceEnabled says whether the race detector is on. Under
// OverwriteOldest, Ring.Pop copies a slot the producer may be
// overwriting and discards the copy when it was: a data race by design
// (see rt/shm), which the detector reports when producer and consumer
// are goroutines of one process.
const raceEnabled = false
