package capture

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rtcell/rtcell/sysprep/internal/synth"
)

func TestCaptureCopiesWhatIsRead(t *testing.T) {
	src := t.TempDir()
	p := synth.Good()
	p.IRQs = 3
	p.Processes = 1
	if err := synth.Write(src, p); err != nil {
		t.Fatal(err)
	}
	// Secrets in a process environment must not be captured.
	if err := os.WriteFile(filepath.Join(src, "proc", "1", "environ"), []byte("container=podman\x00API_TOKEN=s3cret\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "box")
	if err := Capture(filepath.Join(src, "proc"), filepath.Join(src, "sys"), dst); err != nil {
		t.Fatal(err)
	}
	for rel, want := range synth.Files(p) {
		if rel == "proc/self" || rel[:4] == "boot" {
			continue
		}
		path := filepath.Join(dst, filepath.FromSlash(rel))
		if want == "\x00dir" {
			if st, err := os.Stat(path); err != nil || !st.IsDir() {
				t.Errorf("%s: IRQ action directory not captured", rel)
			}
			continue
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != want {
			t.Errorf("%s: not captured as is: %v", rel, err)
		}
	}
	if l, err := os.Readlink(filepath.Join(dst, "proc", "self")); err != nil || l != "4242" {
		t.Errorf("proc/self = %q, %v; want a relative link to 4242", l, err)
	}
	env, err := os.ReadFile(filepath.Join(dst, "proc", "1", "environ"))
	if err != nil || string(env) != "container=podman\x00" {
		t.Errorf("environ = %q, %v; want only container=", env, err)
	}
}
