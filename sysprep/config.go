package sysprep

import (
	"fmt"
	"slices"

	"github.com/BurntSushi/toml"
)

// runnerConfig is the part of a runner TOML config sysprep reads: the
// tasks' CPUs and priorities. Other keys are ignored; the runner's own
// config package validates the whole file.
type runnerConfig struct {
	Task []struct {
		Name     string `toml:"name"`
		CPU      *int   `toml:"cpu"`
		Priority int    `toml:"priority"`
	} `toml:"task"`
}

// LoadRunnerConfig reads a runner config file and returns the CPUs its
// [[task]] tables pin to and their highest priority (0 if none is set).
func LoadRunnerConfig(path string) (cpus []int, priority int, err error) {
	var c runnerConfig
	// Read through the bounded reader: a FIFO named by --config is an
	// error, not a read that blocks.
	text, err := readSmall(path)
	if err != nil {
		return nil, 0, fmt.Errorf("reading runner config %s: %w: %w", path, ErrBadOption, err)
	}
	if _, err := toml.Decode(text, &c); err != nil {
		return nil, 0, fmt.Errorf("reading runner config %s: %w: %w", path, ErrBadOption, err)
	}
	for _, t := range c.Task {
		if t.CPU != nil {
			if *t.CPU < 0 || *t.CPU >= maxCPUs {
				return nil, 0, fmt.Errorf("reading runner config %s: task %q has cpu %d: %w", path, t.Name, *t.CPU, ErrBadOption)
			}
			if !slices.Contains(cpus, *t.CPU) {
				cpus = append(cpus, *t.CPU)
			}
		}
		priority = max(priority, t.Priority)
	}
	slices.Sort(cpus)
	return cpus, priority, nil
}
