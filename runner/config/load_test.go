package config

import (
	"errors"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/rtcell/rtcell/rt/load"
)

// The config tests must not depend on which tools this machine has:
// every generator counts as installed, except in TestLoadNotInstalled.
func init() { lookPath = func(name string) (string, error) { return "/usr/bin/" + name, nil } }

func TestLoadTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		sys  SysInfo
		want LoadTable
	}{
		{"stress-ng default on the free CPU", okTask + "cpu = 1\n[load]\nstress_ng = true\n", twoCPUs,
			LoadTable{StressNG: true, CPUs: []int{0}, CPUsAuto: true, Phases: []string{"load"}}},
		{"both, with arguments, idle then load", okTask + "cpu = 1\n[load]\nstress_ng = \"--cpu 1  --vm 2\"\nhackbench = \"-P -l 10\"\nphases = [\"idle\", \"load\"]\n", twoCPUs,
			LoadTable{StressNG: true, StressNGArgs: []string{"--cpu", "1", "--vm", "2"}, Hackbench: true, HackbenchArgs: []string{"-P", "-l", "10"},
				CPUs: []int{0}, CPUsAuto: true, Phases: []string{"idle", "load"}}},
		{"load first", okTask + "[load]\nhackbench = true\nphases = [\"load\", \"idle\"]\n", twoCPUs,
			LoadTable{Hackbench: true, CPUs: []int{0}, CPUsAuto: true, Phases: []string{"load", "idle"}}},
		{"given CPUs", okTask + "cpu = 3\n[load]\nstress_ng = true\ncpus = \"0-1\"\n", isolated,
			LoadTable{StressNG: true, CPUs: []int{0, 1}, Phases: []string{"load"}}},
		{"housekeeping around an auto CPU", okTask + "[load]\nstress_ng = true\n", isolated,
			LoadTable{StressNG: true, CPUs: []int{0, 1, 3}, CPUsAuto: true, Phases: []string{"load"}}},
		{"stress_ng off, hackbench on", okTask + "[load]\nstress_ng = false\nhackbench = true\n", twoCPUs,
			LoadTable{Hackbench: true, CPUs: []int{0}, CPUsAuto: true, Phases: []string{"load"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("load.toml", []byte(tc.src), tc.sys)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Load == nil || !reflect.DeepEqual(*cfg.Load, tc.want) {
				t.Fatalf("load = %+v, want %+v", cfg.Load, tc.want)
			}
			spec := cfg.Load.Spec()
			if _, err := spec.Commands(); err != nil {
				t.Errorf("spec %+v: %v", spec, err)
			}
		})
	}
	cfg, err := Parse("none.toml", []byte(okTask), twoCPUs)
	if err != nil || cfg.Load != nil {
		t.Errorf("no [load]: load %+v, err %v; want nil", cfg.Load, err)
	}
}

func TestLoadRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want string // "line: key" as in "bad.toml:line: key: "
		msg  string
	}{
		{"not a table", "load = true\n" + okTask, "1: load", "want a table [load]"},
		{"unknown key", okTask + "[load]\nstress_ng = true\nstressng = 1\n", "6: load.stressng", "did you mean stress_ng?"},
		{"nothing runs", okTask + "[load]\ncpus = \"0\"\n", "4: load", "runs no load"},
		{"empty arguments", okTask + "[load]\nstress_ng = \"  \"\n", "5: load.stress_ng", "gives no arguments"},
		{"arguments of the wrong type", okTask + "[load]\nhackbench = 3\n", "5: load.hackbench", "3 is an integer"},
		{"bad CPU list", okTask + "cpu = 1\n[load]\nstress_ng = true\ncpus = \"0-\"\n", "7: load.cpus", `"0-" is not a CPU list`},
		{"CPU list of the wrong type", okTask + "cpu = 1\n[load]\nstress_ng = true\ncpus = 0\n", "7: load.cpus", "want a string"},
		{"CPU not online", okTask + "cpu = 1\n[load]\nstress_ng = true\ncpus = \"0,7\"\n", "7: load.cpus", "CPU 7 is not online"},
		{"CPU of a task", okTask + "cpu = 1\n[load]\nstress_ng = true\ncpus = \"0-1\"\n", "7: load.cpus", `CPU 1 runs task "a"`},
		{"CPU of an auto task", okTask + "[load]\nstress_ng = true\ncpus = \"1\"\n", "6: load.cpus", `CPU 1 runs task "a"`},
		{"no CPU left", okTask + "cpu = 0\n[[task]]\nname = \"b\"\nperiod = \"1ms\"\ncpu = 1\n[load]\nstress_ng = true\n", "9: load", "no CPU is left for the load"},
		{"unknown phase", okTask + "[load]\nstress_ng = true\nphases = [\"idle\", \"busy\"]\n", "6: load.phases", `unknown phase "busy"`},
		{"phase twice", okTask + "[load]\nstress_ng = true\nphases = [\"load\", \"load\"]\n", "6: load.phases", "listed twice"},
		{"no phases", okTask + "[load]\nstress_ng = true\nphases = []\n", "6: load.phases", "is empty"},
		{"phases not a list", okTask + "[load]\nstress_ng = true\nphases = \"idle\"\n", "6: load.phases", "want an array of phase names"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("bad.toml", []byte(tc.src), twoCPUs)
			if err == nil {
				t.Fatalf("accepted:\n%s\ngot %+v", tc.src, cfg.Load)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) is false for %v", err)
			}
			if want := "bad.toml:" + tc.want + ": "; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error does not contain %q and %q:\n%v", want, tc.msg, err)
			}
		})
	}
}

func TestLoadNotInstalled(t *testing.T) {
	saved := lookPath
	defer func() { lookPath = saved }()
	lookPath = func(name string) (string, error) { return "", exec.ErrNotFound }
	_, err := Parse("bad.toml", []byte(okTask+"[load]\nstress_ng = true\nhackbench = true\n"), twoCPUs)
	for _, want := range []string{
		"bad.toml:5: load.stress_ng: stress-ng is not installed (install stress-ng",
		"bad.toml:6: load.hackbench: hackbench is not installed (install rt-tests",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
	if load.Packages[load.Hackbench] != "rt-tests" {
		t.Errorf("hackbench's package is %q", load.Packages[load.Hackbench])
	}
}
