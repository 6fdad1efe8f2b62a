package cpulist

import (
	"errors"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []int
		bad      bool
	}{
		{"empty", "", nil, false},
		{"blank", " \n", nil, false},
		{"one", "3", []int{3}, false},
		{"range", "0-3", []int{0, 1, 2, 3}, false},
		{"mixed", "1-3,6", []int{1, 2, 3, 6}, false},
		{"unsorted and repeated", "6,1-3,2", []int{1, 2, 3, 6}, false},
		{"spaces and newline", " 0 , 2-3\n", []int{0, 2, 3}, false},
		{"stride", "0-7:2/4", []int{0, 1, 4, 5}, false},
		{"stride all used", "0-3:4/4", []int{0, 1, 2, 3}, false},
		{"last cpu", "8191", []int{8191}, false},
		{"beyond NR_CPUS", "8192", nil, true},
		{"backwards", "3-1", nil, true},
		{"negative", "-1", nil, true},
		{"plus sign", "+1", nil, true},
		{"letters", "a", nil, true},
		{"empty entry", "1,,2", nil, true},
		{"trailing comma", "1,", nil, true},
		{"open range", "1-", nil, true},
		{"stride without range", "1:1/2", nil, true},
		{"stride not used/group", "0-7:2", nil, true},
		{"stride used > group", "0-7:3/2", nil, true},
		{"stride zero group", "0-7:0/0", nil, true},
		{"huge number", "123456789", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.bad {
				if err == nil || !errors.Is(err, ErrMalformed) {
					t.Fatalf("Parse(%q) = %v, %v; want an ErrMalformed error", tc.in, got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want string
	}{
		{nil, ""},
		{[]int{1}, "1"},
		{[]int{0, 1, 2, 3, 8}, "0-3,8"},
		{[]int{8, 3, 2, 1, 0, 3}, "0-3,8"},
		{[]int{1, 3, 5}, "1,3,5"},
		{[]int{-1, 2, 3}, "2-3"},
	} {
		if got := Format(tc.in); got != tc.want {
			t.Errorf("Format(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzParse: Parse never panics, and what it accepts formats into a list
// that parses back to the same CPUs.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "0-3,8", "0-7:2/4", "8191", "3-1", "1,,2", " 1 , 2 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cpus, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(Format(cpus))
		if err != nil || !slices.Equal(again, cpus) {
			t.Fatalf("Parse(Format(Parse(%q))) = %v, %v; want %v", s, again, err, cpus)
		}
	})
}
