package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// tasks writes n [[task]] tables; cpu(i) is the cpu line of task i, or "".
func tasks(n int, cpu func(i int) string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "[[task]]\nname = \"t%d\"\nperiod = \"1ms\"\npriority = %d\n%s", i, 1+i%99, cpu(i))
	}
	return b.String()
}

func spread(i int) string { return fmt.Sprintf("cpu = %d\n", i%2) }
func auto(int) string     { return "" }

func TestTaskCountBounds(t *testing.T) {
	const gib = 1 << 30
	big := SysInfo{Online: []int{0, 1}, MemAvailableBytes: 23 * gib}
	many := SysInfo{Online: make([]int, 64), Isolated: make([]int, 64), MemAvailableBytes: gib}
	for i := range many.Online {
		many.Online[i], many.Isolated[i] = i, i
	}
	tests := []struct {
		name string
		src  string
		sys  SysInfo
		want []string // error lines (prefixes), in order; nil: accepted
	}{
		{"8 tasks per CPU", tasks(2*MaxTasksPerCPU, spread), big, nil},
		{"memory unknown: no memory check", tasks(2*MaxTasksPerCPU, spread), twoCPUs, nil},
		{"one task too many for the CPUs", tasks(2*MaxTasksPerCPU+1, spread), big,
			[]string{"n.toml:1: task: 17 tasks are more than 2 online CPUs can run (at most 8 tasks share a CPU, so at most 16 here"}},
		{"duplicate online CPUs count once", tasks(2*MaxTasksPerCPU+1, spread), SysInfo{Online: []int{0, 1, 1, 0}}, []string{"n.toml:1: task: 17 tasks are more than 2 online CPUs"}},
		{"1,000 tasks", tasks(1000, spread), big, []string{
			"n.toml:1: task: 1000 tasks are more than 2 online CPUs can run",
			"n.toml:1: task: 1000 tasks × ≈96 MiB locked = 96000 MiB is more than the 23552 MiB available"}},
		{"memory holds 10 workers", tasks(10, auto), many, nil},
		{"memory does not hold 11", tasks(11, auto), many,
			[]string{"n.toml:1: task: 11 tasks × ≈96 MiB locked = 1056 MiB is more than the 1024 MiB available (each task is a worker process that locks all its memory with mlockall"}},
		{"auto CPUs pile up on one CPU", tasks(MaxTasksPerCPU+1, auto), twoCPUs,
			[]string{"n.toml:33: task[8].cpu: CPU 1 would run more than 8 tasks (9 were picked automatically: set cpu on some tasks to spread them"}},
		{"explicit CPUs pile up", tasks(MaxTasksPerCPU+1, func(int) string { return "cpu = 0\n" }), twoCPUs,
			[]string{"n.toml:45: task[8].cpu: CPU 0 would run more than 8 tasks (give some of them another CPU"}},
		{"8 on one CPU is fine", tasks(MaxTasksPerCPU, func(int) string { return "cpu = 0\n" }), twoCPUs, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cfg *Config
			var err error
			bounded(t, "Parse", func() { cfg, err = Parse("n.toml", []byte(tc.src), tc.sys) })
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted %d tasks", len(cfg.Tasks))
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) is false")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("%d errors, want %d:\n%s", len(lines), len(tc.want), strings.Join(lines[:min(len(lines), 5)], "\n"))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("error %d = %q\nwant prefix %q", i, lines[i], w)
				}
			}
		})
	}
}

// TestHugeTaskArrayBounded checks that a 1 MiB file of 37,000 tiny
// inline tasks is refused with one error, not one per task. The TOML
// decoder alone allocates ≈ 55 MiB for it and keyLines 18 MiB, in
// proportion to the input; the bound is three times that. Decoding
// takes ≈ 1.2 s here, and 5–10 times that under -race, hence the longer
// hang guard.
func TestHugeTaskArrayBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("task = [\n")
	for i := 0; b.Len() < MaxFileSize-64; i++ {
		fmt.Fprintf(&b, "{name=\"t%d\",period=\"1ms\"},\n", i)
	}
	b.WriteString("]\n")
	path := writeFile(t, "huge.toml", b.String())
	var err error
	boundedBy(t, "Load", 3*80<<20, time.Minute, func() { _, err = Load(path, twoCPUs) })
	if err == nil || strings.Count(err.Error(), "\n") != 0 || !strings.Contains(err.Error(), "tasks are more than 2 online CPUs can run") {
		t.Fatalf("error %.300v, want one line on the task count", err)
	}
}
