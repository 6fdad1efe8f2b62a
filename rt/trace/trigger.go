package trace

import "fmt"

// markerPrefix starts every marker the trigger writes; the analysis
// finds the breach by it.
const markerPrefix = "rtcell: task="

// maxTaskName bounds the task name in a marker, so the marker buffer is
// a fixed array.
const maxTaskName = 63

// markerBuf is a marker being formatted in place:
// "rtcell: task=NAME cycle=N latency=NNNns\n".
type markerBuf struct {
	b [160]byte
	// fixed is the length of "rtcell: task=NAME cycle=".
	fixed int
	n     int
}

func (m *markerBuf) init(task string) error {
	if task == "" || len(task) > maxTaskName {
		return fmt.Errorf("trace marker for task %q: want a name of 1–%d bytes: %w", task, maxTaskName, ErrInvalid)
	}
	m.fixed = copy(m.b[:], markerPrefix)
	m.fixed += copy(m.b[m.fixed:], task)
	m.fixed += copy(m.b[m.fixed:], " cycle=")
	m.n = m.fixed
	return nil
}

// format fills in cycle and latency, allocation-free, and returns the
// marker's bytes (they stay valid until the next format).
//
//go:nosplit
func (m *markerBuf) format(cycle uint64, latencyNs int64) []byte {
	n := m.fixed
	n = putUint(m.b[:], n, cycle)
	n += copy(m.b[n:], " latency=")
	if latencyNs < 0 {
		m.b[n] = '-'
		n++
		latencyNs = -latencyNs
	}
	n = putUint(m.b[:], n, uint64(latencyNs))
	n += copy(m.b[n:], "ns\n")
	m.n = n
	return m.b[:n]
}

// putUint writes v in decimal into b at i and returns the index after it.
//
//go:nosplit
func putUint(b []byte, i int, v uint64) int {
	var tmp [20]byte
	j := len(tmp)
	for {
		j--
		tmp[j] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return i + copy(b[i:], tmp[j:])
}
