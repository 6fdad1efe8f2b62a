package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/rttest"
	"github.com/rtcell/rtcell/runner/report"
	"github.com/rtcell/rtcell/sysprep"
)

// browserPackages are Debian's packages for the browser test: Chromium
// renders and prints the report, poppler-utils reads the PDF back.
const browserPackages = "chromium poppler-utils"

// a4WidthPt is the width of an A4 page in PostScript points (210 mm),
// with pdfinfo's rounding (594.96).
const a4WidthPt = 595.5

type browserTools struct{ chromium, pdftotext, pdfinfo string }

var (
	browserOnce sync.Once
	browserVal  browserTools
	browserErr  error
)

// needBrowser finds chromium, pdftotext and pdfinfo, installing the
// missing ones with apt-get when running as root (side effect: packages
// are installed on the host). Not root or no apt-get: the test skips
// with the reason, or fails when CI=true, where it must run.
func needBrowser(t *testing.T) browserTools {
	t.Helper()
	browserOnce.Do(func() { browserVal, browserErr = ensureBrowser(t) })
	if browserErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser test cannot run in CI: %v", browserErr)
		}
		t.Skipf("BROWSER TEST SKIPPED: %v", browserErr)
	}
	return browserVal
}

func findBrowser() (browserTools, []string) {
	var b browserTools
	var missing []string
	look := func(name string) string {
		p, err := exec.LookPath(name)
		if err != nil {
			missing = append(missing, name)
		}
		return p
	}
	b.chromium, b.pdftotext, b.pdfinfo = look("chromium"), look("pdftotext"), look("pdfinfo")
	return b, missing
}

func ensureBrowser(t *testing.T) (browserTools, error) {
	b, missing := findBrowser()
	if len(missing) == 0 {
		return b, nil
	}
	how := "apt-get install -y --no-install-recommends " + browserPackages
	if os.Geteuid() != 0 {
		return b, fmt.Errorf("%s missing and not root, so cannot install them: run `sudo %s`", strings.Join(missing, ", "), how)
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return b, fmt.Errorf("%s missing and no apt-get to install them: install Chromium and poppler-utils", strings.Join(missing, ", "))
	}
	t.Logf("%s missing; running %s", strings.Join(missing, ", "), how)
	install := func() ([]byte, error) {
		cmd := exec.Command("apt-get", append([]string{"install", "-y", "--no-install-recommends"}, strings.Fields(browserPackages)...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	if out, err := install(); err != nil {
		t.Logf("apt-get install failed (%v: %s); running apt-get update and retrying", err, lastLines(out))
		if out, err := exec.Command("apt-get", "update").CombinedOutput(); err != nil {
			return b, fmt.Errorf("apt-get update: %w: %s", err, lastLines(out))
		}
		if out, err := install(); err != nil {
			return b, fmt.Errorf("%s: %w: %s", how, err, lastLines(out))
		}
	}
	if b, missing = findBrowser(); len(missing) > 0 {
		return b, fmt.Errorf("%s still missing after `%s`", strings.Join(missing, ", "), how)
	}
	return b, nil
}

func lastLines(b []byte) string {
	l := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(l[max(0, len(l)-5):], " | ")
}

// chromium runs headless Chromium on file with args, in a profile of
// its own (other runs of the test may use the browser at the same time).
func chromium(t *testing.T, bin, file string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir()}, args...)
	cmd := exec.CommandContext(ctx, bin, append(args, "file://"+file)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, lastLines(out))
	}
}

// TestReportInBrowser makes a real 2-second run, renders its report
// with the box's own sysprep checklist, has Chromium draw it to PNG and
// print it to PDF, and reads the PDF back: the verdict, the hostname,
// every check ID and every task name must be there, on A4 pages that
// nothing sticks out of.
func TestReportInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("a real run and a browser: not in -short")
	}
	tools := needBrowser(t)
	dir := t.TempDir()

	// A real run, which writes its own HTML report too, on the last
	// CPU, which the RT tests of other packages take turns on.
	cpu := runtime.NumCPU() - 1
	rttest.LeaseCPU(t, cpu)
	cfg := filepath.Join(dir, "run.toml")
	runJSON, runHTML := filepath.Join(dir, "run.json"), filepath.Join(dir, "run.html")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`[run]
duration = "2s"
preflight = true
allow_non_rt = true

[[task]]
name = "browser-motion"
period = "1ms"
priority = 90
cpu = %d

[report]
json = %q
html = %q
`, cpu, runJSON, runHTML)), 0o644)
	r := runCmd(t, "run", cfg, "--quiet")
	if r.code != 0 && r.code != 1 {
		t.Fatalf("runner run: exit %d, want 0 or 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	if b, err := os.ReadFile(runHTML); err != nil || !strings.Contains(string(b), "Task browser-motion") {
		t.Fatalf("the run's [report] html %s: %v, or it lacks the task", runHTML, err)
	}
	f, err := os.Open(runJSON)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := report.ReadJSON(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}

	// The box's checklist, from the sysprep command.
	spBin := filepath.Join(dir, "sysprep")
	if out, err := exec.Command("go", "build", "-o", spBin, "../../../sysprep/cmd/sysprep").CombinedOutput(); err != nil {
		t.Fatalf("building sysprep: %v\n%s", err, out)
	}
	spJSON := filepath.Join(dir, "sysprep.json")
	sp := runSysprep(t, spBin, spJSON)
	checks := sp.Checks
	if rep.Sysprep != nil {
		checks = rep.Sysprep.Checks // the run's own checklist is shown
	}

	html := filepath.Join(dir, "report.html")
	if r := runCmd(t, "report", runJSON, "--sysprep", spJSON, "-o", html); r.code != 0 {
		t.Fatalf("runner report: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	png := filepath.Join(dir, "report.png")
	chromium(t, tools.chromium, html, "--window-size=1000,3000", "--screenshot="+png)
	if b, err := os.ReadFile(png); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || len(b) < 20<<10 {
		t.Errorf("screenshot %s: %v, or not a PNG of a drawn page (%d bytes)", png, err, len(b))
	}
	// A phone's width: the page must still render.
	chromium(t, tools.chromium, html, "--window-size=390,2000", "--screenshot="+filepath.Join(dir, "phone.png"))

	pdf := filepath.Join(dir, "report.pdf")
	chromium(t, tools.chromium, html, "--no-pdf-header-footer", "--print-to-pdf="+pdf)
	text := pdfText(t, tools.pdftotext, pdf)
	want := verdictWord(rep)
	wants := []string{want, rep.Host.Hostname, "Sign-off"}
	for _, t := range rep.Tasks {
		wants = append(wants, t.Name)
	}
	for _, c := range checks {
		wants = append(wants, c.ID)
	}
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("the printed report lacks %q", w)
		}
	}
	if len(checks) < 10 {
		t.Errorf("only %d checks in the checklist: sysprep did not run in full", len(checks))
	}

	pages := pdfPageWidths(t, tools.pdfinfo, pdf)
	for i, w := range pages {
		if w > a4WidthPt {
			t.Errorf("page %d is %.2f pt wide, wider than A4 (%.2f pt)", i+1, w, a4WidthPt)
		}
	}
	// Nothing drawn beyond the page's right edge (or clipped there).
	bbox := pdfText(t, tools.pdftotext, pdf, "-bbox")
	words := regexp.MustCompile(`xMax="([0-9.]+)"[^>]*>([^<]*)<`).FindAllStringSubmatch(bbox, -1)
	if len(words) < 100 {
		t.Errorf("pdftotext -bbox found %d words: cannot check the right edge", len(words))
	}
	for _, m := range words {
		if x, _ := strconv.ParseFloat(m[1], 64); x > a4WidthPt {
			t.Errorf("word %q ends at x = %s pt, beyond the A4 page", m[2], m[1])
		}
	}
	t.Logf("%d A4 pages; verdict %s; %d checks and %d tasks found in the PDF", len(pages), want, len(checks), len(rep.Tasks))
}

// verdictWord is the banner the report must carry for rep.
func verdictWord(rep *report.Report) string {
	notRT := !rep.Host.Realtime || rep.NotRealtime
	for _, t := range rep.Tasks {
		if t.Error != "" {
			return "FAILED"
		}
		p := strings.TrimPrefix(strings.ToUpper(t.Policy), "SCHED_")
		notRT = notRT || p != "FIFO" && p != "RR"
	}
	switch {
	case rep.Verdict == report.VerdictFailed:
		return "FAILED"
	case notRT || rep.Verdict == report.VerdictNotRealtime:
		return "NOT REAL-TIME"
	case rep.Verdict == report.VerdictViolations:
		return "VIOLATIONS"
	}
	return "PASS"
}

func runSysprep(t *testing.T, bin, out string) *sysprep.Report {
	t.Helper()
	cmd := exec.Command(bin, "--format", "json")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() <= 2 {
		err = nil // 1 warnings, 2 failures: a checklist all the same
	}
	if err != nil {
		t.Fatalf("sysprep --format json: %v", err)
	}
	if err := os.WriteFile(out, stdout.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sp, err := readSysprep(out)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func pdfText(t *testing.T, bin, pdf string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, append(args, pdf, "-")...).Output()
	if err != nil {
		t.Fatalf("pdftotext %s: %v", pdf, err)
	}
	return string(out)
}

// pdfPageWidths returns every page's width in pt, from pdfinfo.
func pdfPageWidths(t *testing.T, bin, pdf string) []float64 {
	t.Helper()
	out, err := exec.Command(bin, "-f", "1", "-l", "10000", pdf).Output()
	if err != nil {
		t.Fatalf("pdfinfo %s: %v", pdf, err)
	}
	var ws []float64
	for _, m := range regexp.MustCompile(`(?m)^Page +\d+ size: +([0-9.]+) x ([0-9.]+) pts`).FindAllStringSubmatch(string(out), -1) {
		w, _ := strconv.ParseFloat(m[1], 64)
		ws = append(ws, w)
	}
	if len(ws) == 0 {
		t.Fatalf("pdfinfo found no pages in %s:\n%s", pdf, out)
	}
	return ws
}
