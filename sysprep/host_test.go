package sysprep

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rtcell/rtcell/sysprep/internal/synth"
)

func Test_parseCPUModel(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"x86", "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t\t: fpu\n\nprocessor\t: 1\nmodel name\t: other\n", "AMD EPYC"},
		{"first of two", "model name : A\nmodel name : B\n", "A"},
		{"colon in value", "model name\t: Intel(R) Core(TM) i7: rev 2\n", "Intel(R) Core(TM) i7: rev 2"},
		{"arm64 has none", "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\n", ""},
		{"empty", "", ""},
		{"no colon", "model name AMD\n", ""},
		{"empty value", "model name\t:\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseCPUModel(tt.in); got != tt.want {
				t.Errorf("parseCPUModel = %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzParseCPUModel(f *testing.F) {
	f.Add("model name\t: AMD EPYC\n")
	f.Add("model name:\n:")
	f.Fuzz(func(t *testing.T, s string) {
		m := parseCPUModel(s)
		if strings.Contains(m, "\n") || (m != "" && !strings.Contains(s, m)) {
			t.Errorf("parseCPUModel(%q) = %q", s, m)
		}
	})
}

// TestHost reads the box identity from fixture trees: a board with DMI,
// this VM (no /sys/class/dmi), and a board whose DMI strings carry
// control characters.
func TestHost(t *testing.T) {
	t.Run("synth-good", func(t *testing.T) {
		env, err := NewEnv("testdata/synth-good/proc", "testdata/synth-good/sys")
		if err != nil {
			t.Fatal(err)
		}
		h := env.Host()
		want := Host{Hostname: h.Hostname, KernelRelease: h.KernelRelease, KernelVersion: h.KernelVersion, Machine: h.Machine, CPUs: "0-3",
			CPUModel: "Intel(R) Atom(TM) x6425E @ 2.00GHz",
			Cmdline:  "BOOT_IMAGE=/boot/vmlinuz-6.12.43+deb13-rt-amd64 root=/dev/sda1 ro quiet isolcpus=managed_irq,domain,2-3 nohz_full=2-3 rcu_nocbs=2-3 irqaffinity=0-1 skew_tick=1 tsc=reliable nosoftlockup nmi_watchdog=0",
			Vendor:   "Siemens AG", Product: "SIMATIC IPC227G", BIOSVersion: "V26.01.07", BIOSDate: "03/14/2025"}
		if h != want {
			t.Errorf("host\n got %+v\nwant %+v", h, want)
		}
		if h.Hostname == "" || h.KernelRelease == "" {
			t.Errorf("no hostname or release: %+v", h)
		}
	})
	t.Run("host-vm without DMI", func(t *testing.T) {
		env, err := NewEnv("testdata/host-vm/proc", "testdata/host-vm/sys")
		if err != nil {
			t.Fatal(err)
		}
		h := env.Host()
		if h.CPUModel != "AMD EPYC" || !strings.HasPrefix(h.Cmdline, "mitigations=auto") || strings.HasSuffix(h.Cmdline, "\n") {
			t.Errorf("cpu model %q, cmdline %q", h.CPUModel, h.Cmdline)
		}
		if h.Vendor+h.Product+h.BIOSVersion+h.BIOSDate != "" {
			t.Errorf("DMI fields from a tree without /sys/class/dmi: %+v", h)
		}
	})
	t.Run("hostile", func(t *testing.T) {
		env, dir := writeTree(t, synth.Good())
		evil := "\x1b[2JEVIL\a\n"
		for _, f := range []string{"sys/class/dmi/id/product_name", "sys/class/dmi/id/bios_version"} {
			if err := os.WriteFile(filepath.Join(dir, f), []byte(evil+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "proc/cmdline"), []byte("quiet \x1b]0;x\a "+strings.Repeat("a", 10000)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dir, "sys/class/dmi/id/bios_date")); err != nil {
			t.Fatal(err)
		}
		h := env.Host()
		if h.Product != `\x1b[2JEVIL\a` || h.BIOSVersion != h.Product || h.BIOSDate != "" {
			t.Errorf("product %q, bios %q %q", h.Product, h.BIOSVersion, h.BIOSDate)
		}
		if !strings.HasPrefix(h.Cmdline, `quiet \x1b]0;x\a a`) || len(h.Cmdline) > maxCmdlineBytes+40 {
			t.Errorf("cmdline not escaped or not capped: %d bytes, %.40q", len(h.Cmdline), h.Cmdline)
		}
		rep, err := Run(env, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		rep.WriteMarkdown(&b)
		rep.WriteJSON(&b)
		if bytes.ContainsAny(b.Bytes(), "\x1b\a") {
			t.Error("a control byte from DMI or the cmdline reached the output")
		}
	})
}

func TestEscapeExported(t *testing.T) {
	if got := Escape("a\x1b\nb"); got != `a\x1b\nb` {
		t.Errorf("Escape = %q", got)
	}
}
