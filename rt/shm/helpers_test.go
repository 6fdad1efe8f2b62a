package shm

// Test element types whose content proves they were copied whole: every
// word encodes the same sequence number, and a checksum word covers it.

// img256 is a 256-byte image: 31 words of seq<<8|index, and a checksum.
type img256 struct {
	W   [31]uint64
	Sum uint64
}

func mix(seq uint64) uint64 {
	x := seq*0x9e3779b97f4a7c15 + 0x632be59bd9b4e019
	x ^= x >> 29
	return x * 0xbf58476d1ce4e5b9
}

func makeImg(seq uint64, v *img256) {
	for i := range v.W {
		v.W[i] = seq<<8 | uint64(i)
	}
	v.Sum = mix(seq)
}

// checkImg returns the sequence number v encodes and whether all its words
// agree on it.
func checkImg(v *img256) (seq uint64, whole bool) {
	seq = v.W[0] >> 8
	for i, w := range v.W {
		if w != seq<<8|uint64(i) {
			return seq, false
		}
	}
	return seq, v.Sum == mix(seq)
}

// item is a 64-byte ring element.
type item struct {
	Seq uint64
	Pay [6]uint64
	Sum uint64
}

func makeItem(seq uint64, v *item) {
	v.Seq = seq
	for i := range v.Pay {
		v.Pay[i] = seq*7 + uint64(i)
	}
	v.Sum = mix(seq)
}

func checkItem(v *item) bool {
	for i, p := range v.Pay {
		if p != v.Seq*7+uint64(i) {
			return false
		}
	}
	return v.Sum == mix(v.Seq)
}

// streamCheck follows the sequence numbers a consumer pops.
type streamCheck struct {
	Popped      uint64
	Torn        uint64 // items whose words disagree
	OutOfOrder  uint64 // items whose Seq is not above the previous one
	OutOfRange  uint64 // Seq ≥ the number pushed
	Gaps        uint64 // items skipped between consecutive pops
	First, Last uint64
	seen        bool
}

func (c *streamCheck) add(v *item, n uint64) {
	c.Popped++
	if !checkItem(v) {
		c.Torn++
		return
	}
	if n > 0 && v.Seq >= n {
		c.OutOfRange++
	}
	switch {
	case !c.seen:
		c.First, c.seen = v.Seq, true
		c.Gaps += v.Seq
	case v.Seq <= c.Last:
		c.OutOfOrder++
	default:
		c.Gaps += v.Seq - c.Last - 1
	}
	c.Last = v.Seq
}
