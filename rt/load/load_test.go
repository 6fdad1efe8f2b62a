package load

import (
	"errors"
	"slices"
	"testing"
)

func TestCommands(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
		want [][]string
		err  error
	}{
		{"defaults one CPU", Spec{StressNG: true, Hackbench: true, CPUs: []int{0}}, [][]string{
			{"stress-ng", "--cpu", "1", "--vm", "1", "--vm-bytes", "64M", "--switch", "1", "--timer", "1"},
			{"hackbench", "-P", "-g", "2", "-l", "200", "-s", "512"},
		}, nil},
		{"defaults scale with CPUs", Spec{StressNG: true, CPUs: []int{0, 1, 2, 3, 4}}, [][]string{
			{"stress-ng", "--cpu", "5", "--vm", "2", "--vm-bytes", "64M", "--switch", "2", "--timer", "1"},
		}, nil},
		{"given arguments", Spec{StressNG: true, StressNGArgs: []string{"--cpu", "3"}, Hackbench: true, HackbenchArgs: []string{"-l", "10"}, CPUs: []int{2}}, [][]string{
			{"stress-ng", "--cpu", "3"},
			{"hackbench", "-l", "10"},
		}, nil},
		{"empty arguments are kept empty", Spec{StressNG: true, StressNGArgs: []string{}, CPUs: []int{0}}, [][]string{{"stress-ng"}}, nil},
		{"nothing to run", Spec{CPUs: []int{0}}, nil, ErrInvalid},
		{"no CPUs", Spec{StressNG: true}, nil, ErrNoCPUs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmds, err := tc.spec.Commands()
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			var got [][]string
			for _, c := range cmds {
				got = append(got, c.Argv)
				if c.Loop != (c.Name == Hackbench) {
					t.Errorf("%s: Loop = %v", c.Name, c.Loop)
				}
				if c.Argv[0] != c.Name {
					t.Errorf("argv[0] %q != name %q", c.Argv[0], c.Name)
				}
			}
			if !slices.EqualFunc(got, tc.want, slices.Equal) {
				t.Errorf("argv = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHousekeeping(t *testing.T) {
	for _, tc := range []struct {
		name          string
		online, tasks []int
		want          []int
		err           error
	}{
		{"two CPUs, task on 1", []int{0, 1}, []int{1}, []int{0}, nil},
		{"tasks on 1 and 3", []int{0, 1, 2, 3}, []int{3, 1}, []int{0, 2}, nil},
		{"task CPU not online", []int{0, 1}, []int{5}, []int{0, 1}, nil},
		{"every CPU taken", []int{0, 1}, []int{0, 1}, nil, ErrNoCPUs},
		{"no CPUs online", nil, nil, nil, ErrNoCPUs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Housekeeping(tc.online, tc.tasks)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTailBuffer(t *testing.T) {
	var tb tailBuffer
	if s := tb.suffix(); s != "" {
		t.Errorf("empty suffix = %q", s)
	}
	for i := 0; i < 100; i++ {
		tb.Write([]byte("line of noise\n"))
	}
	tb.Write([]byte("stress-ng: error: unknown option\n"))
	s := tb.suffix()
	if len(tb.buf) > tailBytes {
		t.Errorf("kept %d bytes, want ≤ %d", len(tb.buf), tailBytes)
	}
	if want := "line of noise | line of noise | stress-ng: error: unknown option"; s != ": "+want {
		t.Errorf("suffix = %q, want the last three lines", s)
	}
}
