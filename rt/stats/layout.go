package stats

// LayoutVersion identifies the byte layout of the state types (Task,
// Series, LogHist, Worst, WorstEntry, Windows, WindowSlot, OverflowLog) and
// of the Histogram words. The layout is a wire format between the RT
// process and readers that map the same memory: every field is a uint64 or
// int64 in native byte order (little-endian on amd64, arm64 and arm), in
// declaration order, with no padding and no pointers, so it is the same on
// 64- and 32-bit targets. Any change to a field, an array length or a
// constant that sizes one bumps LayoutVersion and the Sizeof constants.
//
// Histogram words: HistogramWords(N) uint64s, bins 0..N-1 µs then the
// overflow count.
const LayoutVersion = 1

// Sizes in bytes of the state types; tests check them against
// unsafe.Sizeof so that a layout change cannot go unnoticed.
const (
	SizeofLogHist     = 34_824  // 4353 buckets
	SizeofSeries      = 34_888  // 8 words + LogHist
	SizeofWorstEntry  = 32      // 4 words
	SizeofWorst       = 1_032   // 1 word + 32 entries
	SizeofWindowSlot  = 16      // 2 words
	SizeofWindows     = 57_656  // 7 words + 3600 slots
	SizeofOverflowLog = 520     // 1 word + 64 cycle numbers
	SizeofTask        = 163_880 // 1 word + 3 Series + Worst + Windows + OverflowLog
)
