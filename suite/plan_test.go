package suite

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/variant"
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
		if (s.Model == variant.SingleCore) != (s.Workers == 1) || (s.Model != variant.SingleCore && s.Workers != 2) {
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
		if s.Sweep == results.SweepWorkers && s.Model == variant.PreforkRR && s.Workload == "cpu" {
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
	// 8 workers is also the models sweep's case, so the sweep keeps it
	// there; 12 and 16 oversubscribe the 8 server CPUs.
	if !slices.Equal(workers, []int{1, 2, 4, 12, 16}) {
		t.Errorf("worker sweep %v, want 1 2 4 12 16 (8 is in the models sweep)", workers)
	}
}

func TestWorkerCounts(t *testing.T) {
	for _, tt := range []struct {
		cpus int
		want []int
	}{
		{1, []int{1, 2}},
		{2, []int{1, 2, 3, 4}},
		{6, []int{1, 2, 4, 6, 9, 12}},
		{12, []int{1, 2, 4, 8, 12, 18, 24}},
		{48, []int{1, 2, 4, 8, 16, 32, 48, 72, 96}},
	} {
		if got := workerCounts(tt.cpus); !slices.Equal(got, tt.want) {
			t.Errorf("workerCounts(%d) = %v, want %v", tt.cpus, got, tt.want)
		}
	}
}

// TestPlanSizedToMachine: on bigger machines the closed loop gets at
// least 4 connections per server CPU on / and /json, the connections
// sweep goes past that, and the full profile's worker sweep goes past the
// server CPUs (singlecore not swept).
func TestPlanSizedToMachine(t *testing.T) {
	for _, name := range []string{"quick", "standard", "manycore", "full"} {
		for _, cpus := range []int{8, 12, 24, 48} {
			p := Profiles[name]
			p.Workloads = append(slices.Clone(p.Workloads), "json")
			specs, err := Plan(p, cpus)
			if err != nil {
				t.Fatal(err)
			}
			def, _ := p.Conns(cpus)
			maxConns, maxWorkers := 0, 0
			for _, s := range specs {
				if s.Sweep == results.SweepConnections {
					maxConns = max(maxConns, s.Connections)
					continue
				}
				if (s.Workload == "hello" || s.Workload == "json") && (s.Connections < 4*cpus || s.Connections < 100) {
					t.Errorf("%s on %d server CPUs: %s has %d connections", name, cpus, s.ID, s.Connections)
				}
				if s.Sweep == results.SweepWorkers {
					if s.Model == variant.SingleCore {
						t.Errorf("%s sweeps singlecore: %s", name, s.ID)
					}
					maxWorkers = max(maxWorkers, s.Workers)
				}
			}
			if len(p.ConnSweep) > 0 && maxConns < 2*def {
				t.Errorf("%s on %d server CPUs: connections sweep stops at %d, the default is %d", name, cpus, maxConns, def)
			}
			if p.WorkerSweep && maxWorkers != 2*cpus {
				t.Errorf("%s on %d server CPUs: worker sweep stops at %d, want %d", name, cpus, maxWorkers, 2*cpus)
			}
		}
	}
	if n, how := Profiles["full"].Conns(48); n != 384 || !strings.Contains(how, "8 per server CPU × 48") {
		t.Errorf("full on 48 server CPUs: %d connections (%s)", n, how)
	}
	// smoke, and an explicit --connections (PerCPU 0), are not sized.
	if n, how := Profiles["smoke"].Conns(48); n != 4 || !strings.Contains(how, "fixed") {
		t.Errorf("smoke on 48 server CPUs: %d connections (%s)", n, how)
	}
}

// TestPlanReference: on the 2 CPUs of the committed reference its
// command (standard with --worker-sweep) plans every case it ran, with
// the same IDs (compare matches on them), and no other.
func TestPlanReference(t *testing.T) {
	ref, err := results.Load("../results/reference-2core-epyc/results.json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ref.Env.CommandLine, "--profile standard --worker-sweep") {
		t.Fatalf("the reference ran %q", ref.Env.CommandLine)
	}
	p := Profiles["standard"]
	p.WorkerSweep = true
	specs, err := Plan(p, len(ref.Placement.ServerCPUs))
	if err != nil {
		t.Fatal(err)
	}
	planned := map[string]Spec{}
	for _, s := range specs {
		planned[s.ID] = s
	}
	for _, c := range ref.Cases {
		if _, ok := planned[c.ID]; !ok {
			t.Errorf("the reference's case %s is no longer planned", c.ID)
		}
		delete(planned, c.ID)
	}
	for id := range planned {
		t.Errorf("new case %s on the reference's 2 CPUs", id)
	}
	if n, how := Profiles["quick"].Conns(2); n != 100 || how != "100: the profile's floor, more than 8 per server CPU × 2 server CPUs (16)" {
		t.Errorf("quick on 2 CPUs: %d connections (%s)", n, how)
	}
}

// TestManycoreBudget: the manycore profile fits 8 minutes on a 16-core
// box, whether the placement leaves the servers 12 CPUs or all 16.
func TestManycoreBudget(t *testing.T) {
	p := Profiles["manycore"]
	for _, cpus := range []int{12, 16} {
		specs, err := Plan(p, cpus)
		if err != nil {
			t.Fatal(err)
		}
		if d := Estimate(specs, p); d > 8*time.Minute {
			t.Errorf("manycore on %d server CPUs: %d cases, estimated %v", cpus, len(specs), d)
		}
		sweeps := map[results.Sweep]bool{}
		for _, s := range specs {
			sweeps[s.Sweep] = true
			if s.Sweep == results.SweepWorkers && s.Workload != "cpu" {
				t.Errorf("manycore sweeps workers on %s", s.Workload)
			}
		}
		if !sweeps[results.SweepWorkers] || !sweeps[results.SweepConnections] || !sweeps[results.SweepKeepAlive] {
			t.Errorf("manycore on %d server CPUs plans sweeps %v", cpus, sweeps)
		}
	}
	if !slices.Contains(ProfileNames, "manycore") {
		t.Errorf("ProfileNames %v lacks manycore", ProfileNames)
	}
}

// TestPlanSticky: prefork-sticky, which the built-in profiles leave out
// (see DefaultModels), plans and serves like any variant when asked for.
func TestPlanSticky(t *testing.T) {
	if slices.Contains(DefaultModels, variant.PreforkSticky) || len(DefaultModels) != len(variant.All())-1 {
		t.Errorf("default models %v, want every variant but prefork-sticky", DefaultModels)
	}
	p := Profiles["quick"]
	p.Models = []variant.Variant{variant.PreforkSticky}
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
		{Models: []variant.Variant{variant.SingleCore}, Workloads: []string{"disk"}},
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
		{Spec{Model: variant.PreforkRR, Workload: "cpu", Mode: "closed", Connections: 100, Workers: 2, KeepAlive: true}, "prefork-rr/cpu/closed-c100/w2"},
		{Spec{Model: variant.Goroutines, Workload: "cpu", Mode: "open", RateOf: 0.9, Workers: 4, KeepAlive: true}, "goroutines/cpu/open-0.9x/w4"},
		{Spec{Model: variant.SingleCore, Workload: "hello", Mode: "closed", Connections: 8, Workers: 1}, "singlecore/hello/closed-c8/w1/nokeepalive"},
	} {
		tt.s.setID()
		if tt.s.ID != tt.want {
			t.Errorf("ID %q, want %q", tt.s.ID, tt.want)
		}
	}
}

func TestServeArgs(t *testing.T) {
	o := Options{ServerCPUs: []int{2, 3}, CPUIters: 100}
	got := strings.Join(serveArgs(o, Spec{Model: variant.PreforkOS, Workers: 2}), " ")
	if got != "serve --model prefork --sched os --workers 2 --addr 127.0.0.1:0 --cpus 2-3 --cpu-iters 100" {
		t.Errorf("prefork-os: %s", got)
	}
	got = strings.Join(serveArgs(o, Spec{Model: variant.SingleCore, Workers: 1}), " ")
	if got != "serve --model singlecore --addr 127.0.0.1:0 --cpus 2 --cpu-iters 100" {
		t.Errorf("singlecore: %s", got)
	}
}

// TestPlanWorkers: --workers sets the workers outside the worker sweep;
// the load is sized by the cores that serve (fewer workers than CPUs use
// fewer cores, more only take turns on them) and the worker sweep still
// goes by the server CPUs.
func TestPlanWorkers(t *testing.T) {
	for _, c := range []struct{ workers, conns int }{{4, 100}, {64, 384}} {
		p := Profiles["full"]
		p.Workers = c.workers
		specs, err := Plan(p, 48)
		if err != nil {
			t.Fatal(err)
		}
		most := 0
		for _, s := range specs {
			switch {
			case s.Sweep == results.SweepWorkers:
				most = max(most, s.Workers)
			case s.Model.OneWorker():
				if s.Workers != 1 {
					t.Errorf("%s: %d workers", s.ID, s.Workers)
				}
			case s.Workers != c.workers:
				t.Errorf("--workers %d: %s has %d workers", c.workers, s.ID, s.Workers)
			}
			if s.Sweep == results.SweepModels && s.Connections != c.conns {
				t.Errorf("--workers %d on 48 CPUs: %s has %d connections, want %d", c.workers, s.ID, s.Connections, c.conns)
			}
		}
		if most != 96 {
			t.Errorf("--workers %d: the worker sweep reaches %d, want 2×48", c.workers, most)
		}
	}
}

// TestPlanExternal: an external server is in every sweep as a model, and
// in the worker sweep only when its command takes {workers}.
func TestPlanExternal(t *testing.T) {
	node, _ := variant.ParseServer("node=node server.js --port {port} --workers {workers}")
	py, _ := variant.ParseServer("py=python3 server.py --port {port}")
	p := Profiles["full"]
	p.Models = []variant.Variant{variant.SingleCore, node, py}
	specs, err := Plan(p, 4)
	if err != nil {
		t.Fatal(err)
	}
	sweeps := map[string]map[results.Sweep]int{}
	for _, s := range specs {
		if sweeps[s.Model.Name] == nil {
			sweeps[s.Model.Name] = map[results.Sweep]int{}
		}
		sweeps[s.Model.Name][s.Sweep]++
		if s.Model.Name == "py" && s.Workers != 0 {
			t.Errorf("%s: py is told no workers, so none are planned (want 0, unknown)", s.ID)
		}
	}
	// Over hello and cpu; the count of 4 is the models sweep's case.
	if sweeps["node"][results.SweepWorkers] != (len(workerCounts(4))-1)*2 || sweeps["py"][results.SweepWorkers] != 0 {
		t.Errorf("worker sweep cases: node %d, py %d; want node's over cpu and hello, py's none", sweeps["node"][results.SweepWorkers], sweeps["py"][results.SweepWorkers])
	}
	for _, sw := range []results.Sweep{results.SweepModels, results.SweepConnections, results.SweepRate, results.SweepKeepAlive} {
		if sweeps["node"][sw] == 0 || sweeps["py"][sw] != sweeps["node"][sw] {
			t.Errorf("sweep %s: node %d cases, py %d", sw, sweeps["node"][sw], sweeps["py"][sw])
		}
	}
}
