package runner_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rtcell/rtcell/rt/child"
	"github.com/rtcell/rtcell/rt/rttest"
)

// The fleet configs shipped in configs/: Prometheus rules and scrape
// config, the Grafana dashboard, the drift timer. They are data; these
// tests check them with the tools that read them (promtool, Prometheus
// itself, systemd-analyze) against a running runner.

const (
	rulesFile      = "../configs/prometheus/rtcell-rules.yml"
	rulesTestFile  = "../configs/prometheus/rtcell-rules.test.yml"
	promConfigFile = "../configs/prometheus/prometheus.yml"
	dashboardFile  = "../configs/grafana/rtcell-dashboard.json"
	driftService   = "../configs/rtcell-drift.service"
	driftTimer     = "../configs/rtcell-drift.timer"
)

var (
	promOnce sync.Once
	promErr  error
)

// requirePrometheus returns the path of prometheus or promtool. Both come
// with Debian's prometheus package, which it installs when they are
// missing and the test runs as root with apt-get (side effect: a package
// is installed on the host; its service is not started here, PID 1 is no
// systemd). Otherwise the test is skipped with the reason, or fails when
// CI=true, where it must run.
func requirePrometheus(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s cannot run in CI: "+format, append([]any{t.Name()}, args...)...)
		}
		t.Skipf(format, args...)
	}
	if os.Geteuid() != 0 {
		unavailable("needs %s (Debian's prometheus package); not root, so cannot install it: run `sudo apt-get install -y --no-install-recommends prometheus`", name)
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		unavailable("needs %s and no apt-get to install it: install Prometheus 2.x so that prometheus and promtool are on PATH", name)
	}
	promOnce.Do(func() {
		t.Logf("%s missing: apt-get install -y --no-install-recommends prometheus", name)
		install := func() ([]byte, error) {
			cmd := exec.Command("apt-get", "install", "-y", "-qq", "--no-install-recommends", "prometheus")
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			return cmd.CombinedOutput()
		}
		if _, err := install(); err != nil {
			if out, err := exec.Command("apt-get", "update", "-qq").CombinedOutput(); err != nil {
				promErr = fmt.Errorf("apt-get update: %v: %s", err, out)
				return
			}
			if out, err := install(); err != nil {
				promErr = fmt.Errorf("apt-get install prometheus: %v: %s", err, out)
			}
		}
	})
	if promErr != nil {
		unavailable("needs %s: %v", name, promErr)
	}
	p, err := exec.LookPath(name)
	if err != nil {
		unavailable("%s still missing after installing the prometheus package: %v", name, err)
	}
	return p
}

// TestPrometheusRules checks the shipped rules with promtool: the syntax
// and PromQL of every rule, the alerts firing (and staying silent) on
// the series of rtcell-rules.test.yml, and the example scrape config
// with the rules file it names.
func TestPrometheusRules(t *testing.T) {
	promtool := requirePrometheus(t, "promtool")
	out, err := exec.Command(promtool, "check", "rules", rulesFile).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`SUCCESS: (\d+) rules found`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("promtool check rules: no rule count in:\n%s", out)
	}
	if n, _ := strconv.Atoi(string(m[1])); n != len(readRules(t)) {
		t.Errorf("promtool finds %d rules, this test's reader %d: keep every rule's expr on one line", n, len(readRules(t)))
	}
	cmd := exec.Command(promtool, "test", "rules", filepath.Base(rulesTestFile))
	cmd.Dir = filepath.Dir(rulesTestFile)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool test rules: %v\n%s", err, out)
	}
	if out, err := exec.Command(promtool, "check", "config", promConfigFile).CombinedOutput(); err != nil {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
	// Every alert of the rules file has a unit test that fires it.
	tests, err := os.ReadFile(rulesTestFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range readRules(t) {
		if r.alert && !regexp.MustCompile(`alertname: `+r.name+`\n(?:.*\n){0,2}\s+exp_alerts:\n`).Match(tests) {
			t.Errorf("alert %s has no test case that expects it to fire in %s", r.name, rulesTestFile)
		}
	}
}

// rule is one rule of the shipped rules file.
type rule struct {
	name  string
	alert bool // an alerting rule, else a recording rule
	expr  string
}

// readRules reads the rules file. Its rules keep expr on one line after
// their name; TestPrometheusRules checks that this finds all of them.
func readRules(t *testing.T) []rule {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var rules []rule
	for _, m := range regexp.MustCompile(`(?m)^\s+- (record|alert): (\S+)\n\s+expr: (.+)$`).FindAllStringSubmatch(string(b), -1) {
		rules = append(rules, rule{name: m[2], alert: m[1] == "alert", expr: strings.TrimSpace(m[3])})
	}
	if len(rules) == 0 {
		t.Fatalf("no rules in %s", rulesFile)
	}
	return rules
}

// comparisonLHS returns the left side of expr's last comparison outside
// parentheses, brackets, braces and strings (">", "<", "==", "!=", ">=",
// "<="), or "" when it has none.
func comparisonLHS(expr string) string {
	depth, cut := 0, -1
	var quote byte
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case depth == 0 && (c == '>' || c == '<' || (c == '=' || c == '!') && i+1 < len(expr) && expr[i+1] == '='):
			cut = i
			if i+1 < len(expr) && expr[i+1] == '=' {
				i++
			}
		}
	}
	if cut < 0 {
		return ""
	}
	return strings.TrimSpace(expr[:cut])
}

func TestComparisonLHS(t *testing.T) {
	for expr, want := range map[string]string{
		`rtcell_drift == 1`:   `rtcell_drift`,
		`increase(x[5m]) > 0`: `increase(x[5m])`,
		`up{job="a>b"} == 0`:  `up{job="a>b"}`,
		`(a and on (t) b == 1) > on (t) clamp_min(20 * c, 1)`: `(a and on (t) b == 1)`,
		`time() - x >= 2 * 86400`:                             `time() - x`,
		`rtcell_verdict{verdict!="pass"} != 0`:                `rtcell_verdict{verdict!="pass"}`,
		`histogram_quantile(0.99, rate(x[5m]))`:               ``,
	} {
		if got := comparisonLHS(expr); got != want {
			t.Errorf("comparisonLHS(%q) = %q, want %q", expr, got, want)
		}
	}
}

// dashboard is the part of a Grafana dashboard these tests read.
type dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Definition string          `json:"definition"`
			Datasource json.RawMessage `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID         int    `json:"id"`
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource struct {
			Type string `json:"type"`
			UID  string `json:"uid"`
		} `json:"datasource"`
		GridPos struct{ H, W, X, Y int } `json:"gridPos"`
		Targets []struct {
			RefID      string `json:"refId"`
			Expr       string `json:"expr"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
		} `json:"targets"`
	} `json:"panels"`
}

func readDashboard(t *testing.T) *dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return &d
}

// grafanaExpr replaces the Grafana variables of a panel query as Grafana
// does when every value is selected: the template variables by their
// "All" value (.*) and $__rate_interval by a window that holds several
// scrapes at the test's 1 s interval.
func grafanaExpr(expr string) string {
	return strings.NewReplacer("$__rate_interval", "1m", "$job", ".*", "$instance", ".*", "$task", ".*").Replace(expr)
}

// TestGrafanaDashboard checks what a Grafana import needs: a datasource
// variable that every panel and query uses (so the import asks for no
// fixed data source), unique panel IDs within the 24-column grid, and the
// panels the fleet view promises.
func TestGrafanaDashboard(t *testing.T) {
	d := readDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard uid %q, title %q: both must be set so that re-imports replace it", d.UID, d.Title)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" {
		t.Fatalf("no datasource variable (templating: %v)", vars)
	}
	ids := map[int]bool{}
	var all strings.Builder
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.Datasource.UID != "${datasource}" || p.Datasource.Type != "prometheus" {
			t.Errorf("panel %q: datasource %+v, want the ${datasource} variable", p.Title, p.Datasource)
		}
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X < 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, p.GridPos)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			if q.Expr == "" || q.RefID == "" || q.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q: query %+v lacks an expr, a refId or the ${datasource} variable", p.Title, q)
			}
			for _, v := range regexp.MustCompile(`\$(\w+)`).FindAllStringSubmatch(q.Expr, -1) {
				if _, ok := vars[v[1]]; !ok && v[1] != "__rate_interval" {
					t.Errorf("panel %q uses $%s, which the dashboard does not define", p.Title, v[1])
				}
			}
			all.WriteString(q.Expr + "\n")
		}
	}
	for _, need := range []string{
		`histogram_quantile(0.5,`, `histogram_quantile(0.99,`, "rtcell_task_wake_latency_max_seconds",
		"rate(rtcell_task_deadline_misses_total", "rtcell_verdict", "rtcell_drift", "rtcell_task_up", "up{",
	} {
		if !strings.Contains(all.String(), need) {
			t.Errorf("no panel query has %q", need)
		}
	}
}

// TestDriftUnits checks the drift service and timer with systemd-analyze:
// verify (on copies whose ExecStart names the built runner, since
// /usr/local/bin/rtcell-runner is not installed here), the security
// score, and what the check needs.
func TestDriftUnits(t *testing.T) {
	sa := rttest.RequireCommand(t, "systemd-analyze", "apt-get install -y systemd (make deps)")
	svc, err := os.ReadFile(driftService)
	if err != nil {
		t.Fatal(err)
	}
	timer, err := os.ReadFile(driftTimer)
	if err != nil {
		t.Fatal(err)
	}
	unit := string(svc)
	for _, need := range []string{
		"Type=oneshot",
		"ExecStart=/usr/local/bin/rtcell-runner report --baseline /var/lib/rtcell/commissioned.json /var/lib/rtcell/current.json --metrics-textfile /var/lib/prometheus/node-exporter/rtcell-drift.prom",
		"ExecStart=-/usr/local/bin/rtcell-runner run /etc/rtcell/drift.toml --quiet --json /var/lib/rtcell/current.json",
		"ExecStartPre=/bin/rm -f /var/lib/rtcell/current.json",
		"ReadWritePaths=/var/lib/prometheus/node-exporter",
		"AmbientCapabilities=CAP_SYS_NICE CAP_IPC_LOCK", "LimitRTPRIO=99", "LimitMEMLOCK=infinity",
		"DeviceAllow=/dev/cpu_dma_latency rw", "RestrictRealtime=no", "StateDirectory=rtcell",
	} {
		if !strings.Contains(unit, "\n"+need+"\n") {
			t.Errorf("%s lacks the line %q", driftService, need)
		}
	}
	// The run comes before the comparison.
	if i, j := strings.Index(unit, "\nExecStart=-"), strings.Index(unit, "\nExecStart=/usr/local/bin/rtcell-runner report"); i < 0 || j < i {
		t.Errorf("%s: the run must come before the comparison", driftService)
	}
	for _, need := range []string{"OnCalendar=", "Persistent=true", "WantedBy=timers.target"} {
		if !strings.Contains(string(timer), "\n"+need) {
			t.Errorf("%s lacks %q", driftTimer, need)
		}
	}

	dir := t.TempDir()
	bin := filepath.Join(dir, "rtcell-runner")
	if b, err := os.ReadFile(runnerBin); err != nil || os.WriteFile(bin, b, 0o755) != nil {
		t.Fatalf("copying the runner: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "rtcell-drift.service"), []byte(strings.ReplaceAll(unit, "/usr/local/bin/rtcell-runner", bin)), 0o644)
	os.WriteFile(filepath.Join(dir, "rtcell-drift.timer"), timer, 0o644)
	cmd := exec.Command(sa, "verify", "rtcell-drift.service", "rtcell-drift.timer")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// verify must catch what matters: a binary that is not there.
	os.Remove(bin)
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("systemd-analyze verify accepts the unit without its binary:\n%s", out)
	}

	out, err := exec.Command(sa, "security", "--offline=yes", driftService).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for rtcell-drift.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no score in:\n%s", out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	if score > 2.0 {
		t.Errorf("exposure %.1f, want ≤ 2.0", score)
	}
	t.Logf("systemd-analyze security: %.1f", score)
}

// freeAddr returns a loopback address with a port that was free a moment
// ago (listened on, then closed).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// promSample is one sample of an instant query's vector.
type promSample struct {
	Metric map[string]string
	T      float64 // seconds since the epoch
	V      float64
}

// promQuery runs an instant query through Prometheus's HTTP API. err is
// the query's own error (a PromQL error, a wrong type).
func promQuery(base, expr string) ([]promSample, error) {
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status, Error, ErrorType string
		Data                     struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("decoding the answer (HTTP %s): %w", resp.Status, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s", r.ErrorType, r.Error)
	}
	var raw []struct {
		Metric map[string]string `json:"metric"`
		Value  [2]any            `json:"value"`
	}
	switch r.Data.ResultType {
	case "vector":
		if err := json.Unmarshal(r.Data.Result, &raw); err != nil {
			return nil, err
		}
	case "scalar":
		var v [2]any
		if err := json.Unmarshal(r.Data.Result, &v); err != nil {
			return nil, err
		}
		raw = append(raw, struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}{Value: v})
	default:
		return nil, fmt.Errorf("result type %s, want a vector or scalar", r.Data.ResultType)
	}
	out := make([]promSample, len(raw))
	for i, s := range raw {
		ts, _ := s.Value[0].(float64)
		vs, _ := s.Value[1].(string)
		v, err := strconv.ParseFloat(vs, 64)
		if err != nil {
			return nil, fmt.Errorf("sample value %v: %w", s.Value[1], err)
		}
		out[i] = promSample{Metric: s.Metric, T: ts, V: v}
	}
	return out, nil
}

// driftTextfile is what `runner report --baseline … --metrics-textfile`
// writes when something drifted (the names are fixed; node_exporter
// serves them in the job "node"): here one item of each kind, and a last
// check three days old, so that the stale-check alert has data as well.
func driftTextfile(now time.Time) string {
	var b strings.Builder
	b.WriteString("# HELP rtcell_drift 1 when the last check found drift from the commissioned baseline.\n# TYPE rtcell_drift gauge\nrtcell_drift 1\n")
	b.WriteString("# HELP rtcell_drift_items Items worse than the baseline, by kind.\n# TYPE rtcell_drift_items gauge\n")
	for _, k := range []string{"check", "host", "latency", "task", "verdict"} {
		fmt.Fprintf(&b, "rtcell_drift_items{kind=%q} 1\n", k)
	}
	fmt.Fprintf(&b, "# HELP rtcell_drift_last_check_timestamp_seconds When the last check ran.\n# TYPE rtcell_drift_last_check_timestamp_seconds gauge\nrtcell_drift_last_check_timestamp_seconds %d\n", now.Add(-72*time.Hour).Unix())
	return b.String()
}

// TestPrometheusEndToEnd scrapes a running runner with Debian's
// Prometheus, configured from the shipped example (scrape interval 1 s,
// loopback targets), with the shipped rules. It checks that the cycle
// count Prometheus stored is the runner's live one, within what the loop
// can run between the scrape and the live read; that every rule and
// every dashboard query evaluates without error and returns data; and
// that the alerts the run provokes fire: deadline misses (a task whose
// busy time exceeds its deadline), a task down (one that ends early), an
// exporter down (a target where nothing listens), the verdict (not pass:
// the misses, and on this kernel not PREEMPT_RT), drift and a stale drift
// check (from a drift textfile served on loopback, as node_exporter
// would). Prometheus and the runner are stopped at the end.
func TestPrometheusEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus and a runner for about 20 s")
	}
	rttest.RequireRoot(t)
	prometheus := requirePrometheus(t, "prometheus")
	cpu := lastCPU()
	rttest.LeaseCPU(t, cpu)
	dir := t.TempDir()

	// The runner: "main" at 1 kHz, "late" missing every deadline (busy
	// 1 ms, deadline 500 µs, every 2 ms), "short" ending after 200 cycles.
	cfg := filepath.Join(dir, "run.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`[run]
preflight = false
duration = "5m"

[[task]]
name = "main"
period = "1ms"
priority = 80
overrun = "skip"
cpu = %[1]d

[[task]]
name = "late"
period = "2ms"
deadline = "500us"
workload = "busy:1ms"
priority = 70
cpu = %[1]d

[[task]]
name = "short"
period = "1ms"
priority = 60
cpu = %[1]d
cycles = 200

[report]
metrics = "127.0.0.1:0"
`, cpu)), 0o644)
	var runOut rttest.LockedBuffer
	rcmd := exec.Command(runnerBin, "run", cfg, "--quiet")
	rcmd.Stdout, rcmd.Stderr = &runOut, &runOut
	runner, err := child.Start(rcmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		runner.Stop(10 * time.Second)
		if !rttest.ProcessGone(runner.PID()) {
			t.Errorf("runner pid %d still running", runner.PID())
		}
	})
	var runnerAddr string
	for end := time.Now().Add(30 * time.Second); runnerAddr == ""; time.Sleep(20 * time.Millisecond) {
		if m := regexp.MustCompile(`metrics: http://(\S+)/metrics`).FindStringSubmatch(runOut.String()); m != nil {
			runnerAddr = m[1]
		}
		select {
		case <-runner.Done():
			t.Fatalf("the runner exited before printing its metrics address:\n%s", runOut.String())
		default:
		}
		if time.Now().After(end) {
			t.Fatalf("no metrics address from the runner in 30 s:\n%s", runOut.String())
		}
	}

	drift := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		io.WriteString(w, driftTextfile(time.Now()))
	}))
	defer drift.Close()
	driftAddr := strings.TrimPrefix(drift.URL, "http://")
	deadAddr := freeAddr(t)

	// Prometheus, configured from the shipped example.
	example, err := os.ReadFile(promConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	conf := string(example)
	for _, r := range []struct{ old, new string }{
		{"  scrape_interval: 15s\n", "  scrape_interval: 1s\n"},
		{"  evaluation_interval: 15s\n", "  evaluation_interval: 1s\n"},
		{"    scrape_interval: 5s\n", "    scrape_interval: 1s\n"},
		{"          - cell1.example:9101\n", "          - " + runnerAddr + "\n          - " + deadAddr + "\n"},
		{"          - cell1.example:9100\n", "          - " + driftAddr + "\n"},
	} {
		if strings.Count(conf, r.old) != 1 {
			t.Fatalf("%s: %q is not there once; the test rewrites it", promConfigFile, r.old)
		}
		conf = strings.Replace(conf, r.old, r.new, 1)
	}
	rules, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(conf), 0o644)
	os.WriteFile(filepath.Join(dir, "rtcell-rules.yml"), rules, 0o644)
	promAddr := freeAddr(t)
	var promLog rttest.LockedBuffer
	pcmd := exec.Command(prometheus,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr,
		"--log.level=warn")
	pcmd.Stdout, pcmd.Stderr = &promLog, &promLog
	prom, err := child.Start(pcmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		prom.Stop(10 * time.Second)
		if !rttest.ProcessGone(prom.PID()) {
			t.Errorf("prometheus pid %d still running", prom.PID())
		}
		if t.Failed() {
			t.Logf("prometheus log:\n%s", promLog.String())
			t.Logf("runner output:\n%s", runOut.String())
		}
	})
	base := "http://" + promAddr

	// Two scrapes of the runner and of the drift textfile, and "short"
	// ended: then every query has its data, but for rules that need a
	// rule evaluation first, which the loop below waits for too.
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for end := time.Now().Add(60 * time.Second); !ok(); time.Sleep(200 * time.Millisecond) {
			select {
			case <-prom.Done():
				t.Fatalf("prometheus exited while waiting for %s:\n%s", what, promLog.String())
			case <-runner.Done():
				t.Fatalf("the runner exited while waiting for %s:\n%s", what, runOut.String())
			default:
			}
			if time.Now().After(end) {
				t.Fatalf("no %s after 60 s", what)
			}
		}
	}
	atLeast := func(expr string, n float64) func() bool {
		return func() bool {
			s, err := promQuery(base, expr)
			return err == nil && len(s) == 1 && s[0].V >= n
		}
	}
	waitFor("two scrapes of the runner", atLeast(`count_over_time(rtcell_task_cycles_total{job="rtcell",task="main"}[5m])`, 2))
	waitFor("two scrapes of the drift textfile", atLeast(`count_over_time(rtcell_drift[5m])`, 2))
	waitFor(`task "short" ended`, atLeast(`count_over_time((rtcell_task_up{task="short"} == 0)[5m:1s])`, 1))

	// The stored cycle count against the live one: wait for a scrape to
	// land, then read the runner at once. An instant query's timestamp is
	// the evaluation time, so the sample's own time comes from
	// timestamp(), read before and after the value to be sure the value
	// is that sample's. The loop (overrun = "skip") starts at most one
	// cycle per release, so the live count may lead by elapsed/period,
	// plus one cycle that was running at the scrape and one release at
	// the edge; Prometheus may also move a scrape's timestamp by up to
	// 2 ms to align it with the interval.
	for _, series := range []string{"rtcell_task_cycles_total", "rtcell_task_wake_latency_seconds_count"} {
		q := series + `{job="rtcell",task="main"}`
		sampleTime := func() float64 {
			s, err := promQuery(base, "timestamp("+q+")")
			if err != nil || len(s) != 1 {
				t.Fatalf("timestamp(%s): %v, %v", q, s, err)
			}
			return s[0].V
		}
		last := sampleTime()
		var stored, at float64
		waitFor("a new scrape of "+series, func() bool {
			t1 := sampleTime()
			if t1 <= last {
				return false
			}
			s, err := promQuery(base, q)
			if err != nil || len(s) != 1 || sampleTime() != t1 {
				last = t1
				return false // another scrape landed meanwhile
			}
			stored, at = s[0].V, t1
			return true
		})
		live := liveValue(t, "http://"+runnerAddr+"/metrics", series+`{task="main"}`)
		elapsed := float64(time.Now().UnixNano())/1e9 - at
		bound := math.Floor((elapsed+2e-3)/1e-3) + 2
		if live < stored || live-stored > bound {
			t.Errorf("%s: Prometheus stored %v scraped at %.3f, the runner says %v %.3f s later: want a lead of 0 to %v cycles", series, stored, at, live, elapsed, bound)
		}
		t.Logf("%s: Prometheus %v, live %v, %.0f ms after the scrape (at most %v cycles)", series, stored, live, elapsed*1000, bound)
	}

	// The verdict as Prometheus stored it: "late" misses every deadline,
	// which only a kernel that is not PREEMPT_RT outranks.
	wantVerdict := "not-realtime"
	if kernelIsRT() {
		wantVerdict = "violations"
	}
	if s, err := promQuery(base, `rtcell_verdict{job="rtcell"} == 1`); err != nil || len(s) != 1 || s[0].Metric["verdict"] != wantVerdict {
		t.Errorf("rtcell_verdict == 1 in Prometheus: %v, %v; want one series, verdict %q", s, err, wantVerdict)
	}

	// Every rule and dashboard query evaluates and has data; the provoked
	// alerts fire. Retried for up to 60 s: the recorded series exist
	// after the first rule evaluation.
	mustFire := map[string]bool{"RtcellDeadlineMisses": true, "RtcellTaskDown": true, "RtcellExporterDown": true,
		"RtcellVerdictNotPass": true, "RtcellDrift": true, "RtcellDriftCheckStale": true}
	type check struct{ what, expr string }
	var checks []check
	for _, r := range readRules(t) {
		if !r.alert {
			checks = append(checks, check{"recording rule " + r.name, r.expr})
			continue
		}
		lhs := comparisonLHS(r.expr)
		if lhs == "" {
			t.Errorf("alert %s: %q is not a comparison", r.name, r.expr)
			continue
		}
		checks = append(checks, check{"alert " + r.name + "'s query", lhs})
		if mustFire[r.name] {
			checks = append(checks, check{"alert " + r.name, r.expr})
			delete(mustFire, r.name)
		}
	}
	for name := range mustFire {
		t.Errorf("alert %s is not in %s", name, rulesFile)
	}
	for _, p := range readDashboard(t).Panels {
		for _, q := range p.Targets {
			checks = append(checks, check{fmt.Sprintf("panel %q query %s", p.Title, q.RefID), grafanaExpr(q.Expr)})
		}
	}
	var failures []string
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(time.Second) {
		failures = failures[:0]
		for _, r := range readRules(t) {
			if s, err := promQuery(base, r.expr); err != nil {
				t.Fatalf("rule %s: %q: %v", r.name, r.expr, err)
			} else if r.alert {
				t.Logf("alert %s: %d series firing", r.name, len(s))
			}
		}
		for _, c := range checks {
			s, err := promQuery(base, c.expr)
			if err != nil {
				t.Fatalf("%s: %q: %v", c.what, c.expr, err)
			}
			if len(s) == 0 {
				failures = append(failures, fmt.Sprintf("%s: %q returns no data", c.what, c.expr))
			}
		}
		if len(failures) == 0 || time.Now().After(end) {
			break
		}
	}
	for _, f := range failures {
		t.Error(f)
	}

	// Prometheus's own evaluation of the rules: all healthy.
	resp, err := http.Get(base + "/api/v1/rules")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rr struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name, Health, LastError string
				}
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&rr); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range rr.Data.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health != "ok" {
				t.Errorf("Prometheus evaluates rule %s: health %q, %s", r.Name, r.Health, r.LastError)
			}
		}
	}
	if want := len(readRules(t)); n != want {
		t.Errorf("Prometheus loaded %d rules, the file has %d", n, want)
	}
}

// liveValue scrapes url and returns the value of series.
func liveValue(t *testing.T, url, series string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return metricValue(t, string(b), series)
}

// kernelIsRT says whether this kernel is PREEMPT_RT, as the runner judges
// it without preflight.
func kernelIsRT() bool {
	b, _ := os.ReadFile("/sys/kernel/realtime")
	if strings.TrimSpace(string(b)) == "1" {
		return true
	}
	v, _ := os.ReadFile("/proc/sys/kernel/version")
	return strings.Contains(string(v), "PREEMPT_RT")
}

// liveVerdict scrapes url and returns the verdict whose rtcell_verdict
// series is 1, or "" when the scrape fails or no single one is.
func liveVerdict(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^rtcell_verdict\{verdict="([a-z-]+)"\} 1$`).FindAllStringSubmatch(string(b), -1)
	if len(m) != 1 {
		return ""
	}
	return m[0][1]
}

// TestVerdictGaugeLive: the runner's rtcell_verdict judges the run while
// it runs: not-realtime on a kernel that is not PREEMPT_RT (pass or
// violations on one), then failed once a worker is killed, while the
// other task runs on and the metrics are still served.
func TestVerdictGaugeLive(t *testing.T) {
	rttest.RequireRoot(t)
	cpu := lastCPU()
	rttest.LeaseCPU(t, cpu)
	cfg := filepath.Join(t.TempDir(), "run.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`[run]
preflight = false
duration = "2m"

[[task]]
name = "a"
period = "1ms"
priority = 80
cpu = %[1]d

[[task]]
name = "b"
period = "1ms"
priority = 70
cpu = %[1]d

[report]
metrics = "127.0.0.1:0"
`, cpu)), 0o644)
	var out rttest.LockedBuffer
	cmd := exec.Command(runnerBin, "run", cfg, "--quiet")
	cmd.Stdout, cmd.Stderr = &out, &out
	p, err := child.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(10 * time.Second)
	wait := func(what string, ok func() bool) {
		t.Helper()
		for end := time.Now().Add(30 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("no %s in 30 s; runner output:\n%s", what, out.String())
			}
		}
	}
	var url string
	wait("metrics address", func() bool {
		m := regexp.MustCompile(`metrics: (http://\S+/metrics)`).FindStringSubmatch(out.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	})
	want := map[string]bool{"not-realtime": true}
	if kernelIsRT() {
		want = map[string]bool{"pass": true, "violations": true}
	}
	wait("both tasks running", func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), `rtcell_task_up{task="a"} 1`) && strings.Contains(string(b), `rtcell_task_up{task="b"} 1`)
	})
	if v := liveVerdict(url); !want[v] {
		t.Errorf("verdict %q while both tasks run (kernel PREEMPT_RT: %v), want one of %v", v, kernelIsRT(), want)
	}
	workers := rttest.Children(p.PID())
	if len(workers) != 2 {
		t.Fatalf("%d worker processes, want 2", len(workers))
	}
	syscall.Kill(workers[0], syscall.SIGKILL)
	wait("verdict failed after a worker was killed", func() bool { return liveVerdict(url) == "failed" })
	select {
	case <-p.Done():
		t.Errorf("the run ended with one worker killed; the other task should run on")
	default:
	}
}

// TestDriftServiceCommands runs the drift service's commands in order, as
// systemd does, with every path moved under a temporary root and the
// built runner: the stale current.json is removed, the run writes a
// fresh one, and `runner report --baseline` compares it and writes the
// drift textfile with the names the rules and the dashboard use. A
// config that cannot run leaves no current.json, so the comparison fails
// with exit 2 rather than judging an old run.
func TestDriftServiceCommands(t *testing.T) {
	rttest.RequireRoot(t)
	rttest.LeaseCPU(t, lastCPU())
	unit, err := os.ReadFile(driftService)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	paths := strings.NewReplacer(
		"/usr/local/bin/rtcell-runner", runnerBin,
		"/var/lib/rtcell", filepath.Join(root, "var/lib/rtcell"),
		"/etc/rtcell", filepath.Join(root, "etc/rtcell"),
		"/var/lib/prometheus/node-exporter", filepath.Join(root, "var/lib/prometheus/node-exporter"))
	type command struct {
		args        []string
		ignoreExit  bool
		isReport    bool
		description string
	}
	var cmds []command
	for _, m := range regexp.MustCompile(`(?m)^(ExecStartPre|ExecStart)=(.*)$`).FindAllStringSubmatch(string(unit), -1) {
		line := m[2]
		c := command{description: m[0]}
		if rest, ok := strings.CutPrefix(line, "-"); ok {
			c.ignoreExit, line = true, rest
		}
		c.args = strings.Fields(paths.Replace(line))
		c.isReport = len(c.args) > 1 && c.args[1] == "report"
		cmds = append(cmds, c)
	}
	if len(cmds) != 3 || !cmds[2].isReport {
		t.Fatalf("want ExecStartPre (rm), ExecStart (run) and ExecStart (report), got %d commands", len(cmds))
	}
	for _, d := range []string{"var/lib/rtcell", "etc/rtcell", "var/lib/prometheus/node-exporter"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	current := filepath.Join(root, "var/lib/rtcell/current.json")
	commissioned := filepath.Join(root, "var/lib/rtcell/commissioned.json")
	prom := filepath.Join(root, "var/lib/prometheus/node-exporter/rtcell-drift.prom")
	drift := filepath.Join(root, "etc/rtcell/drift.toml")
	os.WriteFile(drift, []byte(taskConfig("cycles = 300")), 0o644)
	os.WriteFile(current, []byte("an old run"), 0o644)

	run := func(c command) (int, string) {
		t.Helper()
		cmd := exec.Command(c.args[0], c.args[1:]...)
		cmd.Dir = filepath.Join(root, "var/lib/rtcell") // WorkingDirectory=
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", c.description, err)
		}
		return code, string(out)
	}
	for _, c := range cmds[:2] {
		if code, out := run(c); code != 0 && !c.ignoreExit {
			t.Fatalf("%s: exit %d\n%s", c.description, code, out)
		}
	}
	b, err := os.ReadFile(current)
	if err != nil || !bytes.Contains(b, []byte(`"cycles": 300`)) {
		t.Fatalf("current.json after the run: %v, %.200s; want a fresh report of 300 cycles", err, b)
	}

	if code, out := run(command{args: []string{runnerBin, "report", "--help"}}); code != 0 && strings.Contains(out, `unknown command "report"`) {
		t.Skipf("the run writes current.json; `runner report` (the comparison) is not in this build yet:\n%s", out)
	}
	// The run as its own baseline: nothing drifted.
	os.WriteFile(commissioned, b, 0o644)
	if code, out := run(cmds[2]); code != 0 {
		t.Errorf("%s with current.json as its own baseline: exit %d, want 0\n%s", cmds[2].description, code, out)
	}
	text, err := os.ReadFile(prom)
	if err != nil {
		t.Fatalf("no drift textfile: %v", err)
	}
	for _, series := range []string{"rtcell_drift 0", `rtcell_drift_items{kind="check"} 0`, "rtcell_drift_last_check_timestamp_seconds "} {
		if !bytes.Contains(text, []byte("\n"+series)) {
			t.Errorf("drift textfile lacks %q:\n%s", series, text)
		}
	}

	// A config that cannot run: no current.json, and the comparison
	// refuses (exit 2) instead of reading an old run.
	os.WriteFile(drift, []byte("[[task]]\nname = \"x\"\n"), 0o644)
	for _, c := range cmds[:2] {
		if code, out := run(c); code != 0 && !c.ignoreExit {
			t.Fatalf("%s: exit %d\n%s", c.description, code, out)
		}
	}
	if _, err := os.Stat(current); err == nil {
		t.Errorf("current.json exists after a run that could not start")
	}
	if code, out := run(cmds[2]); code != 2 {
		t.Errorf("comparison without current.json: exit %d, want 2\n%s", code, out)
	}
}
