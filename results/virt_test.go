package results

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestVirtualizationRoundTrip: the record survives results.json, and
// Save sets its steal from the repeats: 0.3 s stolen over 3 repeats of
// 10 s on 2 CPUs is 0.5% of the CPU time.
func TestVirtualizationRoundTrip(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	r := sampleRun()
	r.Env.Virtualization = &Virtualization{Virtualized: true, Hypervisor: "KVM", StealSinceBoot: f(0.002), OnlineCPUs: 2,
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
// systems) writes no key and loads without one; so does the committed
// reference run.
func TestNoVirtualization(t *testing.T) {
	dir := t.TempDir()
	if err := sampleRun().Save(dir); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, FileName))
	if strings.Contains(string(b), "virtualization") || strings.Contains(string(b), "steal\"") {
		t.Errorf("a run without the record wrote it")
	}
	for _, path := range []string{dir, "reference-2core-epyc"} {
		r, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if r.Env.Virtualization != nil {
			t.Errorf("%s: virtualization %+v, want none", path, r.Env.Virtualization)
		}
	}
}

func TestRunSteal(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	cases := []Case{{Repeats: []Repeat{
		{StealCPU: f(0.4), WallS: 10},
		{StealCPU: f(0.2), WallS: 5},
		{WallS: 10},                // a server on another host: not measured
		{StealCPU: f(9), WallS: 0}, // no wall time: left out
	}}}
	if s := RunSteal(cases, 4); s == nil || math.Abs(*s-0.01) > 1e-12 {
		t.Errorf("steal %v, want 0.6 s of 15 s × 4 CPUs = 0.01", s)
	}
	if s := RunSteal(cases, 0); s != nil {
		t.Errorf("steal over 0 CPUs: %v", *s)
	}
	if s := RunSteal([]Case{{Repeats: []Repeat{{WallS: 10}}}}, 2); s != nil {
		t.Errorf("steal where no repeat measured it: %v", *s)
	}
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
