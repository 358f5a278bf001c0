package suite

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corebench/corebench/results"
)

func TestPlanQuick(t *testing.T) {
	specs, err := Plan(Profiles["quick"], 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 10 {
		t.Fatalf("quick plans %d cases, want 5 models x 2 workloads", len(specs))
	}
	for _, s := range specs {
		if s.Sweep != results.SweepModels || s.Connections != 100 || !s.KeepAlive || s.Mode != results.ModeClosed {
			t.Errorf("unexpected case %+v", s)
		}
		if (s.Model == results.SingleCore) != (s.Workers == 1) || (s.Model != results.SingleCore && s.Workers != 2) {
			t.Errorf("%s runs %d workers on 2 server CPUs", s.Model, s.Workers)
		}
	}
	// quick must fit its two minutes on a 2-core machine.
	if d := Estimate(specs, Profiles["quick"]); d > 110*time.Second {
		t.Errorf("quick is estimated at %v", d)
	}
}

func TestPlanFull(t *testing.T) {
	specs, err := Plan(Profiles["full"], 8)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	sweeps := map[results.Sweep]int{}
	var workers []int
	for _, s := range specs {
		if ids[s.ID] {
			t.Errorf("case %s planned twice", s.ID)
		}
		ids[s.ID] = true
		sweeps[s.Sweep]++
		if s.Sweep == results.SweepWorkers && s.Model == results.PreforkRR && s.Workload == "cpu" {
			workers = append(workers, s.Workers)
		}
		if s.Mode == results.ModeOpen && (s.RateOf <= 0 || s.Workload != "cpu") {
			t.Errorf("open-loop case %+v", s)
		}
	}
	for _, sw := range []results.Sweep{results.SweepModels, results.SweepConnections, results.SweepRate, results.SweepKeepAlive, results.SweepWorkers} {
		if sweeps[sw] == 0 {
			t.Errorf("no %s sweep in full: %v", sw, sweeps)
		}
	}
	// 8 workers is also the models sweep's case, so the sweep keeps it there.
	if !slices.Equal(workers, []int{1, 2, 4}) {
		t.Errorf("worker sweep %v, want 1 2 4 (8 is in the models sweep)", workers)
	}
}

// TestPlanSticky: prefork-sticky, which the built-in profiles leave out
// (see DefaultModels), plans and serves like any variant when asked for.
func TestPlanSticky(t *testing.T) {
	if slices.Contains(DefaultModels, results.PreforkSticky) || len(DefaultModels) != len(results.Variants())-1 {
		t.Errorf("default models %v, want every variant but prefork-sticky", DefaultModels)
	}
	p := Profiles["quick"]
	p.Models = []results.Variant{results.PreforkSticky}
	specs, err := Plan(p, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 || specs[0].ID != "prefork-sticky/hello/closed-c100/w2" {
		t.Fatalf("planned %+v", specs)
	}
	if got := strings.Join(serveArgs(Options{}, specs[0]), " "); got != "serve --model prefork --sched sticky --workers 2 --addr 127.0.0.1:0" {
		t.Errorf("serve line %q", got)
	}
}

func TestPlanRejects(t *testing.T) {
	for _, p := range []Profile{
		{Models: []results.Variant{results.SingleCore}, Workloads: []string{"disk"}},
		{Workloads: []string{"cpu"}},
	} {
		if _, err := Plan(p, 2); err == nil {
			t.Errorf("Plan(%+v) accepted", p)
		}
	}
}

func TestCaseIDs(t *testing.T) {
	for _, tt := range []struct {
		s    Spec
		want string
	}{
		{Spec{Model: results.PreforkRR, Workload: "cpu", Mode: "closed", Connections: 100, Workers: 2, KeepAlive: true}, "prefork-rr/cpu/closed-c100/w2"},
		{Spec{Model: results.Goroutines, Workload: "cpu", Mode: "open", RateOf: 0.9, Workers: 4, KeepAlive: true}, "goroutines/cpu/open-0.9x/w4"},
		{Spec{Model: results.SingleCore, Workload: "hello", Mode: "closed", Connections: 8, Workers: 1}, "singlecore/hello/closed-c8/w1/nokeepalive"},
	} {
		tt.s.setID()
		if tt.s.ID != tt.want {
			t.Errorf("ID %q, want %q", tt.s.ID, tt.want)
		}
	}
}

func TestServeArgs(t *testing.T) {
	o := Options{ServerCPUs: []int{2, 3}, CPUIters: 100}
	got := strings.Join(serveArgs(o, Spec{Model: results.PreforkOS, Workers: 2}), " ")
	if got != "serve --model prefork --sched os --workers 2 --addr 127.0.0.1:0 --cpus 2-3 --cpu-iters 100" {
		t.Errorf("prefork-os: %s", got)
	}
	got = strings.Join(serveArgs(o, Spec{Model: results.SingleCore, Workers: 1}), " ")
	if got != "serve --model singlecore --addr 127.0.0.1:0 --cpus 2 --cpu-iters 100" {
		t.Errorf("singlecore: %s", got)
	}
}
