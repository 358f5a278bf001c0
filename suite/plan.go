// Package suite plans the cases of a comparison and runs them: each case
// starts a model as its own `bench serve` child (so GOMAXPROCS and CPU
// affinity never leak into the load generator), waits for its listening
// line, drives the load, records the server's CPU and memory from /proc,
// and stops and reaps it.
//
// The load generator is passed in as a loadgen.Generator, so the suite's
// tests can drive real servers with a fake generator.
package suite

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/variant"
)

// DefaultModels are what the built-in profiles run: every built-in
// variant but prefork-sticky. Sticky sends each client address to one
// worker, and the generator runs on one host, so it would measure a
// single worker as if it were the model's capacity; it is for sessions,
// which the state scenario shows. `bench run --models` runs it.
var DefaultModels = slices.DeleteFunc(variant.All(), func(v variant.Variant) bool {
	return v == variant.PreforkSticky
})

// Profile is a named set of defaults for a run.
type Profile struct {
	Name      string
	Models    []variant.Variant
	Workloads []string
	// Connections is the closed loop's concurrency of every sweep but the
	// connections sweep; with PerCPU set it is the floor (see Conns).
	Connections int
	// PerCPU sizes Connections to the machine: this many per server CPU
	// when that is more. 0 keeps Connections as it is (smoke, and an
	// explicit --connections).
	PerCPU int
	// ConnSweep is the connections sweep: closed loop at each count. With
	// PerCPU set, Plan extends it by ×4 steps until it reaches twice the
	// sized default, so the sweep shows whether the default saturates.
	ConnSweep   []int
	RateSweep   []float64 // open-loop rates as fractions of each model's measured capacity
	RateOn      string    // workload of the rate sweep
	NoKeepAlive bool      // add a connection-per-request case per model
	WorkerSweep bool      // sweep the workers of multi-worker models: 1, 2, 4, ... the server CPUs, then 1.5× and 2× them
	WorkersOn   []string  // workloads of the worker sweep; nil: every workload but io
	// Workers is how many workers the multi-worker models run outside
	// their worker sweep; 0: one per server CPU. The worker sweep still
	// goes by the server CPUs.
	Workers  int
	Duration time.Duration
	Warmup   time.Duration // once per case, after its server starts
	Repeat   int
	// Interleave measures the models sweep of each workload in rounds:
	// every model's server runs, and each round measures one repeat of
	// each in a random order, after VisitWarmup. Repeats of one model
	// then spread over the whole comparison's time, so the machine's
	// drifts fall on all alike, and the order carries no bias that the
	// test comparing them does not allow for (docs/performance.md,
	// "Verdicts").
	Interleave  bool
	VisitWarmup time.Duration
	About       string // what it measures and how long it takes, for --help
	// MinCPUs is the machine the profile is meant for: its sweeps and
	// loads are sized for at least this many CPUs (0: any).
	MinCPUs int
}

// FitWarning says, in a few words, that p is meant for a bigger machine
// than cpus CPUs; "" when it fits. Such a plan still runs.
func (p Profile) FitWarning(cpus int) string {
	if cpus >= p.MinCPUs {
		return ""
	}
	return fmt.Sprintf("the %s profile is meant for %d CPUs or more; this plan has %d, so its cases measure a smaller machine than they were sized for", p.Name, p.MinCPUs, cpus)
}

// perCPU is the built-in profiles' connections per server CPU. A closed
// loop keeps a core busy only while a request is queued for it; each
// connection spends most of its round trip in the generator and the
// kernel, so a handful per core leaves cores idle on / and /json. 8 per
// CPU is 224 on 28 cores, the low end of TechEmpower's 256–512.
const perCPU = 8

// visitWarmup is the load an interleaved repeat sends before it
// measures: the server waited while the others were measured, its caches
// went to them and its connections are new.
const visitWarmup = 250 * time.Millisecond

// Profiles are the built-in profiles. quick is the default.
//
// Six repeats of a second each, not two of three: two against two can
// never reach p < 0.05 by Mann–Whitney (1/3 at best), so no model could
// ever be called the winner; six against six can (0.002 at best), and an
// interval of their ratio has ranks to stand on (docs/performance.md,
// "Verdicts").
//
// Their 100 connections stay the floor, so a machine of up to 12 server
// CPUs plans the cases (and case IDs, which compare matches on) of the
// committed 2-core reference; bigger machines get 8 per server CPU.
var Profiles = map[string]Profile{
	"smoke": {
		Name: "smoke", Models: DefaultModels, Workloads: []string{"hello", "cpu"}, Connections: 4,
		Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond, Repeat: 1,
		About: "a few seconds: every model once, for tests",
	},
	"quick": {
		Name: "quick", Models: DefaultModels, Workloads: []string{"hello", "cpu"}, Connections: 100, PerCPU: perCPU,
		Duration: time.Second, Warmup: time.Second, Repeat: 6, Interleave: true, VisitWarmup: visitWarmup,
		About: "every model on / and /cpu, 100 connections (8 per server CPU past 12), 6 repeats interleaved across models; under 2 minutes",
	},
	"standard": {
		Name: "standard", Models: DefaultModels, Workloads: []string{"hello", "cpu", "io"}, Connections: 100, PerCPU: perCPU,
		ConnSweep: []int{1, 4, 16, 64, 256}, RateSweep: []float64{0.25, 0.5, 0.75, 0.9, 1.0, 1.1}, RateOn: "cpu",
		NoKeepAlive: true, Duration: time.Second, Warmup: time.Second, Repeat: 6, Interleave: true, VisitWarmup: visitWarmup,
		About: "quick plus /io, a connection sweep, an open-loop rate sweep to each model's knee and connection-per-request; 10 to 15 minutes",
	},
	// manycore sweeps workers on /cpu only: on / the generator, with a
	// quarter of the CPUs, runs out before many workers do.
	"manycore": {
		Name: "manycore", Models: DefaultModels, Workloads: []string{"hello", "cpu"}, Connections: 100, PerCPU: perCPU,
		ConnSweep: []int{16, 64, 256}, NoKeepAlive: true, WorkerSweep: true, WorkersOn: []string{"cpu"},
		Duration: time.Second, Warmup: time.Second, Repeat: 6, Interleave: true, VisitWarmup: visitWarmup,
		About:   "for 16 or more cores: every model on / and /cpu, connections past the default, connection-per-request, /cpu's worker sweep to 2× the server CPUs; under 8 minutes on 16 cores",
		MinCPUs: 16,
	},
	"full": {
		Name: "full", Models: DefaultModels, Workloads: []string{"hello", "cpu", "io"}, Connections: 100, PerCPU: perCPU,
		ConnSweep: []int{1, 4, 16, 64, 256}, RateSweep: []float64{0.25, 0.5, 0.75, 0.9, 1.0, 1.1}, RateOn: "cpu",
		NoKeepAlive: true, WorkerSweep: true, Duration: 2 * time.Second, Warmup: time.Second, Repeat: 10, Interleave: true, VisitWarmup: visitWarmup,
		About: "standard plus worker sweeps 1, 2, 4, ... the server CPUs, 1.5× and 2× them, and 10 repeats; an hour or more on a many-core box",
	},
}

// ProfileNames lists the profiles in the order --help shows them: by
// what they cover, smoke to full (manycore takes less time than standard).
var ProfileNames = []string{"smoke", "quick", "standard", "manycore", "full"}

// Conns returns the connections of p's closed loops on serverCPUs
// server CPUs, and how that figure was decided, in words for the report.
// With fewer Workers than CPUs only that many cores serve, so they size
// the load.
func (p Profile) Conns(serverCPUs int) (int, string) {
	if p.Workers > 0 && p.Workers < serverCPUs {
		serverCPUs = p.Workers
	}
	if p.PerCPU <= 0 {
		return p.Connections, fmt.Sprintf("%d, fixed by the profile", p.Connections)
	}
	if n := p.PerCPU * serverCPUs; n > p.Connections {
		return n, fmt.Sprintf("%d: %d per server CPU × %d server CPUs", n, p.PerCPU, serverCPUs)
	}
	return p.Connections, fmt.Sprintf("%d: the profile's floor, more than %d per server CPU × %d server CPUs (%d)", p.Connections, p.PerCPU, serverCPUs, p.PerCPU*serverCPUs)
}

// connSweep returns p's connections sweep, extended past conns when p is
// sized to the machine.
func (p Profile) connSweep(conns int) []int {
	sweep := slices.Clone(p.ConnSweep)
	if p.PerCPU <= 0 || len(sweep) == 0 {
		return sweep
	}
	for last := sweep[len(sweep)-1]; last < 2*conns; {
		last *= 4
		sweep = append(sweep, last)
	}
	return sweep
}

// Spec is one planned case.
type Spec struct {
	ID          string
	Sweep       results.Sweep
	Model       variant.Variant
	Workers     int
	Workload    string
	Path        string
	Mode        results.Mode
	Connections int     // closed loop: exactly; open loop: to start with
	Rate        float64 // open loop: req/s, set when the plan runs
	RateOf      float64 // open loop: fraction of the capacity the models sweep measured
	KeepAlive   bool
}

// caseID names a case so the same case has the same ID in every run.
func caseID(model, workload string, mode results.Mode, conns int, rateOf float64, workers int, keepAlive bool) string {
	load := fmt.Sprintf("closed-c%d", conns)
	if mode == results.ModeOpen {
		load = fmt.Sprintf("open-%gx", rateOf)
	}
	id := fmt.Sprintf("%s/%s/%s/w%d", model, workload, load, workers)
	if !keepAlive {
		id += "/nokeepalive"
	}
	return id
}

func (s *Spec) setID() {
	s.ID = caseID(s.Model.Name, s.Workload, s.Mode, s.Connections, s.RateOf, s.Workers, s.KeepAlive)
}

// Plan expands a profile into cases for a server with serverCPUs CPUs.
// A case that two sweeps share is planned once, under the first.
func Plan(p Profile, serverCPUs int) ([]Spec, error) {
	if len(p.Models) == 0 || len(p.Workloads) == 0 {
		return nil, fmt.Errorf("nothing to run: no models or no workloads")
	}
	for _, w := range p.Workloads {
		if _, err := results.ParseWorkload(w); err != nil {
			return nil, err
		}
	}
	conns, _ := p.Conns(serverCPUs)
	workers := serverCPUs
	if p.Workers > 0 {
		workers = p.Workers
	}
	var specs []Spec
	seen := map[string]bool{}
	add := func(s Spec) {
		w, _ := results.ParseWorkload(s.Workload)
		s.Path = w.Path
		s.setID()
		if !seen[s.ID] {
			seen[s.ID] = true
			specs = append(specs, s)
		}
	}
	for _, w := range p.Workloads {
		for _, m := range p.Models {
			add(Spec{Sweep: results.SweepModels, Model: m, Workers: m.Workers(workers), Workload: w, Mode: results.ModeClosed, Connections: conns, KeepAlive: true})
		}
	}
	for _, c := range p.connSweep(conns) {
		for _, m := range p.Models {
			add(Spec{Sweep: results.SweepConnections, Model: m, Workers: m.Workers(workers), Workload: p.Workloads[0], Mode: results.ModeClosed, Connections: c, KeepAlive: true})
		}
	}
	if len(p.RateSweep) > 0 {
		on := p.RateOn
		if !slices.Contains(p.Workloads, on) {
			on = p.Workloads[0]
		}
		for _, m := range p.Models {
			for _, f := range p.RateSweep {
				add(Spec{Sweep: results.SweepRate, Model: m, Workers: m.Workers(workers), Workload: on, Mode: results.ModeOpen, Connections: conns, RateOf: f, KeepAlive: true})
			}
		}
	}
	if p.NoKeepAlive {
		for _, m := range p.Models {
			add(Spec{Sweep: results.SweepKeepAlive, Model: m, Workers: m.Workers(workers), Workload: p.Workloads[0], Mode: results.ModeClosed, Connections: conns, KeepAlive: false})
		}
	}
	if p.WorkerSweep {
		for _, w := range p.Workloads {
			if p.WorkersOn == nil && w == "io" || p.WorkersOn != nil && !slices.Contains(p.WorkersOn, w) {
				continue // by default not io: waiting does not scale with cores
			}
			for _, m := range p.Models {
				if !m.TakesWorkers() {
					continue // singlecore, or an external command without {workers}
				}
				for _, n := range workerCounts(serverCPUs) {
					add(Spec{Sweep: results.SweepWorkers, Model: m, Workers: n, Workload: w, Mode: results.ModeClosed, Connections: conns, KeepAlive: true})
				}
			}
		}
	}
	return specs, nil
}

// workerCounts returns 1, 2, 4, ... up to and including cpus, then 1.5×
// and 2× cpus: past the cores the workers only take turns, and the sweep
// measures what that costs (context switches, a master shared by more
// workers) instead of leaving it to belief.
func workerCounts(cpus int) []int {
	var ns []int
	for n := 1; n < cpus; n *= 2 {
		ns = append(ns, n)
	}
	ns = append(ns, cpus)
	for _, n := range []int{int(math.Round(1.5 * float64(cpus))), 2 * cpus} {
		if n > ns[len(ns)-1] {
			ns = append(ns, n)
		}
	}
	return ns
}

// Estimate returns how long specs take to run, roughly: warm-up once per
// case, the repeats, and a second per case for starting and stopping.
func Estimate(specs []Spec, p Profile) time.Duration {
	var d time.Duration
	for _, sp := range specs {
		d += p.Warmup + time.Duration(p.Repeat)*p.Duration + time.Second
		if p.interleaves(sp) {
			d += time.Duration(p.Repeat) * p.VisitWarmup
		}
	}
	return d
}

// interleaves reports whether sp is measured in turn with the other
// models of its comparison.
func (p Profile) interleaves(sp Spec) bool {
	return p.Interleave && sp.Sweep == results.SweepModels
}
