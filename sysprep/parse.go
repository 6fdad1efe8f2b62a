package sysprep

import (
	"bufio"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// This file holds the pure parsers for the kernel files that
// prometheus/procfs does not cover (or covers in a way that can panic on
// malformed input). Each takes the file's content and returns a value or
// an ErrMalformed error; readers in facts.go add the file name.

// cmdline is the kernel command line as parameter → value, with the
// kernel's rules: names compare with '-' and '_' equal, the last
// occurrence wins, and everything after "--" belongs to init.
type cmdline map[string]string

func normParam(k string) string { return strings.ReplaceAll(k, "-", "_") }

// parseCmdline parses the fields of /proc/cmdline.
func parseCmdline(fields []string) cmdline {
	c := cmdline{}
	for _, f := range fields {
		if f == "--" {
			break
		}
		k, v, _ := strings.Cut(f, "=")
		if k == "" {
			continue
		}
		c[normParam(k)] = strings.Trim(v, `"`)
	}
	return c
}

func (c cmdline) get(k string) (string, bool) {
	v, ok := c[normParam(k)]
	return v, ok
}

// isolcpusFlags are the flags the kernel accepts before the cpulist of
// isolcpus= (kernel/sched/isolation.c).
var isolcpusFlags = map[string]bool{"nohz": true, "domain": true, "managed_irq": true}

// parseIsolcpus parses the value of isolcpus=, e.g.
// "managed_irq,domain,1-3", into its flags and CPUs. Without flags the
// kernel implies "domain".
func parseIsolcpus(v string) (flags []string, cpus cpuSet, err error) {
	rest := v
	for rest != "" && (rest[0] >= 'a' && rest[0] <= 'z') {
		flag, after, _ := strings.Cut(rest, ",")
		if !isolcpusFlags[flag] {
			return nil, cpuSet{}, fmt.Errorf("isolcpus flag %s, want nohz, domain or managed_irq: %w", quote(flag), ErrMalformed)
		}
		flags = append(flags, flag)
		rest = after
	}
	cpus, err = parseCPUList(rest)
	if err != nil {
		return nil, cpuSet{}, fmt.Errorf("isolcpus=%s: %w", v, err)
	}
	if len(flags) == 0 {
		flags = []string{"domain"}
	}
	return flags, cpus, nil
}

// parseRCUNocbs parses the value of rcu_nocbs=; since Linux 5.17 the
// value may be empty (no CPU offloaded at boot) or "all".
func parseRCUNocbs(v string, possible cpuSet) (cpuSet, error) {
	switch strings.TrimSpace(v) {
	case "":
		return cpuSet{}, nil
	case "all":
		return possible, nil
	}
	return parseCPUList(v)
}

// parseNohzFull parses /sys/devices/system/cpu/nohz_full, which prints
// "(null)" when nohz_full= was not given.
func parseNohzFull(s string) (cpuSet, error) {
	s = strings.TrimSpace(s)
	if s == "(null)" {
		return cpuSet{}, nil
	}
	return parseCPUList(s)
}

// interrupts is /proc/interrupts: per-CPU counts keyed by the label in the
// first column ("26", "LOC", ...). The header names the CPU of each
// column; with CPUs offline, column i is not CPU i.
type interrupts struct {
	cpus  []int
	lines map[string]interruptLine
}

type interruptLine struct {
	counts []uint64 // aligned with interrupts.cpus; may be shorter (ERR, MIS)
	desc   string   // chip, hwirq, type and action names as printed
}

// onCPUs returns how often the interrupt fired on the CPUs in set.
func (in interrupts) onCPUs(label string, set cpuSet) (uint64, bool) {
	l, ok := in.lines[label]
	if !ok {
		return 0, false
	}
	var n uint64
	for i, c := range l.counts {
		if set.has(in.cpus[i]) {
			n += c
		}
	}
	return n, true
}

// parseInterrupts parses /proc/interrupts.
func parseInterrupts(b string) (interrupts, error) {
	sc := bufio.NewScanner(strings.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	if !sc.Scan() {
		return interrupts{}, fmt.Errorf("no header line: %w", ErrMalformed)
	}
	in := interrupts{lines: map[string]interruptLine{}}
	for _, f := range strings.Fields(sc.Text()) {
		n, ok := strings.CutPrefix(f, "CPU")
		if !ok {
			return interrupts{}, fmt.Errorf("header column %s, want CPUn: %w", quote(f), ErrMalformed)
		}
		c, err := parseCPUNumber(n)
		if err != nil {
			return interrupts{}, fmt.Errorf("header column %s: %w", quote(f), err)
		}
		in.cpus = append(in.cpus, c)
	}
	if len(in.cpus) == 0 {
		return interrupts{}, fmt.Errorf("header names no CPU: %w", ErrMalformed)
	}
	lineNo := 1
	for sc.Scan() {
		lineNo++
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		label, ok := strings.CutSuffix(fields[0], ":")
		if !ok || label == "" {
			return interrupts{}, fmt.Errorf("line %d: first column %s, want a label ending in ':': %w", lineNo, quote(fields[0]), ErrMalformed)
		}
		l := interruptLine{}
		i := 1
		for ; i < len(fields) && len(l.counts) < len(in.cpus); i++ {
			v, err := strconv.ParseUint(fields[i], 10, 64)
			if err != nil {
				break
			}
			l.counts = append(l.counts, v)
		}
		if len(l.counts) == 0 {
			return interrupts{}, fmt.Errorf("line %d (%s): no counts: %w", lineNo, label, ErrMalformed)
		}
		l.desc = strings.Join(fields[i:], " ")
		in.lines[label] = l
	}
	if err := sc.Err(); err != nil {
		return interrupts{}, fmt.Errorf("line %d: %w: %w", lineNo+1, ErrMalformed, err)
	}
	return in, nil
}

// procStatus holds the fields of /proc/<pid>/status that sysprep needs.
// procfs's Proc.NewStatus parses the whole file but panics on a Uid line
// with more than four fields and expands a Cpus_allowed_list range of any
// size, so sysprep parses these few fields itself, strictly.
type procStatus struct {
	Name           string
	CapEff, CapPrm uint64
	HasCaps        bool
	Allowed        cpuSet
	HasAllowed     bool
}

// parseStatus parses /proc/<pid>/status.
func parseStatus(b string) (procStatus, error) {
	var s procStatus
	for line := range strings.SplitSeq(b, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Name":
			s.Name = v
		case "CapEff", "CapPrm":
			if len(v) != 16 {
				return procStatus{}, fmt.Errorf("%s %s, want 16 hex digits: %w", k, quote(v), ErrMalformed)
			}
			m, err := strconv.ParseUint(v, 16, 64)
			if err != nil {
				return procStatus{}, fmt.Errorf("%s %s is not hex: %w", k, quote(v), ErrMalformed)
			}
			if k == "CapEff" {
				s.CapEff, s.HasCaps = m, true
			} else {
				s.CapPrm = m
			}
		case "Cpus_allowed_list":
			set, err := parseCPUList(v)
			if err != nil {
				return procStatus{}, fmt.Errorf("field Cpus_allowed_list: %w", err)
			}
			s.Allowed, s.HasAllowed = set, true
		}
	}
	return s, nil
}

// kernelConfig maps CONFIG_ names to their value: "y", "m", a string, or
// "n" for "# CONFIG_X is not set".
type kernelConfig map[string]string

// parseKernelConfig parses a kernel .config (/proc/config.gz, /boot/config-*).
func parseKernelConfig(b []byte) (kernelConfig, error) {
	c := kernelConfig{}
	n := 0
	for line := range strings.SplitSeq(string(b), "\n") {
		n++
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			if name, ok := strings.CutSuffix(strings.TrimPrefix(line, "# "), " is not set"); ok && strings.HasPrefix(name, "CONFIG_") {
				c[name] = "n"
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(k, "CONFIG_") {
			return nil, fmt.Errorf("line %d %s, want CONFIG_NAME=value: %w", n, quote(line), ErrMalformed)
		}
		c[k] = strings.Trim(v, `"`)
	}
	if len(c) == 0 {
		return nil, fmt.Errorf("no CONFIG_ lines: %w", ErrMalformed)
	}
	return c, nil
}

// parseBracketChoice returns the bracketed word of a sysfs choice file
// such as /sys/kernel/mm/transparent_hugepage/enabled
// ("always [madvise] never").
func parseBracketChoice(s string) (string, error) {
	var chosen string
	for _, f := range strings.Fields(s) {
		if len(f) > 2 && f[0] == '[' && f[len(f)-1] == ']' {
			if chosen != "" {
				return "", fmt.Errorf("%s has more than one [choice]: %w", quote(s), ErrMalformed)
			}
			chosen = f[1 : len(f)-1]
		}
	}
	if chosen == "" {
		return "", fmt.Errorf("%s has no [choice]: %w", quote(strings.TrimSpace(s)), ErrMalformed)
	}
	return chosen, nil
}

// parseBool01 parses a sysfs flag file holding "0" or "1"
// (/sys/kernel/realtime, cpuidle/stateN/disable).
func parseBool01(s string) (bool, error) {
	switch strings.TrimSpace(s) {
	case "0":
		return false, nil
	case "1":
		return true, nil
	}
	return false, fmt.Errorf("%s, want 0 or 1: %w", quote(strings.TrimSpace(s)), ErrMalformed)
}

// parseUint parses a sysfs file holding one unsigned number
// (cpuidle/stateN/latency).
func parseUint(s string) (uint64, error) {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s, want an unsigned number: %w", quote(strings.TrimSpace(s)), ErrMalformed)
	}
	return v, nil
}

// parsePMQoSResumeLatency parses power/pm_qos_resume_latency_us of a CPU
// device: "0" means no constraint, "n/a" means no idle state at all
// (latency 0 µs), any other number is the limit in µs. It returns the
// limit and whether one is set.
func parsePMQoSResumeLatency(s string) (limitUs uint64, set bool, err error) {
	s = strings.TrimSpace(s)
	if s == "n/a" {
		return 0, true, nil
	}
	v, err := parseUint(s)
	if err != nil {
		return 0, false, err
	}
	return v, v != 0, nil
}

// procStat holds the fields of /proc/<pid>/task/<tid>/stat that sysprep
// needs. procfs's Proc.Stat scans all 44 fields with fmt.Fscan and panics
// on a line cut short after the command name; sysprep reads this file for
// every thread of the box, so it parses the four fields it needs itself.
type procStat struct {
	Comm           string
	Flags          uint
	NumThreads     uint
	RTPrio, Policy uint
}

// parseStat parses a stat line: "pid (comm) state ppid ...", where comm
// may hold spaces and parentheses, so it ends at the last ')'.
func parseStat(s string) (procStat, error) {
	l, r := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if l < 0 || r < l {
		return procStat{}, fmt.Errorf("no (comm) field: %w", ErrMalformed)
	}
	st := procStat{Comm: s[l+1 : r]}
	f := strings.Fields(s[r+1:])
	// After comm: state is field 3 of stat(5), so field n is f[n-3].
	const flags, numThreads, rtprio, policy = 9, 20, 40, 41
	if len(f) < policy-2 {
		return procStat{}, fmt.Errorf("%d fields after comm, want at least %d: %w", len(f), policy-2, ErrMalformed)
	}
	for _, x := range []struct {
		n   int
		dst *uint
	}{{flags, &st.Flags}, {numThreads, &st.NumThreads}, {rtprio, &st.RTPrio}, {policy, &st.Policy}} {
		v, err := strconv.ParseUint(f[x.n-3], 10, 32)
		if err != nil {
			return procStat{}, fmt.Errorf("stat field %d %s is not a number: %w", x.n, quote(f[x.n-3]), ErrMalformed)
		}
		*x.dst = uint(v)
	}
	return st, nil
}

// parseCPUFlags returns the feature flags of the first processor in
// /proc/cpuinfo: the "flags" line on x86, "Features" on arm.
func parseCPUFlags(s string) ([]string, error) {
	for line := range strings.SplitSeq(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "flags", "Features":
			return strings.Fields(v), nil
		}
	}
	return nil, fmt.Errorf("no flags or Features line: %w", ErrMalformed)
}

// parseCPUModel returns the "model name" of the first processor in
// /proc/cpuinfo, or "" when there is none (arm64 lists no model name).
func parseCPUModel(s string) string {
	for line := range strings.SplitSeq(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// parseSysctlInt parses a sysctl file holding one integer.
func parseSysctlInt(s string) (int, error) {
	f := strings.Fields(s)
	if len(f) != 1 {
		return 0, fmt.Errorf("%d values in %s, want 1: %w", len(f), quote(s), ErrMalformed)
	}
	v, err := strconv.Atoi(f[0])
	if err != nil {
		return 0, fmt.Errorf("%s is not an integer: %w", quote(f[0]), ErrMalformed)
	}
	return v, nil
}

// limits are the soft limits of /proc/<pid>/limits sysprep needs;
// unlimited is math.MaxUint64.
type limits struct {
	RealtimePriority uint64
	LockedMemory     uint64
}

// parseLimits parses /proc/<pid>/limits ("Max realtime priority  0  0").
func parseLimits(s string) (limits, error) {
	var l limits
	found := 0
	for line := range strings.SplitSeq(s, "\n") {
		var dst *uint64
		var rest string
		switch {
		case strings.HasPrefix(line, "Max realtime priority "):
			dst, rest = &l.RealtimePriority, strings.TrimPrefix(line, "Max realtime priority ")
		case strings.HasPrefix(line, "Max locked memory "):
			dst, rest = &l.LockedMemory, strings.TrimPrefix(line, "Max locked memory ")
		default:
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			return limits{}, fmt.Errorf("line %s has no soft and hard limit: %w", quote(line), ErrMalformed)
		}
		if f[0] == "unlimited" {
			*dst = math.MaxUint64
		} else {
			v, err := strconv.ParseUint(f[0], 10, 64)
			if err != nil {
				return limits{}, fmt.Errorf("soft limit %s is not a number: %w", quote(f[0]), ErrMalformed)
			}
			*dst = v
		}
		found++
	}
	if found != 2 {
		return limits{}, fmt.Errorf("no \"Max realtime priority\" or \"Max locked memory\" line: %w", ErrMalformed)
	}
	return l, nil
}

// swap is one line of /proc/swaps.
type swap struct {
	Filename, Type string
	SizeKiB        uint64
}

// parseSwaps parses /proc/swaps.
func parseSwaps(s string) ([]swap, error) {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "Filename") {
		return nil, fmt.Errorf("no header line: %w", ErrMalformed)
	}
	var out []swap
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < 5 {
			return nil, fmt.Errorf("line %s, want 5 fields: %w", quote(line), ErrMalformed)
		}
		n, err := strconv.ParseUint(f[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("size %s is not a number: %w", quote(f[2]), ErrMalformed)
		}
		out = append(out, swap{Filename: f[0], Type: f[1], SizeKiB: n})
	}
	return out, nil
}

// parseInterruptSummary counts the numbered lines of /proc/interrupts and
// returns those with two or more actions ("ahci, eth1" at the end), without
// parsing the per-CPU counts. A count never contains ", ".
func parseInterruptSummary(b string) (interruptSummary, error) {
	sum := interruptSummary{shared: map[int]string{}}
	first := true
	for line := range strings.SplitSeq(b, "\n") {
		if first {
			first = false
			if !strings.Contains(line, "CPU") {
				return interruptSummary{}, fmt.Errorf("header %s names no CPU: %w", quote(line), ErrMalformed)
			}
			continue
		}
		t := strings.TrimLeft(line, " ")
		label, _, ok := strings.Cut(t, ":")
		if !ok {
			if strings.TrimSpace(t) != "" {
				return interruptSummary{}, fmt.Errorf("line %s has no label: %w", quote(line), ErrMalformed)
			}
			continue
		}
		n, err := strconv.Atoi(label)
		if err != nil {
			continue // NMI, LOC, ERR...
		}
		sum.numbered++
		if strings.Contains(line, ", ") {
			sum.shared[n] = line
		}
	}
	return sum, nil
}
