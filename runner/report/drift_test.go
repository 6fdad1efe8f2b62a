package report

import (
	"strings"
	"testing"

	"github.com/rtcell/rtcell/sysprep"
)

func driftBaseline() *Report {
	return &Report{
		Verdict: VerdictPass,
		Host:    Host{Hostname: "cell7", KernelRelease: "6.1.0-rt", Cmdline: "isolcpus=1", BIOSVersion: "1.2", CPUs: 2},
		Sysprep: &sysprep.Report{Checks: []sysprep.Result{
			{ID: "kernel.preempt_rt", Status: sysprep.Pass},
			{ID: "cpu.isolated", Status: sysprep.Pass},
			{ID: "power.cstates", Status: sysprep.Warn},
		}},
		Tasks: []Task{{Name: "scan", LatencyNs: Stats{P99: 20_000, Max: 50_000}}},
	}
}

func TestCompareIdentical(t *testing.T) {
	d := Compare(driftBaseline(), driftBaseline(), 0)
	if d.Drifted || len(d.Items) != 0 {
		t.Errorf("identical runs: drifted=%v items=%+v", d.Drifted, d.Items)
	}
	if d.TolerancePct != DefaultDriftTolerancePct {
		t.Errorf("tolerance = %v, want the default %v", d.TolerancePct, DefaultDriftTolerancePct)
	}
}

func TestCompareDrift(t *testing.T) {
	cur := driftBaseline()
	cur.Sysprep.Checks[1].Status = sysprep.Fail
	cur.Sysprep.Checks[2].Status = sysprep.Pass // an improvement: listed, not drift
	cur.Tasks[0].LatencyNs.P99 *= 3
	cur.Tasks[0].LatencyNs.Max = 59_000 // within 20 %
	cur.Host.BIOSVersion = "1.3"
	d := Compare(driftBaseline(), cur, 0)
	if !d.Drifted {
		t.Fatal("not drifted")
	}
	want := map[string]bool{"cpu.isolated": true, "scan p99": true, "bios_version": true, "power.cstates": false}
	got := map[string]bool{}
	for _, it := range d.Items {
		got[it.Name] = it.Worse
	}
	for name, worse := range want {
		w, ok := got[name]
		if !ok {
			t.Errorf("%s not listed in %+v", name, d.Items)
		} else if w != worse {
			t.Errorf("%s: worse = %v, want %v", name, w, worse)
		}
	}
	if _, ok := got["scan max"]; ok {
		t.Error("max within the tolerance listed as drift")
	}
	if len(d.Items) != len(want) {
		t.Errorf("items = %+v, want only %v", d.Items, want)
	}
	for i, it := range d.Items {
		if !it.Worse && i < 3 {
			t.Errorf("item %d (%s) is not drift but sorts before drifted items", i, it.Name)
		}
	}
	if it := d.Items[slicesIndex(d.Items, "scan p99")]; !strings.Contains(it.Current, "60000") {
		t.Errorf("p99 item = %+v, want the current 60000 ns", it)
	}
	// A wider tolerance forgives the p99 but not the check or the BIOS.
	if d := Compare(driftBaseline(), cur, 250); !d.Drifted || slicesIndex(d.Items, "scan p99") >= 0 {
		t.Errorf("tolerance 250%%: %+v", d.Items)
	}
}

func TestCompareMissingTaskAndPreflightOnly(t *testing.T) {
	b, c := driftBaseline(), driftBaseline()
	b.Sysprep, c.Sysprep = nil, nil
	b.Preflight = &Preflight{Failed: []string{}}
	c.Preflight = &Preflight{Failed: []string{"irq.affinity"}}
	c.Tasks = nil
	d := Compare(b, c, 0)
	if slicesIndex(d.Items, "irq.affinity") < 0 || slicesIndex(d.Items, "scan") < 0 || !d.Drifted {
		t.Errorf("items = %+v", d.Items)
	}
}

func slicesIndex(items []DriftItem, name string) int {
	for i, it := range items {
		if it.Name == name {
			return i
		}
	}
	return -1
}
