package sysprep

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtcell/rtcell/rt/rttest"
)

// TestMakeSetcap runs the Makefile's setcap target on copies of a binary
// (make -o build: the copies stand in for bin/*) and checks with getcap
// that each one carries the capabilities the runner needs.
func TestMakeSetcap(t *testing.T) {
	rttest.RequireRoot(t)
	rttest.RequireCommand(t, "setcap", "apt-get install -y libcap2-bin")
	getcap := rttest.RequireCommand(t, "getcap", "apt-get install -y libcap2-bin")
	mk := rttest.RequireCommand(t, "make", "apt-get install -y make")
	src, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	names := []string{"runner", "minimal", "plc", "sensorgw"}
	for _, n := range names {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bin, n), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(mk, "-C", "..", "-o", "build", "setcap", "BIN="+bin).CombinedOutput()
	if err != nil {
		t.Fatalf("make setcap: %v\n%s", err, out)
	}
	for _, n := range names {
		p := filepath.Join(bin, n)
		got, err := exec.Command(getcap, p).Output()
		if err != nil {
			t.Fatalf("getcap %s: %v", p, err)
		}
		if s := string(got); !strings.Contains(s, "cap_ipc_lock,cap_sys_nice=ep") {
			t.Errorf("getcap %s = %q, want cap_ipc_lock,cap_sys_nice=ep", n, s)
		}
	}
}
