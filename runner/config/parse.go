package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/rtcell/rtcell/rt"
	"github.com/rtcell/rtcell/rt/cpulist"
)

// Limits enforced by Parse, and the defaults it fills in.
const (
	MinPeriod       = 10 * time.Microsecond // below this the wake-up latency alone exceeds the period
	MaxPeriod       = 10 * time.Second
	DefaultDuration = 10 * time.Second
	// DefaultPriority is above the kernel's threaded IRQ handlers
	// (SCHED_FIFO 50), so they cannot delay the loop, and below
	// cyclictest's customary 90 and the maximum 99, leaving room for a
	// watchdog task that must preempt the loop.
	DefaultPriority    = 80
	DefaultHistogramUS = 1000
	MaxHistogramUS     = 1_000_000
	maxNameLen         = 64
	maxWorkloadPeriods = 10 // a busy workload may run at most this many periods

	// MaxTasksPerCPU is how many tasks may share one CPU, so a config
	// holds at most MaxTasksPerCPU × online CPUs tasks. Every task is a
	// worker process whose SCHED_FIFO thread is pinned to its CPU; tasks
	// on one CPU delay each other by their cycle times, and past a few
	// none of them has a real-time latency left to measure.
	MaxTasksPerCPU = 8
	// WorkerLockedBytes is the memory one task's worker process keeps
	// resident and locked, for the check against SysInfo.MemAvailableBytes.
	// A worker is a whole Go process that calls
	// mlockall(MCL_CURRENT|MCL_FUTURE): a worker of configs/default.toml
	// (Go 1.26, amd64) had 76–80 MiB locked in two runs (the sum of
	// Locked: in its /proc/PID/smaps), taken here with a fifth more for
	// a cycle function's own memory. Its VmLck reads 1.2 GB, but that
	// counts the Go heap's address-space reservations, which are
	// PROT_NONE and never resident.
	WorkerLockedBytes = 96 << 20
)

// Parse decodes and checks a config. name is used in error messages,
// normally the file path. sys describes the machine the tasks will run
// on: CPU numbers must be online there, and an omitted cpu picks the
// first free isolated CPU, else the last online CPU.
//
// Input larger than MaxFileSize or nested deeper than MaxDepth is
// refused before it is decoded, so hostile text costs time and memory
// in proportion to its size. More tasks than the machine holds (see
// MaxTasksPerCPU and WorkerLockedBytes) are refused with one error,
// without checking each task.
//
// The report outputs are checked as ApplyOutputFlags checks them: one
// file each, none an existing directory (it stats the paths, relative to
// the working directory), and a metrics_textfile ending in ".prom".
//
// It rejects syntax errors, unknown keys, values of the wrong type and
// impossible values, and reports all of them at once: the error joins
// one *Error per problem (errors.Is(err, ErrInvalid) holds), each
// naming the file, line and key. On error it returns a nil *Config, so
// nothing can start from a half-checked config.
func Parse(name string, data []byte, sys SysInfo) (*Config, error) {
	if len(sys.Online) == 0 {
		return nil, fmt.Errorf("checking %s: %w", name, ErrNoCPUs)
	}
	if len(data) > MaxFileSize {
		return nil, &Error{File: name, Msg: fmt.Sprintf("larger than the %d-byte (1 MiB) limit for a config file", MaxFileSize)}
	}
	if e := checkDepth(name, string(data)); e != nil {
		return nil, e
	}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &Error{File: name, Line: max(pe.Position.Line, 1), Key: "toml", Msg: pe.Message + " (fix the TOML syntax)"}
		}
		return nil, &Error{File: name, Line: 1, Key: "toml", Msg: err.Error()}
	}
	d := &decoder{file: name, lines: keyLines(string(data)), sys: sys}
	cfg := &Config{File: name, Text: string(data)}
	d.top(raw, cfg)
	d.resolve(raw, cfg, sys)
	d.loadTable(raw, cfg)
	for _, k := range outputKeys {
		if *cfg.Report.pathOf(k) != "" {
			if cfg.outputFrom == nil {
				cfg.outputFrom = map[string]origin{}
			}
			cfg.outputFrom[k] = origin{line: d.lineOf(keyPath{"report"}.key(k))}
		}
	}
	d.errs = append(d.errs, checkOutputs(name, cfg.outputs())...)
	if err := d.err(); err != nil {
		return nil, err
	}
	for _, w := range d.sorted(d.warns) {
		cfg.Warnings = append(cfg.Warnings, w.Error())
	}
	return cfg, nil
}

type decoder struct {
	file  string
	sys   SysInfo
	lines map[string]int
	errs  []*Error
	warns []*Error
	set   []taskSet // which optional task keys were written, by task index
}

// taskSet records which task keys the file gave, for defaults that
// depend on other keys.
type taskSet struct {
	period, deadline, cpu, margin, cycles bool
}

func (d *decoder) lineOf(p keyPath) int {
	for q := p; len(q) > 0; q = q[:len(q)-1] {
		if l, ok := d.lines[q.String()]; ok {
			return l
		}
	}
	return 1
}

func (d *decoder) errorf(p keyPath, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: d.lineOf(p), Key: p.String(), Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) warnf(p keyPath, format string, args ...any) {
	d.warns = append(d.warns, &Error{File: d.file, Line: d.lineOf(p), Key: p.String(), Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) sorted(es []*Error) []*Error {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Line < es[j].Line })
	return es
}

func (d *decoder) err() error {
	if len(d.errs) == 0 {
		return nil
	}
	errs := make([]error, 0, len(d.errs))
	for _, e := range d.sorted(d.errs) {
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// typeName says what TOML type a decoded value has, with an article.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date/time"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", v)
}

func show(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case int64, float64, bool:
		return fmt.Sprint(v)
	}
	return "value"
}

func (d *decoder) typeErr(p keyPath, v any, want string) {
	d.errorf(p, "%s is %s, want %s", show(v), typeName(v), want)
}

// checkKeys reports keys of tbl not in known, with a suggestion.
func (d *decoder) checkKeys(tbl map[string]any, p keyPath, known []string, what string) {
	for _, k := range sortedKeys(tbl) {
		if contains(known, k) {
			continue
		}
		msg := "unknown key"
		if _, ok := tbl[k].(map[string]any); ok {
			msg = "unknown table"
		}
		if s := suggest(k, known); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		} else {
			msg += fmt.Sprintf(" (%s: %s)", what, strings.Join(known, ", "))
		}
		d.errorf(p.key(k), "%s", msg)
	}
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the known key closest to k, if it is a likely typo.
func suggest(k string, known []string) string {
	k = strings.ToLower(k)
	for _, c := range known {
		if len(k) >= 3 && strings.HasPrefix(c, k) {
			return c
		}
	}
	best, bestD := "", math.MaxInt
	for _, c := range known {
		if dist := editDistance(k, c); dist < bestD {
			best, bestD = c, dist
		}
	}
	if bestD <= 2 && bestD*3 <= len(best) {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance, for "did you mean".
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt32
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

var (
	topKeys    = []string{"run", "task", "report", "load", "trace"}
	runKeys    = []string{"duration", "preflight", "allow_non_rt"}
	taskKeys   = []string{"name", "period", "deadline", "priority", "policy", "cpu", "wake", "margin", "overrun", "workload", "cycles", "histogram_us"}
	reportKeys = []string{"json", "histfile", "svg", "html", "metrics", "metrics_textfile", "trace"}
)

func (d *decoder) top(raw map[string]any, cfg *Config) {
	d.checkKeys(raw, nil, topKeys, "allowed: [run], [[task]], [report], [load], [trace]")
	cfg.Run = Run{Preflight: true}
	if v, ok := raw["run"]; ok {
		if tbl, ok := v.(map[string]any); ok {
			d.run(tbl, keyPath{"run"}, &cfg.Run)
		} else {
			d.typeErr(keyPath{"run"}, v, "a table [run]")
		}
	}
	if v, ok := raw["report"]; ok {
		if tbl, ok := v.(map[string]any); ok {
			d.report(tbl, keyPath{"report"}, &cfg.Report)
		} else {
			d.typeErr(keyPath{"report"}, v, "a table [report]")
		}
	}
	if v, ok := raw["trace"]; ok {
		if tbl, ok := v.(map[string]any); ok {
			d.traceTable(tbl, keyPath{"trace"}, &cfg.Trace)
		} else {
			d.typeErr(keyPath{"trace"}, v, "a table [trace]")
		}
	}
	var tasks []map[string]any
	typeOK := true
	switch v := raw["task"].(type) {
	case nil:
	case []map[string]any:
		tasks = v
	case []any: // task = [{...}, {...}]
		for i, e := range v {
			if tbl, ok := e.(map[string]any); ok {
				tasks = append(tasks, tbl)
			} else {
				d.typeErr(keyPath{"task"}.index(i), e, "a table")
				typeOK = false
			}
		}
	case map[string]any:
		d.errorf(keyPath{"task"}, "is a single table, want an array of tables (write [[task]], with two brackets)")
		typeOK = false
	default:
		d.typeErr(keyPath{"task"}, v, "an array of tables [[task]]")
		typeOK = false
	}
	if len(tasks) == 0 && typeOK {
		d.errorf(keyPath{"task"}, "no tasks (add at least one [[task]] table with a name and a period)")
	}
	if !d.taskCountFits(len(tasks)) {
		tasks = nil // checking each of thousands of tasks would bury the one error that matters
	}
	d.set = make([]taskSet, len(tasks))
	for i, tbl := range tasks {
		cfg.Tasks = append(cfg.Tasks, d.task(tbl, keyPath{"task"}.index(i), &d.set[i]))
	}
}

func (d *decoder) run(tbl map[string]any, p keyPath, r *Run) {
	d.checkKeys(tbl, p, runKeys, "allowed")
	if dur, ok := d.duration(tbl, p, "duration"); ok {
		if dur <= 0 {
			d.errorf(p.key("duration"), "%s is not positive (give a run time such as \"10s\", or omit it and set cycles on every task)", formatDuration(dur))
		} else {
			r.Duration = dur
		}
	}
	if b, ok := d.boolean(tbl, p, "preflight"); ok {
		r.Preflight = b
	}
	if b, ok := d.boolean(tbl, p, "allow_non_rt"); ok {
		r.AllowNonRT = b
	}
}

func (d *decoder) report(tbl map[string]any, p keyPath, r *Report) {
	d.checkKeys(tbl, p, reportKeys, "allowed")
	fields := []struct {
		key string
		dst *string
	}{
		{"json", &r.JSON}, {"histfile", &r.Histfile}, {"svg", &r.SVG}, {"html", &r.HTML},
		{"metrics_textfile", &r.MetricsTextfile}, {"trace", &r.Trace},
	}
	for _, f := range fields {
		s, ok := d.str(tbl, p, f.key, "a file path")
		if !ok {
			continue
		}
		if strings.TrimSpace(s) == "" {
			d.errorf(p.key(f.key), "path is empty (give a file path, or omit the key to skip this output)")
		} else {
			*f.dst = s
		}
	}
	if s, ok := d.str(tbl, p, "metrics", `a TCP address such as "127.0.0.1:9101"`); ok {
		if err := checkTCPAddr(s); err != nil {
			d.errorf(p.key("metrics"), "%q: %v (use host:port such as \"127.0.0.1:9101\", or \":9101\" for all interfaces)", s, err)
		} else {
			r.Metrics = s
		}
	}
}

// checkTCPAddr accepts host:port with a numeric port 0–65535 (0: any free
// port, which the runner prints) and a host that is empty, an IP address
// or a DNS name. It does no lookups.
func checkTCPAddr(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return errors.New("not host:port")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number 0–65535", port)
	}
	if host == "" || net.ParseIP(host) != nil {
		return nil
	}
	if len(host) > 253 {
		return errors.New("host name is too long")
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("host %q is not an IP address or host name", host)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("host %q is not an IP address or host name", host)
			}
		}
	}
	return nil
}

func validName(s string) bool {
	if s == "" || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isBareKeyChar(c) || c == '.') {
			return false
		}
	}
	return true
}

func (d *decoder) task(tbl map[string]any, p keyPath, set *taskSet) Task {
	d.checkKeys(tbl, p, taskKeys, "allowed")
	t := Task{
		Priority:    DefaultPriority,
		Policy:      rt.PolicyFIFO,
		Wake:        rt.WakeSleep,
		MarginAuto:  true,
		Overrun:     rt.OverrunSkip,
		Workload:    Workload{Kind: WorkloadNone},
		HistogramUS: DefaultHistogramUS,
	}
	if s, ok := d.str(tbl, p, "name", "a name"); ok {
		if validName(s) {
			t.Name = s
		} else {
			d.errorf(p.key("name"), "%q is not a valid name (use 1–%d letters, digits, '_', '.' or '-')", s, maxNameLen)
		}
	} else if _, present := tbl["name"]; !present {
		d.errorf(p.key("name"), "missing (give each task a unique name of letters, digits, '_', '.' or '-')")
	}

	if dur, ok := d.duration(tbl, p, "period"); ok {
		if dur < MinPeriod || dur > MaxPeriod {
			d.errorf(p.key("period"), "%s is outside %s–%s (1 kHz is \"1ms\")", formatDuration(dur), formatDuration(MinPeriod), formatDuration(MaxPeriod))
		} else {
			t.Period, set.period = dur, true
		}
	} else if _, present := tbl["period"]; !present {
		d.errorf(p.key("period"), "missing (give the release interval, e.g. period = \"1ms\" for 1 kHz)")
	}

	if dur, ok := d.duration(tbl, p, "deadline"); ok {
		switch {
		case dur <= 0:
			d.errorf(p.key("deadline"), "%s is not positive (use a duration > 0 and ≤ the period, or omit it to use the period)", formatDuration(dur))
		case set.period && dur > t.Period:
			d.errorf(p.key("deadline"), "%s is longer than the period %s (a deadline must be > 0 and ≤ the period)", formatDuration(dur), formatDuration(t.Period))
		default:
			t.Deadline, set.deadline = dur, true
		}
	}
	if !set.deadline {
		t.Deadline = t.Period
	}

	if n, ok := d.integer(tbl, p, "priority", "an integer 1–99"); ok {
		if n < 1 || n > 99 {
			d.errorf(p.key("priority"), "%d is outside 1–99 (SCHED_FIFO/RR priorities; higher runs first)", n)
		} else {
			t.Priority = int(n)
		}
	}

	if s, ok := d.enum(tbl, p, "policy", []string{string(rt.PolicyFIFO), string(rt.PolicyRR)}); ok {
		t.Policy = rt.Policy(s)
	}
	if s, ok := d.enum(tbl, p, "wake", []string{string(rt.WakeSleep), string(rt.WakeHybrid), string(rt.WakeBusy)}); ok {
		t.Wake = rt.Wake(s)
	}
	if s, ok := d.enum(tbl, p, "overrun", []string{string(rt.OverrunSkip), string(rt.OverrunCatchup)}); ok {
		t.Overrun = rt.OverrunPolicy(s)
	}

	switch v := tbl["cpu"].(type) {
	case nil:
	case int64:
		if v < 0 || v > math.MaxInt32 {
			d.errorf(p.key("cpu"), "%d is not a CPU number (use a CPU listed in /sys/devices/system/cpu/online, or \"auto\")", v)
		} else {
			t.CPU, set.cpu = int(v), true
		}
	case string:
		if v != "auto" {
			d.errorf(p.key("cpu"), "%q is not a CPU (use a CPU number or \"auto\")", v)
		}
	default:
		d.typeErr(p.key("cpu"), v, `a CPU number or "auto"`)
	}

	switch v := tbl["margin"].(type) {
	case nil:
	case string:
		if v == "auto" {
			break
		}
		dur, err := time.ParseDuration(v)
		switch {
		case err != nil:
			d.errorf(p.key("margin"), "%q is not a duration or \"auto\" (e.g. \"60us\")", v)
		case dur < 0:
			d.errorf(p.key("margin"), "%s is negative (use a duration ≥ 0 below the period, or \"auto\")", formatDuration(dur))
		case set.period && dur >= t.Period:
			d.errorf(p.key("margin"), "%s is not below the period %s (the spin would never end; use a smaller margin or \"auto\")", formatDuration(dur), formatDuration(t.Period))
		default:
			t.Margin, t.MarginAuto, set.margin = dur, false, true
		}
	default:
		d.typeErr(p.key("margin"), v, `a duration string such as "60us", or "auto"`)
	}

	if s, ok := d.str(tbl, p, "workload", `"none", "busy:300us" or "busy:200us-900us"`); ok {
		w, err := ParseWorkload(s)
		switch {
		case err != nil:
			d.errorf(p.key("workload"), "%s", strings.TrimSuffix(strings.TrimPrefix(err.Error(), "parsing workload "), ": "+ErrInvalid.Error()))
		case set.period && w.Max >= maxWorkloadPeriods*t.Period:
			d.errorf(p.key("workload"), "busy time up to %s is not below %d periods (%s) (shorten the workload or lengthen the period)",
				formatDuration(w.Max), maxWorkloadPeriods, formatDuration(maxWorkloadPeriods*t.Period))
		default:
			t.Workload = w
		}
	}

	if n, ok := d.integer(tbl, p, "cycles", "an integer ≥ 0"); ok {
		if n < 0 {
			d.errorf(p.key("cycles"), "%d is negative (use a cycle count ≥ 1, or 0 to run for run.duration)", n)
		} else {
			t.Cycles, set.cycles = uint64(n), n > 0
		}
	}

	if n, ok := d.integer(tbl, p, "histogram_us", "an integer 1–1000000"); ok {
		if n < 1 || n > MaxHistogramUS {
			d.errorf(p.key("histogram_us"), "%d is outside 1–%d (the range in 1 µs bins; latencies above it count as overflows)", n, MaxHistogramUS)
		} else {
			t.HistogramUS = int(n)
		}
	}
	return t
}

// taskCountFits checks that n tasks fit on the machine: at most
// MaxTasksPerCPU per online CPU, and n worker processes of
// WorkerLockedBytes each within MemAvailable (when known).
func (d *decoder) taskCountFits(n int) bool {
	ok := true
	online := len(distinct(d.sys.Online))
	if limit := MaxTasksPerCPU * online; n > limit {
		d.errorf(keyPath{"task"}, "%d tasks are more than %d online CPUs can run (at most %d tasks share a CPU, so at most %d here; each task is a worker process with a real-time thread pinned to its CPU)",
			n, online, MaxTasksPerCPU, limit)
		ok = false
	}
	const mib = 1 << 20
	if avail := d.sys.MemAvailableBytes; avail > 0 && uint64(n)*WorkerLockedBytes > avail {
		d.errorf(keyPath{"task"}, "%d tasks × ≈%d MiB locked = %d MiB is more than the %d MiB available (each task is a worker process that locks all its memory with mlockall; run fewer tasks, or free memory)",
			n, WorkerLockedBytes/mib, uint64(n)*WorkerLockedBytes/mib, avail/mib)
		ok = false
	}
	return ok
}

func distinct(xs []int) map[int]bool {
	m := make(map[int]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// Typed getters. Each returns ok=false when the key is absent or has
// the wrong type; the latter is reported.

func (d *decoder) str(tbl map[string]any, p keyPath, key, want string) (string, bool) {
	v, present := tbl[key]
	if !present {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		d.typeErr(p.key(key), v, "a string: "+want)
	}
	return s, ok
}

func (d *decoder) integer(tbl map[string]any, p keyPath, key, want string) (int64, bool) {
	v, present := tbl[key]
	if !present {
		return 0, false
	}
	n, ok := v.(int64)
	if !ok {
		d.typeErr(p.key(key), v, want)
	}
	return n, ok
}

func (d *decoder) boolean(tbl map[string]any, p keyPath, key string) (bool, bool) {
	v, present := tbl[key]
	if !present {
		return false, false
	}
	b, ok := v.(bool)
	if !ok {
		d.typeErr(p.key(key), v, "true or false")
	}
	return b, ok
}

func (d *decoder) duration(tbl map[string]any, p keyPath, key string) (time.Duration, bool) {
	v, present := tbl[key]
	if !present {
		return 0, false
	}
	s, ok := v.(string)
	if !ok {
		d.typeErr(p.key(key), v, `a duration string such as "1ms" (units: ns, us, ms, s)`)
		return 0, false
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		d.errorf(p.key(key), "%q is not a duration (use a number and a unit: ns, us, ms, s, e.g. \"1ms\")", s)
		return 0, false
	}
	return dur, true
}

func (d *decoder) enum(tbl map[string]any, p keyPath, key string, allowed []string) (string, bool) {
	want := strings.Join(allowed, " | ")
	s, ok := d.str(tbl, p, key, want)
	if !ok {
		return "", false
	}
	if !contains(allowed, s) {
		d.errorf(p.key(key), "%q is not allowed (use %s)", s, want)
		return "", false
	}
	return s, true
}

// resolve fills in defaults that depend on several tasks or on the
// machine, and checks what only makes sense across tasks.
func (d *decoder) resolve(raw map[string]any, cfg *Config, sys SysInfo) {
	online := map[int]bool{}
	var onlineList []int
	for _, c := range sys.Online {
		if !online[c] {
			online[c] = true
			onlineList = append(onlineList, c)
		}
	}
	sort.Ints(onlineList)
	isolated := map[int]bool{}
	var isoOnline []int
	for _, c := range sys.Isolated {
		if online[c] && !isolated[c] {
			isolated[c] = true
			isoOnline = append(isoOnline, c)
		}
	}
	sort.Ints(isoOnline)

	// Names, explicit CPUs.
	names := map[string]int{}
	taken := map[int]bool{}
	for i := range cfg.Tasks {
		t, p := &cfg.Tasks[i], keyPath{"task"}.index(i)
		if t.Name != "" {
			if j, dup := names[t.Name]; dup {
				d.errorf(p.key("name"), "%q is also the name of task[%d] on line %d (task names must be unique)", t.Name, j, d.lineOf(keyPath{"task"}.index(j).key("name")))
			} else {
				names[t.Name] = i
			}
		}
		if d.set[i].cpu {
			if !online[t.CPU] {
				d.errorf(p.key("cpu"), "CPU %d is not online (online CPUs: %s; or omit cpu to pick one)", t.CPU, formatCPUList(onlineList))
			} else {
				taken[t.CPU] = true
				if len(isoOnline) > 0 && !isolated[t.CPU] {
					d.warnf(p.key("cpu"), "CPU %d is not isolated (isolated: %s); other work and IRQs may run there", t.CPU, formatCPUList(isoOnline))
				}
			}
		}
	}
	// Auto CPUs: the first free isolated CPU, else the last online one.
	for i := range cfg.Tasks {
		t := &cfg.Tasks[i]
		if d.set[i].cpu {
			continue
		}
		t.CPU, _ = cpulist.Auto(onlineList, isoOnline, func(c int) bool { return taken[c] })
		t.CPUAuto = true
		taken[t.CPU] = true
	}
	// Tasks per CPU.
	perCPU := map[int]int{}
	for i := range cfg.Tasks {
		t := &cfg.Tasks[i]
		if d.set[i].cpu && !online[t.CPU] {
			continue
		}
		if perCPU[t.CPU]++; perCPU[t.CPU] == MaxTasksPerCPU+1 {
			auto := 0
			for j := range i + 1 {
				if cfg.Tasks[j].CPU == t.CPU && cfg.Tasks[j].CPUAuto {
					auto++
				}
			}
			advice := "give some of them another CPU"
			if auto > 0 {
				advice = fmt.Sprintf("%d were picked automatically: set cpu on some tasks to spread them", auto)
			}
			d.errorf(keyPath{"task"}.index(i).key("cpu"), "CPU %d would run more than %d tasks (%s; tasks on one CPU delay each other by their cycle times)",
				t.CPU, MaxTasksPerCPU, advice)
		}
	}
	// Sharing a CPU.
	for j := range cfg.Tasks {
		for i := 0; i < j; i++ {
			a, b := &cfg.Tasks[i], &cfg.Tasks[j]
			if a.CPU != b.CPU || (d.set[i].cpu && !online[a.CPU]) || perCPU[a.CPU] > MaxTasksPerCPU {
				continue
			}
			p := keyPath{"task"}.index(j).key("cpu")
			how := ""
			if b.CPUAuto {
				how = "auto-picked "
			}
			switch {
			case a.Wake == rt.WakeBusy || b.Wake == rt.WakeBusy:
				d.errorf(p, "%sCPU %d is shared with task[%d] %q and one of them uses wake = \"busy\", which would starve the other (give a busy task a CPU of its own)",
					how, b.CPU, i, a.Name)
			case a.Priority == b.Priority:
				d.warnf(p, "%sCPU %d is shared with task[%d] %q at the same priority %d; neither preempts the other, so each adds the other's run time to its latency",
					how, b.CPU, i, a.Name, a.Priority)
			}
		}
	}
	// Per-task advice.
	for i := range cfg.Tasks {
		t, p := &cfg.Tasks[i], keyPath{"task"}.index(i)
		if d.set[i].margin && t.Wake != rt.WakeHybrid {
			d.warnf(p.key("margin"), "margin is only used with wake = \"hybrid\"; it is ignored here")
		}
		if t.Workload.Kind == WorkloadBusy && d.set[i].period && t.Workload.Min >= t.Deadline {
			d.warnf(p.key("workload"), "the shortest busy time %s is not below the deadline %s: every cycle will miss it",
				formatDuration(t.Workload.Min), formatDuration(t.Deadline))
		}
	}
	// Run length.
	if cfg.Run.Duration == 0 {
		run, _ := raw["run"].(map[string]any)
		_, given := run["duration"]
		all := len(cfg.Tasks) > 0
		for i := range cfg.Tasks {
			all = all && d.set[i].cycles
		}
		if !all && !given {
			cfg.Run.Duration = DefaultDuration
		}
	}
}
