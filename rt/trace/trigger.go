package trace

import "fmt"

// maxTaskName bounds the task name in a marker, so that the marker
// always fits the buffer the trigger formats it in.
const maxTaskName = 63

// markerCap is the trigger's marker buffer: "rtcell: task=" (13 bytes),
// the name, " cycle=" and 20 digits, " latency=", a sign and 19 digits,
// "ns\n".
const markerCap = 13 + maxTaskName + 7 + 20 + 9 + 20 + 3

// checkTaskName refuses a name that does not fit the marker buffer.
func checkTaskName(task string) error {
	if task == "" || len(task) > maxTaskName {
		return fmt.Errorf("trace marker for task %q: want a name of 1–%d bytes: %w", task, maxTaskName, ErrInvalid)
	}
	return nil
}
