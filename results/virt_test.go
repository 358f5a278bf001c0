package results

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestVirtualizationRoundTrip: the record survives results.json, with
// the steal the suite set from the repeats (stats.RunSteal): 0.3 s stolen
// over 3 repeats of 10 s on 2 CPUs is 0.5% of the CPU time.
func TestVirtualizationRoundTrip(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	r := sampleRun()
	r.Env.Virtualization = &Virtualization{Virtualized: true, Hypervisor: "KVM", Steal: f(0.005), StealSinceBoot: f(0.002), OnlineCPUs: 2,
		Evidence: []string{"cpuinfo flag hypervisor", "clocksources tsc kvm-clock"}}
	for i := range r.Cases[0].Repeats {
		r.Cases[0].Repeats[i].StealCPU, r.Cases[0].Repeats[i].WallS = f(0.1), 10
	}
	dir := t.TempDir()
	if err := r.Save(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"virtualization": {`, `"virtualized": true`, `"hypervisor": "KVM"`, `"steal": 0.005`,
		`"steal_since_boot": 0.002`, `"online_cpus": 2`, `"evidence": [`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("results.json lacks %s", key)
		}
	}
	if strings.Contains(string(b), `"emulated"`) {
		t.Errorf("results.json has emulated though it is false")
	}
	back, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v := back.Env.Virtualization; v == nil || v.Steal == nil || math.Abs(*v.Steal-0.005) > 1e-12 {
		t.Fatalf("steal after the round trip: %+v", v)
	}
	if !reflect.DeepEqual(back.Env.Virtualization, r.Env.Virtualization) {
		t.Errorf("round trip changed the record:\n%+v\nwant\n%+v", back.Env.Virtualization, r.Env.Virtualization)
	}
}

// TestNoVirtualization: a run without the record (older runs, other
// systems) writes no key and loads without one. The committed reference
// run, written since, has it: a virtual machine's.
func TestNoVirtualization(t *testing.T) {
	dir := t.TempDir()
	if err := sampleRun().Save(dir); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, FileName))
	if strings.Contains(string(b), "virtualization") || strings.Contains(string(b), "steal\"") {
		t.Errorf("a run without the record wrote it")
	}
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Env.Virtualization != nil {
		t.Errorf("virtualization %+v, want none", r.Env.Virtualization)
	}
	ref, err := Load("reference-2core-epyc")
	if err != nil {
		t.Fatal(err)
	}
	if v := ref.Env.Virtualization; v == nil || !v.Virtualized || v.OnlineCPUs != ref.Env.CPUs {
		t.Errorf("reference-2core-epyc: virtualization %+v, want the VM it ran on", v)
	}
}

// TestStealShare: the steal that counts is the repeats', else since boot;
// a nil record has none.
func TestStealShare(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	var v *Virtualization
	if _, _, ok := v.StealShare(); ok {
		t.Errorf("a nil record has a steal share")
	}
	v = &Virtualization{StealSinceBoot: f(0.03)}
	if s, boot, ok := v.StealShare(); !ok || !boot || s != 0.03 {
		t.Errorf("since boot: %v %v %v", s, boot, ok)
	}
	v.Steal = f(0.001)
	if s, boot, ok := v.StealShare(); !ok || boot || s != 0.001 {
		t.Errorf("during the repeats: %v %v %v", s, boot, ok)
	}
}
