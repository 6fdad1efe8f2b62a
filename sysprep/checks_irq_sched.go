package sysprep

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// irqAllowed reports whether --allow-irq names q, by number or by a glob
// over its action names.
func irqAllowed(env Env, q *IRQ, allow []string) bool {
	for _, a := range allow {
		if a == strconv.Itoa(q.Number) {
			return true
		}
	}
	if len(allow) == 0 || env.loadActions(q) != nil {
		return false
	}
	for _, a := range allow {
		for _, act := range q.Actions {
			if ok, _ := path.Match(a, act); ok {
				return true
			}
		}
	}
	return false
}

func checkIRQAffinity(env Env, o resolved) Result {
	irqs, err := env.irqs()
	if err != nil {
		return skip(env, err)
	}
	// The IRQ lines in use come from a light scan of /proc/interrupts;
	// the per-CPU counts are parsed only for an IRQ on an RT CPU.
	sum, inErr := env.interruptSummary()
	var movable, managed []int
	var bad, allowed []string
	active := len(irqs)
	if inErr == nil {
		active = sum.numbered
	}
	for i := range irqs {
		q := &irqs[i]
		onRT := q.Affinity.intersects(o.rt) || (q.HasEffective && q.Effective.intersects(o.rt))
		if !onRT {
			continue
		}
		if err := env.loadActions(q); err != nil {
			if notExist(err) {
				continue // freed while we read
			}
			return skip(env, err)
		}
		if len(q.Actions) == 0 {
			continue // no handler: cannot fire
		}
		desc := fmt.Sprintf("IRQ %d %s (smp_affinity %s", q.Number, q.Name(), q.Affinity)
		if q.HasEffective {
			desc += ", effective " + orNone(q.Effective.String())
		}
		if in, err := env.interrupts(); inErr == nil && err == nil {
			if n, ok := in.onCPUs(strconv.Itoa(q.Number), o.rt); ok && n > 0 {
				desc += fmt.Sprintf(", %d on RT CPUs", n)
			}
		}
		if q.Managed != "" {
			desc += ", " + q.Managed + ": the kernel places it, it cannot be moved"
		}
		desc += ")"
		if irqAllowed(env, q, o.AllowIRQs) {
			allowed = append(allowed, desc)
			continue
		}
		bad = append(bad, desc)
		if q.Managed != "" {
			managed = append(managed, q.Number)
		} else {
			movable = append(movable, q.Number)
		}
	}
	r := Result{Expected: fmt.Sprintf("no IRQ but --allow-irq ones with RT %s in smp_affinity or effective_affinity", cpuWord(o.rt))}
	suffix := ""
	if len(allowed) > 0 {
		suffix = "; allowed: " + strings.Join(allowed, "; ")
	}
	if len(bad) == 0 {
		r.Status = Pass
		r.Observed = fmt.Sprintf("%d IRQs in use, none on RT %s%s", active, cpuWord(o.rt), suffix)
		return r
	}
	listed := bad
	if len(listed) > maxListed {
		listed = append(slices.Clone(bad[:maxListed]), fmt.Sprintf("and %d more", len(bad)-maxListed))
	}
	r.Observed = fmt.Sprintf("%d of %d IRQs can run on RT %s: %s%s", len(bad), active, cpuWord(o.rt), strings.Join(listed, "; "), suffix)
	var fixes []string
	if len(movable) > 0 {
		r.Status = Fail
		fixes = append(fixes, forLoop(movable, fmt.Sprintf("echo %s > %s/irq/$n/smp_affinity_list", o.hk, DefaultProcRoot)))
		fixes = append(fixes, bootParams(env, &r, "irqaffinity="+o.hk.String()))
	} else {
		r.Status = Warn
	}
	if len(managed) > 0 {
		fixes = append(fixes, "# managed IRQs move only at boot, with isolcpus=managed_irq:\n"+bootParams(env, &r, isolationArgs(o)[0]))
	}
	r.Remedy = strings.Join(fixes, "\n")
	return r
}

// maskCheck reads the cpumask file p and judges whether it keeps off the
// RT CPUs. It returns the result with Observed and Expected filled in,
// and whether the mask includes an RT CPU; the caller then sets the
// status and remedy. An unreadable or malformed file is a skip.
func maskCheck(env Env, o resolved, p, label string) (Result, bool) {
	s, err := readFile(p)
	if err != nil {
		return skip(env, err), false
	}
	m, err := parseCPUMask(s)
	if err != nil {
		return skip(env, parseErr(p, err)), false
	}
	r := Result{
		Observed: fmt.Sprintf("%s %s (CPUs %s)", label, trimmed(s), orNone(m.String())),
		Expected: fmt.Sprintf("excludes RT %s: mask %s (housekeeping CPUs %s)", cpuWord(o.rt), o.hk.mask(), o.hk),
	}
	if !m.intersects(o.rt) {
		r.Status = Pass
		return r, false
	}
	return r, true
}

func checkIRQDefaultAffinity(env Env, o resolved) Result {
	r, onRT := maskCheck(env, o, env.procPath("irq", "default_smp_affinity"), "default_smp_affinity")
	if !onRT {
		return r
	}
	r.Status = Fail
	r.Remedy = fmt.Sprintf("echo %s > %s/irq/default_smp_affinity\n%s", o.hk.mask(), DefaultProcRoot, bootParams(env, &r, "irqaffinity="+o.hk.String()))
	return r
}

func checkIRQBalance(env Env, o resolved) Result {
	ths, err := env.threads()
	if err != nil {
		return skip(env, err)
	}
	var pids []int
	for _, t := range ths {
		if t.PID == t.TID && t.Comm == "irqbalance" && !t.kthread() {
			pids = append(pids, t.PID)
		}
	}
	r := Result{Expected: "irqbalance not running, or IRQBALANCE_BANNED_CPULIST covering RT " + cpuWord(o.rt)}
	if len(pids) == 0 {
		r.Status, r.Observed = Pass, "irqbalance is not running"
		return r
	}
	var banned cpuSet
	var how []string
	for _, pid := range pids {
		envv, err := env.environ(pid)
		if err != nil {
			how = append(how, fmt.Sprintf("environment of pid %d unreadable", pid))
			continue
		}
		for _, kv := range envv {
			k, v, _ := strings.Cut(kv, "=")
			var s cpuSet
			var err error
			switch k {
			case "IRQBALANCE_BANNED_CPULIST":
				s, err = parseCPUList(v)
			case "IRQBALANCE_BANNED_CPUS":
				s, err = parseCPUMask(v)
			default:
				continue
			}
			if err == nil {
				banned = banned.or(s)
				how = append(how, quote(kv))
			}
		}
	}
	r.Observed = fmt.Sprintf("irqbalance running (pid %s)", joinInts(pids))
	if len(how) > 0 {
		r.Observed += ", " + strings.Join(how, ", ")
	}
	if o.rt.subsetOf(banned) {
		r.Status = Pass
		return r
	}
	fix := fmt.Sprintf("echo 'IRQBALANCE_BANNED_CPULIST=%s' >> /etc/default/irqbalance && systemctl restart irqbalance\n"+
		"# or instead: systemctl disable --now irqbalance, and pin the IRQs yourself (irq.affinity)", o.rt)
	iso, _ := env.isolatedCPUs()
	nz, _, _ := env.nohzFull()
	if o.rt.subsetOf(iso.or(nz)) {
		r.Status = Warn
		r.Observed += "; it does not ban the RT CPUs explicitly (irqbalance ≥ 1.8 skips isolated and nohz_full CPUs, older ones do not)"
	} else {
		r.Status = Fail
		r.Observed += "; it may move IRQs onto RT " + cpuWord(o.rt.andNot(banned))
	}
	r.Remedy = fix
	return r
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

func checkRTRuntime(env Env, o resolved) Result {
	rt, err := env.sysctlInt("kernel.sched_rt_runtime_us")
	if err != nil {
		return skip(env, err)
	}
	period, err := env.sysctlInt("kernel.sched_rt_period_us")
	if err != nil {
		return skip(env, err)
	}
	r := Result{
		Observed: fmt.Sprintf("kernel.sched_rt_runtime_us = %d, kernel.sched_rt_period_us = %d", rt, period),
		Expected: "kernel.sched_rt_runtime_us = -1 (no RT throttling)",
	}
	if rt < 0 || rt >= period {
		r.Status = Pass
		return r
	}
	r.Status = Warn
	r.Observed += fmt.Sprintf(": RT tasks are throttled after %d µs of every %d µs, so a busy RT loop stalls for %d µs", rt, period, period-rt)
	r.Remedy = sysctlRemedy("kernel.sched_rt_runtime_us", "-1")
	return r
}

func checkTimerMigration(env Env, o resolved) Result {
	v, err := env.sysctlInt("kernel.timer_migration")
	if err != nil {
		return skip(env, err)
	}
	r := Result{Observed: fmt.Sprintf("kernel.timer_migration = %d", v), Expected: "kernel.timer_migration = 0: timers stay on the CPU that armed them"}
	if v == 0 {
		r.Status = Pass
		return r
	}
	r.Status = Warn
	r.Remedy = sysctlRemedy("kernel.timer_migration", "0")
	return r
}

// maxListed bounds how many processes a result names.
const maxListed = 12

// threadProc is a process with threads that may run on an RT CPU.
type threadProc struct {
	pid, n  int
	name    string
	kthread bool
}

func checkThreads(env Env, o resolved) Result {
	ths, err := env.threads()
	if err != nil {
		return skip(env, err)
	}
	self, _ := env.selfPID()
	var procs []*threadProc
	byPID := map[int]*threadProc{}
	total := 0
	for _, t := range ths {
		if t.PID == self || t.Allowed.empty() || !t.Allowed.intersects(o.rt) {
			continue
		}
		if t.kthread() && (t.Flags&pfNoSetaffinity != 0 || strings.HasPrefix(t.Comm, "irq/")) {
			continue // per-CPU kthread, or an IRQ thread (irq.affinity)
		}
		total++
		p := byPID[t.PID]
		if p == nil {
			p = &threadProc{pid: t.PID, kthread: t.kthread()}
			byPID[t.PID] = p
			procs = append(procs, p)
		}
		if t.TID == t.PID || p.name == "" {
			p.name = t.Comm
		}
		p.n++
	}
	r := Result{Expected: fmt.Sprintf("no movable thread allowed on RT %s (per-CPU kthreads excluded)", cpuWord(o.rt))}
	if total == 0 {
		r.Status = Pass
		r.Observed = fmt.Sprintf("%d threads checked, none movable on RT %s", len(ths), cpuWord(o.rt))
		return r
	}
	var names []string
	for i, p := range procs {
		if i >= maxListed {
			continue
		}
		s := fmt.Sprintf("%s (pid %d", p.name, p.pid)
		if p.n > 1 {
			s += fmt.Sprintf(", %d threads", p.n)
		}
		if p.kthread {
			s += ", kernel"
		}
		names = append(names, s+")")
	}
	if len(procs) > maxListed {
		names = append(names, fmt.Sprintf("and %d more", len(procs)-maxListed))
	}
	r.Status = Warn
	r.Observed = fmt.Sprintf("%d threads in %d processes may run on RT %s: %s", total, len(procs), cpuWord(o.rt), strings.Join(names, ", "))
	r.Remedy = threadsRemedy(env, o, ths, procs)
	return r
}

// threadsRemedy keeps new and existing tasks off the RT CPUs without a
// PID list: systemd's slices get the housekeeping CPUs (AllowedCPUs, a
// cgroup v2 cpuset that covers every process systemd starts), and the
// long-lived threads found are moved by name.
func threadsRemedy(env Env, o resolved, ths []thread, procs []*threadProc) string {
	hk := o.hk.String()
	systemd := false
	for _, t := range ths {
		if t.PID == 1 && t.TID == 1 && t.Comm == "systemd" {
			systemd = true
		}
	}
	var lines []string
	switch {
	case systemd && env.cgroupV2():
		for _, unit := range []string{"system.slice", "user.slice", "init.scope"} {
			lines = append(lines, fmt.Sprintf("systemctl set-property --runtime %s AllowedCPUs=%s", unit, hk))
		}
		lines = append(lines, fmt.Sprintf("# to keep it across reboots, run the same without --runtime, or set CPUAffinity=%s in /etc/systemd/system.conf", strings.ReplaceAll(hk, ",", " ")))
	case systemd:
		lines = append(lines, fmt.Sprintf("# cgroup v1: set CPUAffinity=%s in /etc/systemd/system.conf, then systemctl daemon-reexec (services started later keep off the RT CPUs)", strings.ReplaceAll(hk, ",", " ")))
	default:
		lines = append(lines, "# no systemd: start services with taskset -c "+hk+", or keep new tasks off the RT CPUs with isolcpus=domain (cpu.isolated)")
	}
	seen := map[string]bool{}
	var names []string
	for _, p := range procs {
		c, kernel := p.name, p.kthread
		if c == "" || seen[c] || escape(c, false) != c || (kernel && !movableKthread(c)) {
			continue
		}
		seen[c] = true
		names = append(names, c)
	}
	if len(names) > maxListed {
		names = names[:maxListed]
	}
	if len(names) > 0 {
		lines = append(lines, "# move the threads running now, by name:")
		for _, n := range names {
			lines = append(lines, fmt.Sprintf("pgrep -x %s | xargs -r -n1 taskset -a -p -c %s", shq(regexp.QuoteMeta(n)), hk))
		}
	}
	return strings.Join(lines, "\n")
}

// movableKthread reports whether a kernel thread found on the RT CPUs is
// one that lives long and may be moved (unbound workers come and go).
func movableKthread(comm string) bool {
	return !strings.HasPrefix(comm, "kworker/")
}

// kthreadPrefixes name the kernel threads the RT task competes with.
var kthreadPrefixes = []string{"irq/", "ktimers/", "ksoftirqd/", "rcuc/", "rcub/"}

func checkKthreadPriorities(env Env, o resolved) Result {
	ths, err := env.threads()
	if err != nil {
		return skip(env, err)
	}
	irqs, _ := env.irqs()
	allowedIRQ := map[int]bool{}
	for i := range irqs {
		if irqAllowed(env, &irqs[i], o.AllowIRQs) {
			allowedIRQ[irqs[i].Number] = true
		}
	}
	var seen, above, starved []string
	var starvedTIDs []int
	for _, t := range ths {
		if !t.kthread() || !t.Allowed.intersects(o.rt) || !slices.ContainsFunc(kthreadPrefixes, func(p string) bool { return strings.HasPrefix(t.Comm, p) }) {
			continue
		}
		desc := fmt.Sprintf("%s %s", t.Comm, policyName(t.Policy))
		rtPolicy := t.Policy == schedFIFO || t.Policy == schedRR
		if rtPolicy {
			desc += " " + strconv.Itoa(int(t.RTPrio))
		}
		seen = append(seen, desc)
		isAllowedIRQ := allowedIRQ[irqThreadNumber(t.Comm)]
		switch {
		case isAllowedIRQ && (!rtPolicy || int(t.RTPrio) <= o.Priority):
			starved = append(starved, desc)
			starvedTIDs = append(starvedTIDs, t.TID)
		case !isAllowedIRQ && rtPolicy && int(t.RTPrio) >= o.Priority:
			above = append(above, desc)
		}
	}
	r := Result{Expected: fmt.Sprintf("priority 1..98, above the kernel threads on RT %s, below the threads of --allow-irq IRQs", cpuWord(o.rt))}
	obs := fmt.Sprintf("planned SCHED_FIFO %d", o.Priority)
	if len(seen) > 0 {
		obs += "; on RT CPUs: " + strings.Join(seen, ", ")
	} else {
		obs += "; no irq, ktimers, ksoftirqd or rcuc threads may run on the RT CPUs"
	}
	r.Observed = obs
	r.Status = Pass
	var fixes []string
	if o.Priority >= 99 {
		r.Status = Warn
		r.Observed += "; 99 is the level of migration and watchdog kthreads, which the RT task would starve"
		fixes = append(fixes, "# plan priority 98 or lower: priority = 98 in the runner config, and sysprep --priority 98")
	}
	if len(above) > 0 {
		r.Status = Warn
		r.Observed += "; at or above the plan: " + strings.Join(above, ", ")
		fixes = append(fixes, fmt.Sprintf("# raise the planned priority above %s, or move those IRQs off the RT CPUs (irq.affinity)", strings.Join(above, ", ")))
	}
	if len(starved) > 0 {
		r.Status = Warn
		r.Observed += "; allowed IRQ threads the RT task would starve: " + strings.Join(starved, ", ")
		fixes = append(fixes, forLoop(starvedTIDs, fmt.Sprintf("chrt -f -p %d $n", min(o.Priority+1, 99))))
	}
	r.Remedy = strings.Join(fixes, "\n")
	return r
}

func checkWorkqueue(env Env, o resolved) Result {
	r, onRT := maskCheck(env, o, env.sysPath("devices", "virtual", "workqueue", "cpumask"), "workqueue cpumask")
	if !onRT {
		return r
	}
	r.Status = Warn
	r.Remedy = sysfsRemedy(DefaultSysRoot+"/devices/virtual/workqueue/cpumask", o.hk.mask()) +
		"\n" + bootParams(env, &r, "workqueue.unbound_cpus="+o.hk.String())
	return r
}
