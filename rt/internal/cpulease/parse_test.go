package cpulease

import (
	"errors"
	"slices"
	"testing"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []int
		want []int
		err  error
	}{
		{"empty", nil, nil, nil},
		{"one", []int{1}, []int{1}, nil},
		{"sorted", []int{2, 1, 3}, []int{1, 2, 3}, nil},
		{"duplicates", []int{1, 1, 0, 1}, []int{0, 1}, nil},
		{"negative", []int{1, -1}, nil, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.in)
			got, err := normalize(tc.in)
			if !errors.Is(err, tc.err) {
				t.Fatalf("normalize(%v) error %v, want %v", tc.in, err, tc.err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("normalize(%v) = %v, want %v", tc.in, got, tc.want)
			}
			if !slices.Equal(in, tc.in) {
				t.Errorf("normalize changed its argument to %v", tc.in)
			}
		})
	}
}

func TestParsePPid(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     int
		ok       bool
	}{
		{"real", "Name:\tbash\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4711\nNgid:\t0\nPid:\t4711\nPPid:\t4700\nTracerPid:\t0\n", 4700, true},
		{"init", "Name:\tinit\nPid:\t1\nPPid:\t0\n", 0, true},
		{"spaces", "PPid:   12  \n", 12, true},
		{"missing", "Name:\tx\nPid:\t3\n", 0, false},
		{"garbage", "PPid:\tabc\n", 0, false},
		{"negative", "PPid:\t-4\n", 0, false},
		{"empty", "", 0, false},
		{"TracerPid is not PPid", "TracerPid:\t9\n", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePPid(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("parsePPid = %d, %v; want %d, ok %t", got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestParseLockHolder(t *testing.T) {
	id := fileID{0, 0x1a, 1234}
	for _, tc := range []struct {
		name, locks string
		want        int
	}{
		{"flock", "1: FLOCK  ADVISORY  WRITE 4711 00:1a:1234 0 EOF\n", 4711},
		{"among others", "1: POSIX  ADVISORY  WRITE 10 00:1a:1234 0 EOF\n2: FLOCK  ADVISORY  WRITE 11 00:1a:999 0 EOF\n3: FLOCK  ADVISORY  WRITE 12 00:1a:1234 0 EOF\n", 12},
		{"waiter skipped", "1: FLOCK  ADVISORY  WRITE 20 00:1a:1234 0 EOF\n1: -> FLOCK  ADVISORY  WRITE 21 00:1a:1234 0 EOF\n", 20},
		{"only a waiter", "1: -> FLOCK  ADVISORY  WRITE 21 00:1a:1234 0 EOF\n", 0},
		{"shared lock", "1: FLOCK  ADVISORY  READ 30 00:1a:1234 0 EOF\n", 0},
		{"other device", "1: FLOCK  ADVISORY  WRITE 40 00:1b:1234 0 EOF\n", 0},
		{"hex major", "1: FLOCK  ADVISORY  WRITE 41 fd:01:1234 0 EOF\n", 0},
		{"unknown pid", "1: FLOCK  ADVISORY  WRITE -1 00:1a:1234 0 EOF\n", 0},
		{"ofd lock", "1: OFDLCK ADVISORY  WRITE -1 00:1a:1234 0 EOF\n", 0},
		{"truncated", "1: FLOCK  ADVISORY  WRITE 50\n", 0},
		{"bad device", "1: FLOCK  ADVISORY  WRITE 51 001a1234 0 EOF\n", 0},
		{"empty", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseLockHolder(tc.locks, id); got != tc.want {
				t.Errorf("parseLockHolder = %d, want %d", got, tc.want)
			}
		})
	}
	if got := parseLockHolder("1: FLOCK  ADVISORY  WRITE 41 fd:01:1234 0 EOF\n", fileID{0xfd, 1, 1234}); got != 41 {
		t.Errorf("hex device numbers: got %d, want 41", got)
	}
}

func TestParsePIDFile(t *testing.T) {
	for in, want := range map[string]int{"4711\n": 4711, "4711": 4711, "": 0, "\n": 0, "0\n": 0, "-3\n": 0, "12ab\n": 0} {
		if got := parsePIDFile([]byte(in)); got != want {
			t.Errorf("parsePIDFile(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestBusyError(t *testing.T) {
	e := &BusyError{CPU: 1, PID: 4711, Path: "/run/lock/rtcell-cpu1.lock"}
	if got, want := e.Error(), "CPU 1 is leased by pid 4711 (lock /run/lock/rtcell-cpu1.lock)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := (&BusyError{CPU: 0, Path: "/tmp/rtcell-cpu0.lock"}).Error(), "CPU 0 is leased by another process (lock /tmp/rtcell-cpu0.lock)"; got != want {
		t.Errorf("Error() without a PID = %q, want %q", got, want)
	}
	var err error = e
	if !errors.Is(err, ErrBusy) || errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is: ErrBusy %t, ErrInvalid %t; want true, false", errors.Is(err, ErrBusy), errors.Is(err, ErrInvalid))
	}
}

func FuzzParse(f *testing.F) {
	f.Add("1: FLOCK  ADVISORY  WRITE 4711 00:1a:1234 0 EOF\nPPid:\t3\n")
	f.Add("1: -> FLOCK ADVISORY WRITE 1 ::\n")
	f.Fuzz(func(t *testing.T, s string) {
		if pid := parseLockHolder(s, fileID{0, 0x1a, 1234}); pid < 0 {
			t.Fatalf("negative holder %d", pid)
		}
		if pid, err := parsePPid(s); err == nil && pid < 0 {
			t.Fatalf("negative PPid %d", pid)
		}
		if pid := parsePIDFile([]byte(s)); pid < 0 {
			t.Fatalf("negative PID %d", pid)
		}
	})
}
