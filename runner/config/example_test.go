package config_test

import (
	"fmt"

	"github.com/rtcell/rtcell/runner/config"
)

func ExampleParse() {
	src := `
[[task]]
name = "latency"
period = "1ms"
`
	cfg, err := config.Parse("min.toml", []byte(src), config.SysInfo{Online: []int{0, 1}, Isolated: []int{1}})
	if err != nil {
		fmt.Println(err)
		return
	}
	t := cfg.Tasks[0]
	fmt.Println(t.Name, t.Period, t.Deadline, t.Priority, t.Policy, t.CPU, t.CPUAuto, t.Wake, t.Workload, cfg.Run.Duration)
	// Output: latency 1ms 1ms 80 fifo 1 true sleep none 10s
}

func ExampleParse_errors() {
	src := `[run]
duration = "10s"

[[task]]
name = "latency"
period = "5us"
priority = 120
cpu = 3
wake = "spin"
`
	_, err := config.Parse("configs/x.toml", []byte(src), config.SysInfo{Online: []int{0, 1}})
	fmt.Println(err)
	// Output:
	// configs/x.toml:6: task[0].period: 5us is outside 10us–10s (1 kHz is "1ms")
	// configs/x.toml:7: task[0].priority: 120 is outside 1–99 (SCHED_FIFO/RR priorities; higher runs first)
	// configs/x.toml:8: task[0].cpu: CPU 3 is not online (online CPUs: 0-1; or omit cpu to pick one)
	// configs/x.toml:9: task[0].wake: "spin" is not allowed (use sleep | hybrid | busy)
}
