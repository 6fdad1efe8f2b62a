package sysprep

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseCPUList(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []int
		wantErr bool
	}{
		{name: "empty", in: "", want: nil},
		{name: "newline only", in: "\n", want: nil},
		{name: "single", in: "3", want: []int{3}},
		{name: "range and single", in: "1-3,6\n", want: []int{1, 2, 3, 6}},
		{name: "unsorted duplicates", in: "6,1-2,2", want: []int{1, 2, 6}},
		{name: "stride", in: "0-7:2/4", want: []int{0, 1, 4, 5}},
		{name: "backwards", in: "3-1", wantErr: true},
		{name: "letters", in: "a-b", wantErr: true},
		{name: "trailing comma", in: "1,", wantErr: true},
		{name: "negative", in: "-1", wantErr: true},
		{name: "too large", in: "0-100000", wantErr: true},
		{name: "beyond NR_CPUS", in: "8192", wantErr: true},
		{name: "stride without range", in: "3:1/2", wantErr: true},
		{name: "bad stride", in: "0-7:5/4", wantErr: true},
		{name: "kernel N shorthand", in: "1-N", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCPUList(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("ParseCPUList(%q) = %v, %v; want ErrMalformed", tt.in, got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("ParseCPUList(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestFormatCPUList(t *testing.T) {
	for in, want := range map[string]string{"": "", "0": "0", "0,1,2,5,7,8": "0-2,5,7-8", "3,1,2": "1-3"} {
		set, err := parseCPUList(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := FormatCPUList(set.list()); got != want {
			t.Errorf("FormatCPUList(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseCPUMask(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []int
		wantErr bool
	}{
		{name: "two cpus", in: "3\n", want: []int{0, 1}},
		{name: "high cpu", in: "80", want: []int{7}},
		{name: "groups", in: "00000001,00000000", want: []int{32}},
		{name: "64 cpus", in: "ffffffff,00000000", want: func() []int {
			var l []int
			for c := 32; c < 64; c++ {
				l = append(l, c)
			}
			return l
		}()},
		{name: "zero", in: "0", want: nil},
		{name: "empty", in: "", wantErr: true},
		{name: "not hex", in: "zz", wantErr: true},
		{name: "empty group", in: "1,,2", wantErr: true},
		{name: "group too long", in: "1ffffffff", wantErr: true},
		{name: "sign", in: "+1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCPUMask(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("parseCPUMask(%q) = %v, %v; want ErrMalformed", tt.in, got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got.list(), tt.want) {
				t.Fatalf("parseCPUMask(%q) = %v, %v; want %v", tt.in, got.list(), err, tt.want)
			}
			if len(tt.want) > 0 {
				back, err := parseCPUMask(got.mask())
				if err != nil || !slices.Equal(back.list(), tt.want) {
					t.Fatalf("mask %q does not parse back: %v %v", got.mask(), back.list(), err)
				}
			}
		})
	}
}

func TestParseCmdline(t *testing.T) {
	c := parseCmdline(strings.Fields(`BOOT_IMAGE=/vmlinuz quiet isolcpus=1 isolcpus=managed_irq,domain,2-3 rcu-nocbs=2-3 foo="a" -- isolcpus=0`))
	if v, _ := c.get("isolcpus"); v != "managed_irq,domain,2-3" {
		t.Errorf("isolcpus = %q: the last one before -- must win", v)
	}
	if v, ok := c.get("rcu_nocbs"); !ok || v != "2-3" {
		t.Errorf("rcu_nocbs = %q, %v: '-' and '_' must be equal", v, ok)
	}
	if v, ok := c.get("quiet"); !ok || v != "" {
		t.Errorf("quiet = %q, %v", v, ok)
	}
	if v, _ := c.get("foo"); v != "a" {
		t.Errorf("foo = %q, want quotes stripped", v)
	}
}

func TestParseIsolcpus(t *testing.T) {
	tests := []struct {
		in        string
		wantFlags []string
		wantCPUs  string
		wantErr   bool
	}{
		{in: "1-3", wantFlags: []string{"domain"}, wantCPUs: "1-3"},
		{in: "managed_irq,domain,1,3", wantFlags: []string{"managed_irq", "domain"}, wantCPUs: "1,3"},
		{in: "nohz,2", wantFlags: []string{"nohz"}, wantCPUs: "2"},
		{in: "bogus,1", wantErr: true},
		{in: "domain,1-x", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			flags, cpus, err := parseIsolcpus(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil || !slices.Equal(flags, tt.wantFlags) || cpus.String() != tt.wantCPUs {
				t.Fatalf("got %v %q %v, want %v %q", flags, cpus, err, tt.wantFlags, tt.wantCPUs)
			}
		})
	}
}

func TestParseNohzFullAndRCU(t *testing.T) {
	if s, err := parseNohzFull("(null)\n"); err != nil || !s.empty() {
		t.Errorf("(null) = %v, %v; want empty", s, err)
	}
	if s, err := parseNohzFull("1-3\n"); err != nil || s.String() != "1-3" {
		t.Errorf("1-3 = %v, %v", s, err)
	}
	if _, err := parseNohzFull("x"); !errors.Is(err, ErrMalformed) {
		t.Errorf("x: err = %v", err)
	}
	all := newCPUSet(0, 1, 2, 3)
	if s, _ := parseRCUNocbs("all", all); s.String() != "0-3" {
		t.Errorf("rcu_nocbs=all = %v", s)
	}
	if s, _ := parseRCUNocbs("", all); !s.empty() {
		t.Errorf("rcu_nocbs= = %v, want empty", s)
	}
}

const interruptsOffline = `           CPU0       CPU2       
 24:          1          7  IO-APIC   5-edge      ACPI:Ged
 36:          0      33940 PCI-MSIX-0000:00:02.0   1-edge      virtio1-req.0
NMI:          0          0   Non-maskable interrupts
ERR:          0
`

func TestParseInterrupts(t *testing.T) {
	in, err := parseInterrupts(interruptsOffline)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(in.cpus, []int{0, 2}) {
		t.Fatalf("cpus = %v, want the header's CPU numbers [0 2]", in.cpus)
	}
	// Column 1 is CPU 2, not CPU 1.
	if n, _ := in.onCPUs("36", newCPUSet(2)); n != 33940 {
		t.Errorf("IRQ 36 on CPU 2 = %d, want 33940", n)
	}
	if n, _ := in.onCPUs("36", newCPUSet(1)); n != 0 {
		t.Errorf("IRQ 36 on CPU 1 = %d, want 0", n)
	}
	if l := in.lines["24"]; l.desc != "IO-APIC 5-edge ACPI:Ged" {
		t.Errorf("desc = %q", l.desc)
	}
	if l := in.lines["ERR"]; len(l.counts) != 1 {
		t.Errorf("ERR counts = %v", l.counts)
	}
	bad := map[string]string{
		"empty":          "",
		"no cpu header":  "hello\n",
		"label no colon": "  CPU0\n 24 5 x\n",
		"no counts":      "  CPU0\n 24: x y\n",
		"header cpu big": "  CPU99999\n",
	}
	for name, s := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := parseInterrupts(s); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	good := "Name:\tbash\nUid:\t0\t0\t0\t0\t0\nCapPrm:\t000001ffffffffff\nCapEff:\t0000000000800000\nCpus_allowed_list:\t0-1\n"
	s, err := parseStatus(good)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "bash" || s.CapEff != 1<<23 || !s.HasCaps || s.Allowed.String() != "0-1" {
		t.Fatalf("parseStatus = %+v", s)
	}
	for name, in := range map[string]string{
		"short caps":     "CapEff:\t1ff\n",
		"non-hex caps":   "CapEff:\t00000000000000zz\n",
		"huge range":     "Cpus_allowed_list:\t0-18446744073709551615\n",
		"garbage cpus":   "Cpus_allowed_list:\tx\n",
		"negative range": "Cpus_allowed_list:\t5-1\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := parseStatus(in); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestParseKernelConfig(t *testing.T) {
	c, err := parseKernelConfig([]byte("#\n# comment\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_S=\"x y\"\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c["CONFIG_A"] != "y" || c["CONFIG_B"] != "n" || c["CONFIG_S"] != "x y" {
		t.Fatalf("config = %v", c)
	}
	for _, in := range []string{"", "# only comments\n", "garbage\n", "FOO=y\n"} {
		if _, err := parseKernelConfig([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err = %v, want ErrMalformed", in, err)
		}
	}
}

func TestParseSmallFiles(t *testing.T) {
	if v, err := parseBracketChoice("always [madvise] never\n"); err != nil || v != "madvise" {
		t.Errorf("bracket = %q %v", v, err)
	}
	for _, in := range []string{"always madvise", "[a] [b]", "[]"} {
		if _, err := parseBracketChoice(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("bracket %q: err = %v", in, err)
		}
	}
	if v, err := parseBool01("1\n"); err != nil || !v {
		t.Errorf("bool 1 = %v %v", v, err)
	}
	if _, err := parseBool01("2"); !errors.Is(err, ErrMalformed) {
		t.Errorf("bool 2: err = %v", err)
	}
	for in, want := range map[string]struct {
		l   uint64
		set bool
	}{"0\n": {0, false}, "n/a\n": {0, true}, "10": {10, true}} {
		l, set, err := parsePMQoSResumeLatency(in)
		if err != nil || l != want.l || set != want.set {
			t.Errorf("pm qos %q = %d %v %v", in, l, set, err)
		}
	}
	if _, _, err := parsePMQoSResumeLatency("-1"); !errors.Is(err, ErrMalformed) {
		t.Errorf("pm qos -1: err = %v", err)
	}
}

func FuzzParseCPUList(f *testing.F) {
	for _, s := range []string{"1-3,6", "0-7:2/4", "", "8191", "3-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := parseCPUList(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		back, err := parseCPUList(set.String())
		if err != nil || !slices.Equal(back.list(), set.list()) {
			t.Fatalf("%q -> %q does not round-trip: %v", s, set.String(), err)
		}
	})
}

func FuzzParseCPUMask(f *testing.F) {
	for _, s := range []string{"3", "ffffffff,00000001", "0", "zz", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := parseCPUMask(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		back, err := parseCPUMask(set.mask())
		if err != nil || !slices.Equal(back.list(), set.list()) {
			t.Fatalf("%q -> %q does not round-trip: %v", s, set.mask(), err)
		}
	})
}

func FuzzParseInterrupts(f *testing.F) {
	f.Add(interruptsOffline)
	f.Add("CPU0\n0: 1\n")
	f.Fuzz(func(t *testing.T, s string) {
		in, err := parseInterrupts(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		for label, l := range in.lines {
			if len(l.counts) > len(in.cpus) {
				t.Fatalf("%s: %d counts for %d CPUs", label, len(l.counts), len(in.cpus))
			}
			in.onCPUs(label, newCPUSet(0, 1, 2))
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	f.Add("Name:\tbash\nCapEff:\t000001ffffffffff\nCpus_allowed_list:\t0-1\n")
	f.Add("Uid:\t0\t0\t0\t0\t0\t0\n")
	f.Fuzz(func(t *testing.T, s string) {
		st, err := parseStatus(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if st.Allowed.count() > maxCPUs {
			t.Fatalf("%d CPUs allowed", st.Allowed.count())
		}
	})
}

func FuzzParseCmdline(f *testing.F) {
	f.Add("BOOT_IMAGE=/vmlinuz isolcpus=managed_irq,domain,1-3 rcu_nocbs=all nohz_full=1 -- x")
	f.Add("isolcpus=nohz,,1 rcu_nocbs= =x")
	f.Fuzz(func(t *testing.T, s string) {
		c := parseCmdline(strings.Fields(s))
		possible := newCPUSet(0, 1, 2, 3)
		for _, k := range []string{"isolcpus", "rcu_nocbs", "nohz_full", "irqaffinity"} {
			v, ok := c.get(k)
			if !ok {
				continue
			}
			var err error
			switch k {
			case "isolcpus":
				_, _, err = parseIsolcpus(v)
			case "rcu_nocbs":
				_, err = parseRCUNocbs(v, possible)
			default:
				_, err = parseCPUList(v)
			}
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s=%q: error %v does not wrap ErrMalformed", k, v, err)
			}
		}
	})
}

func TestParseStat(t *testing.T) {
	line := "21 (migration/1) S 2 0 0 0 -1 69238848 0 0 0 0 0 0 0 0 -100 0 1 0 3 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 1 99 1 0 0 0 0 0 0 0 0 0 0 0\n"
	st, err := parseStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if st.Comm != "migration/1" || st.Flags != 69238848 || st.RTPrio != 99 || st.Policy != 1 {
		t.Fatalf("parseStat = %+v", st)
	}
	odd, err := parseStat("7 (a) b (c)) S" + line[strings.Index(line, ") S")+3:])
	if err != nil || odd.Comm != "a) b (c)" {
		t.Fatalf("comm with parentheses: %+v %v", odd, err)
	}
	for _, in := range []string{"", "1 (x)", "1 x S 2", "1 (x) S 2 0", ")(", strings.Replace(line, " 99 1 ", " 99 x ", 1)} {
		if _, err := parseStat(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err = %v, want ErrMalformed", in, err)
		}
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add("21 (migration/1) S 2 0 0 0 -1 69238848 0 0 0 0 0 0 0 0 -100 0 1 0 3 0 0 1 0 0 0 0 0 0 0 2 0 0 0 0 17 1 99 1 0 0 0\n")
	f.Add("1 (x)")
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := parseStat(s); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
	})
}

func TestParseCPUFlags(t *testing.T) {
	f, err := parseCPUFlags("processor\t: 0\nflags\t\t: fpu tsc constant_tsc\n\nprocessor\t: 1\nflags\t\t: fpu\n")
	if err != nil || !slices.Equal(f, []string{"fpu", "tsc", "constant_tsc"}) {
		t.Fatalf("x86 flags = %v, %v", f, err)
	}
	if f, err := parseCPUFlags("processor : 0\nFeatures : fp asimd\n"); err != nil || !slices.Equal(f, []string{"fp", "asimd"}) {
		t.Fatalf("arm Features = %v, %v", f, err)
	}
	if _, err := parseCPUFlags("processor : 0\n"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("no flags: err = %v", err)
	}
}

func Test_parseInterruptSummary(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		numbered int
		shared   []int
		wantErr  bool
	}{
		{"plain", "           CPU0       CPU1\n  0:         41          0   IO-APIC   2-edge      timer\n 16:          5          7   IO-APIC  16-fasteoi   ahci, eth1\nNMI:          0          0   Non-maskable interrupts\n", 2, []int{16}, false},
		{"no shared", "     CPU0\n 24:   1  PCI-MSI 1-edge  eth0\nERR: 0\n", 1, nil, false},
		{"no header", "", 0, nil, true},
		{"garbage line", "  CPU0\nnonsense\n", 0, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseInterruptSummary(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			var sh []int
			for n := range got.shared {
				sh = append(sh, n)
			}
			if got.numbered != tt.numbered || len(sh) != len(tt.shared) || (len(sh) == 1 && sh[0] != tt.shared[0]) {
				t.Errorf("numbered %d shared %v, want %d %v", got.numbered, sh, tt.numbered, tt.shared)
			}
			if len(sh) == 1 && sharedActions(got.shared[sh[0]]) != "ahci, eth1" {
				t.Errorf("sharedActions = %q", sharedActions(got.shared[sh[0]]))
			}
		})
	}
}

func FuzzParseLimitsSwapsSysctl(f *testing.F) {
	f.Add("Max realtime priority     0                    0                    \nMax locked memory         8388608              8388608              bytes\n")
	f.Add("Filename\tType\tSize\tUsed\tPriority\n/dev/vda2 partition 1048572 0 -2\n")
	f.Add("-1\n")
	f.Fuzz(func(t *testing.T, s string) {
		if l, err := parseLimits(s); err == nil && l.RealtimePriority != 0 && !strings.Contains(s, "Max realtime priority") {
			t.Errorf("parseLimits(%q) found a limit in no such line", s)
		}
		if sw, err := parseSwaps(s); err == nil && len(sw) > strings.Count(s, "\n")+1 {
			t.Errorf("parseSwaps(%q) = %d swaps from fewer lines", s, len(sw))
		}
		if _, err := parseSysctlInt(s); err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("parseSysctlInt(%q): %v does not wrap ErrMalformed", s, err)
		}
		if sum, err := parseInterruptSummary(s); err == nil && sum.numbered < len(sum.shared) {
			t.Errorf("parseInterruptSummary(%q): %d shared of %d lines", s, len(sum.shared), sum.numbered)
		}
	})
}

// FuzzMergeCmdline: the proposal never has a wanted parameter twice, keeps
// every current parameter it does not remove, and adds only wanted ones.
func FuzzMergeCmdline(f *testing.F) {
	f.Add("ro quiet isolcpus=1 -- init", "isolcpus=managed_irq,domain,1 nohz_full=1")
	f.Add("irqaffinity=0 irqaffinity=0", "irqaffinity=0")
	f.Fuzz(func(t *testing.T, cur, want string) {
		c, w := strings.Fields(cur), strings.Fields(want)
		p, add, rem := mergeCmdline(c, w)
		if len(p) != len(c)-len(rem)+len(add) {
			t.Fatalf("merge(%q, %q): %d proposed from %d current - %d removed + %d added", cur, want, len(p), len(c), len(rem), len(add))
		}
		kernel := p
		if i := slices.Index(p, "--"); i >= 0 {
			kernel = p[:i]
		}
		count := map[string]int{}
		for _, x := range kernel {
			k, _, _ := strings.Cut(x, "=")
			count[normParam(k)]++
		}
		for _, a := range add {
			if !slices.Contains(w, a) {
				t.Errorf("added %q, not wanted", a)
			}
			k, _, _ := strings.Cut(a, "=")
			if count[normParam(k)] != 1 {
				t.Errorf("merge(%q, %q): %s %d times in %q", cur, want, k, count[normParam(k)], kernel)
			}
		}
	})
}
