package sysprep

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rtcell/rtcell/sysprep/internal/synth"
)

// runWithin runs the checks on env and fails the test if they take longer
// than limit: a read that blocks (a FIFO) would hang the run.
func runWithin(t *testing.T, env Env, o Options, limit time.Duration, what string) (Report, error) {
	t.Helper()
	type out struct {
		rep Report
		err error
	}
	ch := make(chan out, 1)
	go func() {
		rep, err := Run(env, o)
		ch <- out{rep, err}
	}()
	select {
	case r := <-ch:
		return r.rep, r.err
	case <-time.After(limit):
		t.Fatalf("%s: the run did not end within %v", what, limit)
		return Report{}, nil
	}
}

// TestFIFOInPlaceOfAnyFile replaces each file and a few directories of a
// fixture tree, one at a time, with a FIFO: the run must end, and a check
// that reads the file must name it.
func TestFIFOInPlaceOfAnyFile(t *testing.T) {
	env, dir := writeTree(t, synth.Good())
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && d.Name() != ".gitkeep" {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"proc/irq", "proc/1/task", "sys/devices/system/cpu/cpu2/cpuidle", "proc/irq/30"} {
		paths = append(paths, filepath.Join(dir, d))
	}
	if len(paths) < 100 {
		t.Fatalf("only %d files in the tree", len(paths))
	}
	if testing.Short() {
		// Every 8th file and the directories: the full sweep is one
		// check run per file.
		var some []string
		for i, p := range paths {
			if i%8 == 0 || i >= len(paths)-4 {
				some = append(some, p)
			}
		}
		paths = some
	}
	named := 0
	for _, p := range paths {
		aside := p + ".aside"
		if err := os.Rename(p, aside); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
		rep, err := runWithin(t, env, Options{}, 10*time.Second, p)
		rel, _ := filepath.Rel(dir, p)
		live := "/" + rel
		if err != nil {
			if !strings.Contains(err.Error(), rel) {
				t.Errorf("FIFO at %s: error %v does not name it", rel, err)
			}
			named++
		} else {
			for _, r := range rep.Checks {
				if strings.Contains(r.Observed, live) && strings.Contains(r.Observed, "FIFO") {
					named++
					break
				}
			}
		}
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(aside, p); err != nil {
			t.Fatal(err)
		}
	}
	// Files read only for some CPUs or threads, or optional ones, may be
	// skipped silently; the files every run needs must be named.
	if named < 25 && !testing.Short() {
		t.Errorf("only %d of %d FIFOs were named in a result", named, len(paths))
	}
	for _, f := range []string{"proc/cmdline", "proc/sys/kernel/sched_rt_runtime_us", "proc/irq/default_smp_affinity", "sys/devices/system/cpu/isolated"} {
		p := filepath.Join(dir, f)
		os.Rename(p, p+".aside")
		syscall.Mkfifo(p, 0o644)
		rep, _ := runWithin(t, env, Options{}, 10*time.Second, f)
		found := false
		for _, r := range rep.Checks {
			if strings.Contains(r.Observed, "/"+f+": not a regular file (a FIFO)") {
				found = true
			}
		}
		if !found {
			t.Errorf("FIFO at %s: no result says \"/%s: not a regular file (a FIFO)\"", f, f)
		}
		os.Remove(p)
		os.Rename(p+".aside", p)
	}
}

// TestHugeFiles puts a 20 MB line in files sysprep reads and a
// zero-filled config.gz that inflates to 64 MiB: the run stays bounded
// and no observation quotes more than a few hundred bytes.
func TestHugeFiles(t *testing.T) {
	env, dir := writeTree(t, synth.Good())
	line := strings.Repeat("A", 20<<20)
	for _, f := range []string{"proc/cmdline", "proc/interrupts", "proc/irq/default_smp_affinity", "sys/devices/system/cpu/isolated", "proc/1/stat", "proc/sys/kernel/timer_migration"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zero := make([]byte, 1<<20)
	for range 64 {
		zw.Write(zero)
	}
	zw.Close()
	if err := os.WriteFile(filepath.Join(dir, "proc/config.gz"), gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// Lines just under the 1 MiB read cap, in files whose content an
	// observation or the host line shows.
	big := strings.Repeat("B", 900<<10)
	for _, f := range []string{"sys/devices/system/clocksource/clocksource0/available_clocksource", "proc/sys/kernel/version", "proc/sys/kernel/hostname"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("tsc "+big+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := runWithin(t, env, Options{RTCPUs: []int{2, 3}}, 30*time.Second, "huge files")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Host.Hostname) > 300 || len(rep.Host.KernelVersion) > 300 {
		t.Errorf("host fields of %d and %d bytes", len(rep.Host.Hostname), len(rep.Host.KernelVersion))
	}
	if rep.KernelCmdline != nil {
		t.Errorf("a 20 MB command line got a proposal")
	}
	for _, r := range rep.Checks {
		if len(r.Observed) > maxObservedBytes+32 || len(r.Remedy) > 4096 {
			t.Errorf("%s: observed %d bytes, remedy %d bytes: %.200s", r.ID, len(r.Observed), len(r.Remedy), r.Observed)
		}
	}
	for _, id := range []string{"cpu.rcu_nocbs", "kernel.config", "sched.timer_migration"} {
		if r := result(t, rep, id); r.Status != Skip {
			t.Errorf("%s: %s, want skip on an oversized file: %s", id, r.Status, r.Observed)
		}
	}
}

// TestHostileNames gives a user thread that may run on the RT CPUs a comm
// with an ANSI escape and a bell: no output format passes them through.
func TestHostileNames(t *testing.T) {
	p := synth.Good()
	p.Isolate = false
	env, dir := writeTree(t, p)
	evil := "\x1b[31mEVIL\a<b>*"
	for _, f := range []string{"proc/1000/stat", "proc/1000/task/1000/stat"} {
		path := filepath.Join(dir, f)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.Replace(b, []byte("(plc-hmi-0)"), []byte("("+evil+")"), 1)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := Run(env, Options{})
	if err != nil {
		t.Fatal(err)
	}
	th := result(t, rep, "threads.rt_cpus")
	if !strings.Contains(th.Observed, `\x1b[31mEVIL\a`) {
		t.Errorf("threads.rt_cpus does not show the escaped comm: %s", th.Observed)
	}
	var outs [3]bytes.Buffer
	rep.WriteTable(&outs[0], false)
	rep.WriteMarkdown(&outs[1])
	rep.WriteJSON(&outs[2])
	for i, o := range outs {
		if bytes.ContainsAny(o.Bytes(), "\x1b\a") {
			t.Errorf("format %d passes a control byte through", i)
		}
	}
	if strings.Contains(outs[1].String(), "<b>") {
		t.Errorf("markdown passes an HTML tag from a comm through")
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"\x1b[31mX\a", `\x1b[31mX\a`},
		{"a\nb", `a\nb`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"rtl\u202eevil", `rtl\u202eevil`},
		{"µs ok", "µs ok"},
		{"c1\u009b", `c1\u009b`},
	}
	for _, tt := range tests {
		if got := escape(tt.in, false); got != tt.want {
			t.Errorf("escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := escape("a\nb\x1b", true); got != "a\nb\\x1b" {
		t.Errorf("escape keeping newlines = %q", got)
	}
}

func TestQuoteBounded(t *testing.T) {
	q := quote(strings.Repeat("x", 1<<20))
	if len(q) > maxQuoteBytes+40 || !strings.Contains(q, "1048576 bytes") {
		t.Errorf("quote of 1 MiB = %d bytes: %.80s", len(q), q)
	}
}

// TestConfigFIFO: a FIFO named by --config is an error, not a hang.
func TestConfigFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "runner.toml")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, _, err := LoadRunnerConfig(p); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "FIFO") || !errors.Is(err, ErrBadOption) {
			t.Errorf("LoadRunnerConfig(FIFO) = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("LoadRunnerConfig blocked on a FIFO")
	}
}
