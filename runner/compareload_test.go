package runner

import (
	"slices"
	"strings"
	"testing"
)

func TestCompareLoadSpec(t *testing.T) {
	for _, tc := range []struct {
		kind        string
		cpu         int
		online      []int
		stress, hb  bool
		cpus        []int
		err, noSpec bool
	}{
		{kind: "", cpu: 1, online: []int{0, 1}, noSpec: true},
		{kind: "stress-ng", cpu: 1, online: []int{0, 1}, stress: true, cpus: []int{0}},
		{kind: "hackbench", cpu: 0, online: []int{0, 1, 2}, hb: true, cpus: []int{1, 2}},
		{kind: "both", cpu: 3, online: []int{0, 1, 2, 3}, stress: true, hb: true, cpus: []int{0, 1, 2}},
		{kind: "kcompile", cpu: 1, online: []int{0, 1}, err: true},
		{kind: "both", cpu: 0, online: []int{0}, err: true},
	} {
		s, err := compareLoadSpec(tc.kind, tc.cpu, tc.online)
		switch {
		case tc.err:
			if err == nil || !strings.Contains(err.Error(), "--load") {
				t.Errorf("%q on %v: err %v, want an error naming --load", tc.kind, tc.online, err)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.kind, err)
		case tc.noSpec:
			if s != nil {
				t.Errorf("%q: spec %+v, want none", tc.kind, s)
			}
		case s == nil || s.StressNG != tc.stress || s.Hackbench != tc.hb || !slices.Equal(s.CPUs, tc.cpus):
			t.Errorf("%q with --cpu %d of %v: spec %+v, want stress-ng %v hackbench %v on %v", tc.kind, tc.cpu, tc.online, s, tc.stress, tc.hb, tc.cpus)
		}
	}
}
