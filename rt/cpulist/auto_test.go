package cpulist

import "testing"

func TestAuto(t *testing.T) {
	takenSet := func(cpus ...int) func(int) bool {
		return func(c int) bool {
			for _, x := range cpus {
				if x == c {
					return true
				}
			}
			return false
		}
	}
	cases := []struct {
		name             string
		online, isolated []int
		taken            func(int) bool
		want             int
		ok               bool
	}{
		{"no isolated: last online", []int{0, 1, 2, 3}, nil, nil, 3, true},
		{"unsorted online", []int{3, 0, 2, 1}, nil, nil, 3, true},
		{"first isolated", []int{0, 1, 2, 3}, []int{3, 2}, nil, 2, true},
		{"isolated taken: next", []int{0, 1, 2, 3}, []int{2, 3}, takenSet(2), 3, true},
		{"all isolated taken: last online", []int{0, 1, 2, 3}, []int{2}, takenSet(2), 3, true},
		{"isolated offline ignored", []int{0, 1}, []int{5}, nil, 1, true},
		{"one CPU", []int{0}, nil, nil, 0, true},
		{"none online", nil, []int{1}, nil, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := Auto(c.online, c.isolated, c.taken)
			if got != c.want || ok != c.ok {
				t.Errorf("Auto = %d, %v; want %d, %v", got, ok, c.want, c.ok)
			}
		})
	}
}
