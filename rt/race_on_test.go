//go:build race

package rt

// raceEnabled: the race detector's runtime touches fresh shadow memory
// as the program runs, page faults the loop's own code does not cause.
const raceEnabled = true
