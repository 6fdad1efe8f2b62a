//go:build race

package metrics

// raceEnabled: the race detector flags rt's seqlock copy of a block the
// loop is writing (a plain copy validated by the sequence counter, a race
// by design), so tests that scrape a running loop skip under -race.
const raceEnabled = true
