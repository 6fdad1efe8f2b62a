package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func Test_parseCPUList(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []int
		wantErr bool
	}{
		{"empty", "", nil, false},
		{"newline only (isolated with no isolcpus)", "\n", nil, false},
		{"single", "0\n", []int{0}, false},
		{"range", "0-3\n", []int{0, 1, 2, 3}, false},
		{"mixed", "0-1,4,6-7\n", []int{0, 1, 4, 6, 7}, false},
		{"unsorted and overlapping", "6-7,0,1-2,2", []int{0, 1, 2, 6, 7}, false},
		{"stride", "0-7:2/4", []int{0, 1, 4, 5}, false},
		{"stride 1/1", "2-4:1/1", []int{2, 3, 4}, false},
		{"spaces", " 1 , 3 ", []int{1, 3}, false},
		{"backwards range", "3-1", nil, true},
		{"negative", "-1", nil, true},
		{"plus sign", "+1", nil, true},
		{"letters", "cpu1", nil, true},
		{"empty element", "1,,2", nil, true},
		{"trailing comma", "1,", nil, true},
		{"open range", "1-", nil, true},
		{"huge", "0-4000000000", nil, true},
		{"stride without range", "3:1/2", nil, true},
		{"stride used above group", "0-7:3/2", nil, true},
		{"stride zero group", "0-7:0/0", nil, true},
		{"stride malformed", "0-7:2", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCPUList(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseCPUList(%q) error %v, wantErr %t", tc.in, err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseCPUList(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func Test_formatCPUList(t *testing.T) {
	tests := []struct {
		in   []int
		want string
	}{
		{nil, "none"},
		{[]int{1}, "1"},
		{[]int{0, 1, 2, 3}, "0-3"},
		{[]int{0, 1, 4, 6, 7}, "0-1,4,6-7"},
	}
	for _, tc := range tests {
		if got := formatCPUList(tc.in); got != tc.want {
			t.Errorf("formatCPUList(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// writeSys builds a fake sysfs tree under root/sys and procfs tree
// under root/proc; a nil value leaves the file out.
func writeSys(t *testing.T, online, isolated, meminfo *string) (procRoot, sysRoot string) {
	t.Helper()
	root := t.TempDir()
	procRoot, sysRoot = filepath.Join(root, "proc"), filepath.Join(root, "sys")
	dir := filepath.Join(sysRoot, "devices", "system", "cpu")
	for _, d := range []string{dir, procRoot} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for path, v := range map[string]*string{
		filepath.Join(dir, "online"):       online,
		filepath.Join(dir, "isolated"):     isolated,
		filepath.Join(procRoot, "meminfo"): meminfo,
	} {
		if v != nil {
			if err := os.WriteFile(path, []byte(*v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return procRoot, sysRoot
}

func ptr(s string) *string { return &s }

// meminfo is the head of this machine's /proc/meminfo.
const meminfo = "MemTotal:       32858376 kB\nMemFree:        22180420 kB\nMemAvailable:   24248788 kB\nBuffers:          418152 kB\n"

func TestReadSysInfo(t *testing.T) {
	const avail = 24248788 << 10
	tests := []struct {
		name     string
		online   *string
		isolated *string
		meminfo  *string
		want     SysInfo
		wantErr  error
	}{
		{"isolated CPUs", ptr("0-3\n"), ptr("2-3\n"), ptr(meminfo), SysInfo{Online: []int{0, 1, 2, 3}, Isolated: []int{2, 3}, MemAvailableBytes: avail}, nil},
		{"no isolation", ptr("0-1\n"), ptr("\n"), ptr(meminfo), SysInfo{Online: []int{0, 1}, MemAvailableBytes: avail}, nil},
		{"no isolated file (old kernel)", ptr("0-1\n"), nil, ptr(meminfo), SysInfo{Online: []int{0, 1}, MemAvailableBytes: avail}, nil},
		{"no MemAvailable (old kernel)", ptr("0-1\n"), ptr("\n"), ptr("MemTotal:       32858376 kB\nMemFree:        22180420 kB\n"), SysInfo{Online: []int{0, 1}}, nil},
		{"no meminfo", ptr("0-1\n"), ptr("\n"), nil, SysInfo{}, os.ErrNotExist},
		{"no online file", nil, ptr("\n"), ptr(meminfo), SysInfo{}, os.ErrNotExist},
		{"online empty", ptr("\n"), ptr("\n"), ptr(meminfo), SysInfo{}, ErrNoCPUs},
		{"online garbage", ptr("zero\n"), ptr("\n"), ptr(meminfo), SysInfo{}, ErrInvalid},
		{"isolated garbage", ptr("0-1\n"), ptr("1-\n"), ptr(meminfo), SysInfo{}, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadSysInfo(writeSys(t, tc.online, tc.isolated, tc.meminfo))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestReadSysInfoThisMachine reads the real /proc and /sys and checks
// them against the files read directly.
func TestReadSysInfoThisMachine(t *testing.T) {
	if _, err := os.Stat("/sys/devices/system/cpu/online"); err != nil {
		t.Skipf("no sysfs: %v", err)
	}
	if _, err := os.Stat("/proc/meminfo"); err != nil {
		t.Skipf("no procfs: %v", err)
	}
	sys, err := ReadSysInfo("/proc", "/sys")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		t.Fatal(err)
	}
	want, err := parseCPUList(string(b))
	if err != nil || !reflect.DeepEqual(sys.Online, want) || len(want) == 0 {
		t.Errorf("online %v, file says %q", sys.Online, b)
	}
	// MemAvailable moves between reads; it must be there and below MemTotal.
	b, err = os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	var total uint64
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "MemTotal:" {
			total, _ = strconv.ParseUint(f[1], 10, 64)
			total <<= 10
		}
	}
	if sys.MemAvailableBytes == 0 || sys.MemAvailableBytes > total {
		t.Errorf("MemAvailable %d bytes, MemTotal %d bytes", sys.MemAvailableBytes, total)
	}
}
