package sysprep

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/rtcell/rtcell/rt/probe"
)

// facts caches what several checks read, for one Run.
type facts struct{ memo map[string]any }

func newFacts() *facts { return &facts{memo: map[string]any{}} }

type memoized[T any] struct {
	v   T
	err error
}

// cached returns the result of f, computed once per Env cache.
func cached[T any](e Env, key string, f func() (T, error)) (T, error) {
	if e.facts == nil {
		return f()
	}
	if m, ok := e.facts.memo[key].(memoized[T]); ok {
		return m.v, m.err
	}
	v, err := f()
	e.facts.memo[key] = memoized[T]{v, err}
	return v, err
}

// Host identity, from <proc>/sys/kernel so that fixtures carry their own.

func (e Env) sysctlString(name string) (string, error) {
	s, err := e.readProc("sys", "kernel", name)
	return trimmed(s), err
}

// Host reads the box's identity: hostname, kernel release and version
// and machine from <proc>/sys/kernel, the online CPUs, the CPU model
// (<proc>/cpuinfo), the kernel command line (<proc>/cmdline) and the
// board's DMI identity (<sys>/class/dmi/id). A file that is missing or
// unreadable leaves its field empty: it is never an error. Every field
// is escaped (control characters and invalid UTF-8 as Go escapes) and
// capped, so it can be printed as it is. Host.RTCPUs is left empty; Run
// fills it.
func (e Env) Host() Host { return e.host() }

func (e Env) host() Host {
	h, _ := cached(e, "host", func() (Host, error) {
		var h Host
		h.Hostname, _ = e.sysctlString("hostname")
		h.KernelRelease, _ = e.sysctlString("osrelease")
		h.KernelVersion, _ = e.sysctlString("version")
		h.Machine, _ = e.sysctlString("arch")
		if s, err := e.readProc("cpuinfo"); err == nil {
			h.CPUModel = parseCPUModel(s)
		}
		if s, err := e.readProc("cmdline"); err == nil {
			h.Cmdline = trimmed(s)
		}
		for _, d := range []struct {
			name string
			f    *string
		}{{"sys_vendor", &h.Vendor}, {"product_name", &h.Product}, {"bios_version", &h.BIOSVersion}, {"bios_date", &h.BIOSDate}} {
			// Absent on boards without DMI and in containers: left empty.
			*d.f, _ = e.readSys("class", "dmi", "id", d.name)
			*d.f = trimmed(*d.f)
		}
		for _, f := range []*string{&h.Hostname, &h.KernelRelease, &h.KernelVersion, &h.Machine,
			&h.CPUModel, &h.Vendor, &h.Product, &h.BIOSVersion, &h.BIOSDate} {
			*f = clip(escape(*f, false), maxHostFieldBytes)
		}
		h.Cmdline = clip(escape(h.Cmdline, false), maxCmdlineBytes)
		if h.Machine == "" && e.live {
			if u, err := probe.Uname(); err == nil {
				h.Machine = u.Machine
			}
		}
		if on, err := e.onlineCPUs(); err == nil {
			h.CPUs = on.String()
		}
		return h, nil
	})
	return h
}

func (e Env) cpuListFile(name string) (cpuSet, error) {
	return cached(e, "cpulist:"+name, func() (cpuSet, error) {
		p := e.sysPath("devices", "system", "cpu", name)
		s, err := readFile(p)
		if err != nil {
			return cpuSet{}, err
		}
		set, err := parseCPUList(s)
		if err != nil {
			return cpuSet{}, parseErr(p, err)
		}
		return set, nil
	})
}

func (e Env) onlineCPUs() (cpuSet, error) {
	on, err := e.cpuListFile("online")
	if err == nil && on.empty() {
		return on, fmt.Errorf("%s lists no CPU: %w", e.sysPath("devices", "system", "cpu", "online"), ErrMalformed)
	}
	return on, err
}

func (e Env) possibleCPUs() cpuSet {
	if p, err := e.cpuListFile("possible"); err == nil && !p.empty() {
		return p
	}
	on, _ := e.onlineCPUs()
	return on
}

func (e Env) cmdline() (cmdline, error) {
	return cached(e, "cmdline", func() (cmdline, error) {
		s, err := e.readProc("cmdline")
		if err != nil {
			return nil, err
		}
		return parseCmdline(strings.Fields(s)), nil
	})
}

func (e Env) isolatedCPUs() (cpuSet, error) { return e.cpuListFile("isolated") }

// cpuFile reads a one-line file of CPU n, such as "topology/thread_siblings_list".
func (e Env) cpuFile(n int, name ...string) (string, string, error) {
	p := e.sysPath(append([]string{"devices", "system", "cpu", "cpu" + strconv.Itoa(n)}, name...)...)
	s, err := readFile(p)
	return trimmed(s), p, err
}

// clockSource is /sys/devices/system/clocksource/clocksource0.
type clockSource struct {
	Current   string
	Available []string
}

func (e Env) clockSource() (clockSource, error) {
	dir := e.sysPath("devices", "system", "clocksource", "clocksource0")
	cur, err := readFile(filepath.Join(dir, "current_clocksource"))
	if err != nil {
		return clockSource{}, err
	}
	av, err := readFile(filepath.Join(dir, "available_clocksource"))
	if err != nil {
		return clockSource{}, err
	}
	if trimmed(cur) == "" {
		return clockSource{}, parseErr(filepath.Join(dir, "current_clocksource"), fmt.Errorf("empty: %w", ErrMalformed))
	}
	return clockSource{Current: trimmed(cur), Available: strings.Fields(av)}, nil
}

// nohzFull returns the nohz_full CPUs; present is false when the kernel
// lacks CONFIG_NO_HZ_FULL (no sysfs file).
func (e Env) nohzFull() (set cpuSet, present bool, err error) {
	p := e.sysPath("devices", "system", "cpu", "nohz_full")
	s, err := readFile(p)
	if notExist(err) {
		return cpuSet{}, false, nil
	}
	if err != nil {
		return cpuSet{}, false, err
	}
	set, err = parseNohzFull(s)
	if err != nil {
		return cpuSet{}, true, parseErr(p, err)
	}
	return set, true, nil
}

// kernelConfig reads /proc/config.gz, else <boot>/config-<release>.
func (e Env) kernelConfig() (cfg kernelConfig, source string, err error) {
	type res struct {
		cfg kernelConfig
		src string
	}
	r, err := cached(e, "kconfig", func() (res, error) {
		gz := e.procPath("config.gz")
		f, err := openRegular(gz)
		if err != nil && !notExist(err) {
			return res{}, fmt.Errorf("reading %s: %w", gz, err)
		}
		if err == nil {
			defer f.Close()
			zr, err := gzip.NewReader(f)
			if err != nil {
				return res{}, parseErr(gz, fmt.Errorf("%w: %w", ErrMalformed, err))
			}
			b, err := io.ReadAll(io.LimitReader(zr, maxConfigBytes+1))
			if err != nil {
				return res{}, parseErr(gz, fmt.Errorf("%w: %w", ErrMalformed, err))
			}
			if len(b) > maxConfigBytes {
				return res{}, parseErr(gz, fmt.Errorf("more than %d bytes decompressed: %w", maxConfigBytes, ErrMalformed))
			}
			c, err := parseKernelConfig(b)
			if err != nil {
				return res{}, parseErr(gz, err)
			}
			return res{c, gz}, nil
		}
		rel := e.host().KernelRelease
		if rel == "" {
			return res{}, fmt.Errorf("no %s and no kernel release to find %s/config-<release>: %w", gz, e.BootRoot, os.ErrNotExist)
		}
		p := filepath.Join(e.BootRoot, "config-"+rel)
		s, err := readFile(p)
		if err != nil {
			return res{}, fmt.Errorf("no %s (CONFIG_IKCONFIG_PROC) and %w", gz, err)
		}
		c, err := parseKernelConfig([]byte(s))
		if err != nil {
			return res{}, parseErr(p, err)
		}
		return res{c, p}, nil
	})
	return r.cfg, r.src, err
}

// IRQ is one interrupt line from /proc/irq/<n>.
type IRQ struct {
	Number int
	// Actions are the names of the registered handlers (the
	// subdirectories of /proc/irq/<n>); an IRQ without one cannot fire.
	Actions []string
	// Affinity is smp_affinity, Effective is effective_affinity (absent
	// on some architectures).
	Affinity, Effective cpuSet
	HasEffective        bool
	// Managed is "managed" when debugfs says the kernel manages the
	// affinity (it cannot be changed from user space), "likely managed"
	// when the action name is one of a multiqueue driver that uses
	// managed affinity, "" otherwise.
	Managed string
	loaded  bool // Actions and Managed are read (Env.loadActions)
}

// Name is the action names joined, as /proc/interrupts prints them.
func (q IRQ) Name() string { return strings.Join(q.Actions, ", ") }

func (e Env) irqs() ([]IRQ, error) {
	return cached(e, "irqs", func() ([]IRQ, error) {
		dir := e.procPath("irq")
		ents, err := readDir(dir)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", dir, err)
		}
		var nums []int
		for _, ent := range ents {
			n, err := strconv.Atoi(ent.Name())
			if err != nil || !ent.IsDir() {
				continue
			}
			nums = append(nums, n)
		}
		qs := make([]IRQ, len(nums))
		errs := make([]error, len(nums))
		forEachParallel(len(nums), func(i int) { qs[i], errs[i] = e.readIRQ(nums[i]) })
		var out []IRQ
		for i := range nums {
			if errs[i] != nil {
				if notExist(errs[i]) {
					continue // freed while we read
				}
				return nil, errs[i]
			}
			out = append(out, qs[i])
		}
		slices.SortFunc(out, func(a, b IRQ) int { return a.Number - b.Number })
		return out, nil
	})
}

// likelyManaged matches action names of drivers that spread their queue
// interrupts with managed affinity (pci_alloc_irq_vectors_affinity):
// NVMe and virtio block/SCSI queues.
func likelyManaged(action string) bool {
	switch {
	case strings.HasPrefix(action, "nvme") && strings.Contains(action, "q"):
		return true
	case strings.HasPrefix(action, "virtio") && (strings.Contains(action, "-req.") || strings.Contains(action, "-request")):
		return true
	}
	return false
}

func (e Env) readIRQ(n int) (IRQ, error) {
	q := IRQ{Number: n}
	dir := e.procPath("irq", strconv.Itoa(n))
	p := filepath.Join(dir, "smp_affinity")
	s, err := readFile(p)
	if err != nil {
		return IRQ{}, err
	}
	if q.Affinity, err = parseCPUMask(s); err != nil {
		return IRQ{}, parseErr(p, err)
	}
	p = filepath.Join(dir, "effective_affinity")
	if s, err := readFile(p); err == nil {
		if q.Effective, err = parseCPUMask(s); err != nil {
			return IRQ{}, parseErr(p, err)
		}
		q.HasEffective = true
	}
	return q, nil
}

// loadActions fills q.Actions and q.Managed. It lists /proc/irq/<n>, so
// callers load them only for the IRQs they report on: on a box with
// thousands of IRQs the listing would dominate a run.
func (e Env) loadActions(q *IRQ) error {
	if q.loaded {
		return nil
	}
	dir := e.procPath("irq", strconv.Itoa(q.Number))
	ents, err := readDir(dir)
	if err != nil {
		return fmt.Errorf("listing %s: %w", dir, err)
	}
	q.Actions = nil
	for _, ent := range ents {
		if ent.IsDir() {
			q.Actions = append(q.Actions, ent.Name())
		}
	}
	q.Managed = ""
	if !e.irqDebugfs() {
		for _, a := range q.Actions {
			if likelyManaged(a) {
				q.Managed = "likely managed"
			}
		}
	} else if st, err := readFile(e.sysPath("kernel", "debug", "irq", "irqs", strconv.Itoa(q.Number))); err == nil && strings.Contains(st, "IRQD_AFFINITY_MANAGED") {
		q.Managed = "managed"
	}
	q.loaded = true
	return nil
}

// irqDebugfs reports whether debugfs shows IRQ state
// (CONFIG_GENERIC_IRQ_DEBUGFS, debugfs mounted and readable).
func (e Env) irqDebugfs() bool {
	ok, _ := cached(e, "irqdebugfs", func() (bool, error) {
		_, err := os.Stat(e.sysPath("kernel", "debug", "irq", "irqs"))
		return err == nil, nil
	})
	return ok
}

// interruptSummary is a light scan of /proc/interrupts: how many numbered
// IRQ lines it has, and the lines of those shared by two or more actions.
type interruptSummary struct {
	numbered int
	shared   map[int]string
}

func (e Env) interruptSummary() (interruptSummary, error) {
	return cached(e, "interruptsummary", func() (interruptSummary, error) {
		p := e.procPath("interrupts")
		b, err := e.interruptsFile()
		if err != nil {
			return interruptSummary{}, err
		}
		sum, err := parseInterruptSummary(b)
		if err != nil {
			return interruptSummary{}, parseErr(p, err)
		}
		return sum, nil
	})
}

// interruptsFile is the content of /proc/interrupts, read once per run.
func (e Env) interruptsFile() (string, error) {
	return cached(e, "interruptsfile", func() (string, error) {
		p := e.procPath("interrupts")
		b, err := readCapped(p, maxInterruptsBytes)
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", p, err)
		}
		return b, nil
	})
}

func (e Env) interrupts() (interrupts, error) {
	return cached(e, "interrupts", func() (interrupts, error) {
		p := e.procPath("interrupts")
		b, err := e.interruptsFile()
		if err != nil {
			return interrupts{}, err
		}
		in, err := parseInterrupts(b)
		if err != nil {
			return interrupts{}, parseErr(p, err)
		}
		return in, nil
	})
}

// thread is one task from /proc/<pid>/task/<tid>.
type thread struct {
	PID, TID int
	Comm     string
	Flags    uint
	Policy   uint
	RTPrio   uint
	Allowed  cpuSet
}

// Task flags from include/linux/sched.h.
const (
	pfKthread       = 0x00200000
	pfNoSetaffinity = 0x04000000
)

// Scheduling policies from include/uapi/linux/sched.h.
const (
	schedOther = 0
	schedFIFO  = 1
	schedRR    = 2
)

func policyName(p uint) string {
	switch p {
	case schedOther:
		return "OTHER"
	case schedFIFO:
		return "FIFO"
	case schedRR:
		return "RR"
	case 3:
		return "BATCH"
	case 5:
		return "IDLE"
	case 6:
		return "DEADLINE"
	}
	return "policy" + strconv.Itoa(int(p))
}

func (t thread) kthread() bool { return t.Flags&pfKthread != 0 }

// selfPID is the PID /proc/self points to (sysprep itself, or the process
// that captured a fixture).
func (e Env) selfPID() (int, error) {
	return cached(e, "selfpid", func() (int, error) {
		p, err := e.Proc.Self()
		if err != nil {
			return 0, fmt.Errorf("resolving %s: %w", e.procPath("self"), err)
		}
		return p.PID, nil
	})
}

// threads lists every task of every process. Tasks that exit while it
// reads are skipped. A tree without <pid>/task directories (a minimal
// fixture) gives each process's main thread from <pid>/stat and status.
func (e Env) threads() ([]thread, error) {
	return cached(e, "threads", func() ([]thread, error) {
		pids, err := e.listPIDs(e.ProcRoot)
		if err != nil {
			return nil, err
		}
		irqs, _ := e.irqs()
		byNum := make(map[int]IRQ, len(irqs))
		for _, q := range irqs {
			byNum[q.Number] = q
		}
		// Processes are read on all CPUs the run may use: on a box with
		// thousands of tasks the open/read/close calls are most of a run.
		type procThreads struct {
			ths []thread
			err error
		}
		res := make([]procThreads, len(pids))
		forEachParallel(len(pids), func(i int) {
			res[i].ths, res[i].err = e.processThreads(pids[i], byNum)
		})
		var out []thread
		for _, r := range res {
			if r.err != nil {
				return nil, r.err
			}
			out = append(out, r.ths...)
		}
		slices.SortFunc(out, func(a, b thread) int {
			if a.PID != b.PID {
				return a.PID - b.PID
			}
			return a.TID - b.TID
		})
		return out, nil
	})
}

// processThreads reads the tasks of process pid; a process that exits
// while it reads gives none.
func (e Env) processThreads(pid int, byNum map[int]IRQ) ([]thread, error) {
	pdir := e.procPath(strconv.Itoa(pid))
	// A single-threaded process (most kthreads) is its own main
	// thread: read <pid>/stat and skip listing <pid>/task.
	th, n, err := e.readThread(pid, pid, pdir, byNum)
	if errors.Is(err, ErrMalformed) {
		return nil, err
	}
	if err == nil && n == 1 {
		return []thread{th}, nil
	}
	tids, err := e.listPIDs(filepath.Join(pdir, "task"))
	dirs := make([]string, len(tids))
	for i, t := range tids {
		dirs[i] = filepath.Join(pdir, "task", strconv.Itoa(t))
	}
	if err != nil {
		if errors.Is(err, ErrMalformed) {
			return nil, err
		}
		if _, serr := os.Lstat(pdir); serr != nil || !notExist(err) {
			return nil, nil // exited
		}
		tids, dirs = []int{pid}, []string{pdir}
	}
	var out []thread
	for i, tid := range tids {
		th, _, err := e.readThread(pid, tid, dirs[i], byNum)
		if err != nil {
			if notExist(err) || errors.Is(err, syscall.ESRCH) {
				continue
			}
			return nil, err
		}
		out = append(out, th)
	}
	return out, nil
}

// forEachParallel calls f(i) for each i in [0, n) on up to GOMAXPROCS
// goroutines (at most 8). f must only write its own index's results.
func forEachParallel(n int, f func(i int)) {
	w := min(runtime.GOMAXPROCS(0), 8, n)
	if w <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range w {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}

// readThread reads one task's stat and, when a check needs it, its
// allowed CPUs from status. An IRQ thread runs where its IRQ is routed
// (irq_thread_check_affinity), so its CPUs come from the IRQ; a per-CPU
// kthread that no check looks at is not read further.
// It also returns the task's num_threads field.
func (e Env) readThread(pid, tid int, dir string, irqs map[int]IRQ) (thread, uint, error) {
	statPath := filepath.Join(dir, "stat")
	b, err := readSmall(statPath)
	if err != nil {
		return thread{}, 0, fmt.Errorf("reading %s: %w", statPath, err)
	}
	st, err := parseStat(b)
	if err != nil {
		return thread{}, 0, parseErr(statPath, err)
	}
	th := thread{PID: pid, TID: tid, Comm: st.Comm, Flags: st.Flags, Policy: st.Policy, RTPrio: st.RTPrio}
	if th.kthread() {
		if q, ok := irqs[irqThreadNumber(th.Comm)]; ok {
			th.Allowed = q.Affinity
			if q.HasEffective && !q.Effective.empty() {
				th.Allowed = q.Effective // CONFIG_GENERIC_IRQ_EFFECTIVE_AFF_MASK
			}
			return th, st.NumThreads, nil
		}
		if th.Flags&pfNoSetaffinity != 0 && !slices.ContainsFunc(kthreadPrefixes, func(p string) bool { return strings.HasPrefix(th.Comm, p) }) {
			return th, st.NumThreads, nil
		}
	}
	statusPath := filepath.Join(dir, "status")
	b, err = readSmall(statusPath)
	if err != nil {
		return thread{}, 0, fmt.Errorf("reading %s: %w", statusPath, err)
	}
	ps, err := parseStatus(b)
	if err != nil {
		return thread{}, 0, parseErr(statusPath, err)
	}
	th.Allowed = ps.Allowed
	return th, st.NumThreads, nil
}

// irqThreadNumber returns N of an IRQ thread named "irq/N-name", or -1.
func irqThreadNumber(comm string) int {
	rest, ok := strings.CutPrefix(comm, "irq/")
	if !ok {
		return -1
	}
	num, _, _ := strings.Cut(rest, "-")
	n, err := strconv.Atoi(num)
	if err != nil {
		return -1
	}
	return n
}

// selfStatus reads <proc>/self/status: CapEff of the process that runs
// sysprep (or captured the fixture).
func (e Env) selfStatus() (procStatus, error) {
	return cached(e, "selfstatus", func() (procStatus, error) {
		p := e.procPath("self", "status")
		b, err := readSmall(p)
		if err != nil {
			return procStatus{}, fmt.Errorf("reading %s: %w", p, err)
		}
		s, err := parseStatus(b)
		if err != nil {
			return procStatus{}, parseErr(p, err)
		}
		if !s.HasCaps {
			return procStatus{}, parseErr(p, fmt.Errorf("no CapEff line: %w", ErrMalformed))
		}
		return s, nil
	})
}

// selfLimits reads the soft limits of <proc>/self/limits.
func (e Env) selfLimits() (limits, error) {
	return cached(e, "selflimits", func() (limits, error) {
		p := e.procPath("self", "limits")
		s, err := readFile(p)
		if err != nil {
			return limits{}, err
		}
		l, err := parseLimits(s)
		if err != nil {
			return limits{}, parseErr(p, err)
		}
		return l, nil
	})
}

// environ reads <proc>/<pid>/environ.
func (e Env) environ(pid int) ([]string, error) {
	s, err := e.readProc(strconv.Itoa(pid), "environ")
	if err != nil {
		return nil, err
	}
	var out []string
	for kv := range strings.SplitSeq(s, "\x00") {
		if kv != "" {
			out = append(out, kv)
		}
	}
	return out, nil
}

// cpuFlags returns the flags of the first CPU in /proc/cpuinfo.
// procfs's CPUInfo is built per GOARCH (and only on Linux), so it would
// misread an x86 fixture on an arm64 machine; sysprep needs one line.
func (e Env) cpuFlags() ([]string, error) {
	return cached(e, "cpuflags", func() ([]string, error) {
		p := e.procPath("cpuinfo")
		s, err := readFile(p)
		if err != nil {
			return nil, err
		}
		f, err := parseCPUFlags(s)
		if err != nil {
			return nil, parseErr(p, err)
		}
		return f, nil
	})
}

// listPIDs lists the numeric entries of a directory (<proc> or
// <proc>/<pid>/task), sorted.
func (e Env) listPIDs(dir string) ([]int, error) {
	ents, err := readDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	var out []int
	for _, ent := range ents {
		if n, err := strconv.Atoi(ent.Name()); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// sysctlPath is the file of a sysctl such as "kernel.timer_migration".
func (e Env) sysctlPath(name string) string {
	return e.procPath(append([]string{"sys"}, strings.Split(name, ".")...)...)
}

// sysctlInt reads one integer sysctl.
func (e Env) sysctlInt(name string) (int, error) {
	p := e.sysctlPath(name)
	s, err := readFile(p)
	if err != nil {
		return 0, err
	}
	v, err := parseSysctlInt(s)
	if err != nil {
		return 0, parseErr(p, err)
	}
	return v, nil
}
