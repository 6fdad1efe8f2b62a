package runner

import (
	"encoding/json"
	"fmt"

	"github.com/rtcell/rtcell/rt"
	"github.com/rtcell/rtcell/runner/config"
)

// RoleTask is the worker role of a runner task.
const RoleTask = "runner.task"

// Roles are the worker roles a runner binary serves (rt.ServeWorker).
var Roles = map[string]rt.RoleFunc{RoleTask: taskRole}

// taskPayload is what the supervisor tells a task worker beyond its loop.
type taskPayload struct {
	Workload string `json:"workload"`
	Seed     uint64 `json:"seed"`
}

// taskRole builds a task's cycle function from its workload.
func taskRole(spec *rt.WorkerSpec) (rt.CycleFunc, error) {
	var p taskPayload
	if len(spec.Payload) > 0 {
		if err := json.Unmarshal(spec.Payload, &p); err != nil {
			return nil, fmt.Errorf("decoding the task payload: %w", err)
		}
	}
	w, err := config.ParseWorkload(p.Workload)
	if err != nil {
		return nil, err
	}
	return workloadCycle(w, p.Seed), nil
}

// workloadCycle returns the cycle function of a workload: nothing (pure
// latency, like cyclictest), or a busy spin of a fixed length or of a
// length drawn uniformly from [Min, Max] by a xorshift generator, which
// allocates nothing.
func workloadCycle(w config.Workload, seed uint64) rt.CycleFunc {
	if w.Kind != config.WorkloadBusy {
		return func(*rt.Cycle) bool { return true }
	}
	lo, span := int64(w.Min), uint64(w.Max-w.Min)
	x := seed | 1
	return func(*rt.Cycle) bool {
		d := lo
		if span > 0 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			d += int64(x % (span + 1))
		}
		end := rt.Nanotime() + d
		for rt.Nanotime() < end {
		}
		return true
	}
}
