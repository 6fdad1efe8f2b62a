package config_test

import (
	"fmt"
	"strings"

	"github.com/rtcell/rtcell/rt"
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
	fmt.Println(t.Policy == rt.PolicyFIFO, t.Wake == rt.WakeSleep, t.Overrun == rt.OverrunSkip)
	// Output:
	// latency 1ms 1ms 80 fifo 1 true sleep none 10s
	// true true true
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

// Hostile input is refused before it is decoded, with its line.
func ExampleParse_limits() {
	deep := "[[task]]\nname = \"a\"\nperiod = \"1ms\"\nx = " + strings.Repeat("[", 10_000) + strings.Repeat("]", 10_000) + "\n"
	_, err := config.Parse("deep.toml", []byte(deep), config.SysInfo{Online: []int{0, 1}})
	fmt.Println(err)

	var many strings.Builder
	for i := range 17 {
		fmt.Fprintf(&many, "[[task]]\nname = \"t%d\"\nperiod = \"1ms\"\ncpu = %d\n", i, i%2)
	}
	_, err = config.Parse("many.toml", []byte(many.String()), config.SysInfo{Online: []int{0, 1}, MemAvailableBytes: 1 << 30})
	fmt.Println(err)
	// Output:
	// deep.toml:4: toml: nested more than 16 levels deep (arrays, inline tables and dotted key parts; a runner config needs 3)
	// many.toml:1: task: 17 tasks are more than 2 online CPUs can run (at most 8 tasks share a CPU, so at most 16 here; each task is a worker process with a real-time thread pinned to its CPU)
	// many.toml:1: task: 17 tasks × ≈96 MiB locked = 1632 MiB is more than the 1024 MiB available (each task is a worker process that locks all its memory with mlockall; run fewer tasks, or free memory)
}

func ExampleConfig_ApplyOutputFlags() {
	src := `[[task]]
name = "latency"
period = "1ms"

[report]
json = "out/run.json"
svg = "out/latency.svg"
metrics_textfile = "out/rtcell.prom"
`
	sys := config.SysInfo{Online: []int{0, 1}}
	cfg, err := config.Parse("run.toml", []byte(src), sys)
	if err != nil {
		fmt.Println(err)
		return
	}
	// --json replaces the config's path; an empty --svg keeps it.
	err = cfg.ApplyOutputFlags(
		config.OutputFlag{Key: "json", Flag: "--json", Path: "today.json"},
		config.OutputFlag{Key: "svg", Flag: "--svg", Path: ""},
	)
	fmt.Println(cfg.Report.JSON, cfg.Report.SVG, err)

	// A flag that names another output's file is refused, naming both.
	err = cfg.ApplyOutputFlags(
		config.OutputFlag{Key: "histfile", Flag: "--histfile", Path: "out/rtcell.prom"},
		config.OutputFlag{Key: "svg", Flag: "--svg", Path: "./today.json"},
	)
	fmt.Println(err)
	// Output:
	// today.json out/latency.svg <nil>
	// --svg: "./today.json" is also --json (give each output its own file)
	// --histfile: "out/rtcell.prom" is also report.metrics_textfile at run.toml:8 (give each output its own file)
}
