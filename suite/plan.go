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
	"slices"
	"time"

	"github.com/corebench/corebench/results"
)

// DefaultModels are what the built-in profiles run: every built-in
// variant but prefork-sticky. Sticky sends each client address to one
// worker, and the generator runs on one host, so it would measure a
// single worker as if it were the model's capacity; it is for sessions,
// which the state scenario shows. `bench run --models` runs it.
var DefaultModels = slices.DeleteFunc(results.Variants(), func(v results.Variant) bool {
	return v == results.PreforkSticky
})

// Profile is a named set of defaults for a run.
type Profile struct {
	Name        string
	Models      []results.Variant
	Workloads   []string
	Connections int       // concurrency of the models sweep
	ConnSweep   []int     // connections sweep: closed loop at each count
	RateSweep   []float64 // open-loop rates as fractions of each model's measured capacity
	RateOn      string    // workload of the rate sweep
	NoKeepAlive bool      // add a connection-per-request case per model
	WorkerSweep bool      // sweep the workers of multi-worker models, 1..cores
	Duration    time.Duration
	Warmup      time.Duration
	Repeat      int
	About       string // what it measures and how long it takes, for --help
}

// Profiles are the built-in profiles. quick is the default.
var Profiles = map[string]Profile{
	"smoke": {
		Name: "smoke", Models: DefaultModels, Workloads: []string{"hello", "cpu"}, Connections: 4,
		Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond, Repeat: 1,
		About: "a few seconds: every model once, for tests",
	},
	"quick": {
		Name: "quick", Models: DefaultModels, Workloads: []string{"hello", "cpu"}, Connections: 100,
		Duration: 3 * time.Second, Warmup: time.Second, Repeat: 2,
		About: "every model on / and /cpu, 100 connections, 2 repeats; under 2 minutes",
	},
	"standard": {
		Name: "standard", Models: DefaultModels, Workloads: []string{"hello", "cpu", "io"}, Connections: 100,
		ConnSweep: []int{1, 4, 16, 64, 256}, RateSweep: []float64{0.25, 0.5, 0.75, 0.9, 1.0, 1.1}, RateOn: "cpu",
		NoKeepAlive: true, Duration: 3 * time.Second, Warmup: time.Second, Repeat: 2,
		About: "quick plus /io, a connection sweep, an open-loop rate sweep to each model's knee and connection-per-request; 10 to 15 minutes",
	},
	"full": {
		Name: "full", Models: DefaultModels, Workloads: []string{"hello", "cpu", "io"}, Connections: 100,
		ConnSweep: []int{1, 4, 16, 64, 256}, RateSweep: []float64{0.25, 0.5, 0.75, 0.9, 1.0, 1.1}, RateOn: "cpu",
		NoKeepAlive: true, WorkerSweep: true, Duration: 5 * time.Second, Warmup: time.Second, Repeat: 5,
		About: "standard plus worker sweeps 1..cores and 5 repeats; what a many-core box deserves (an hour or more)",
	},
}

// ProfileNames lists the profiles from smallest to largest.
var ProfileNames = []string{"smoke", "quick", "standard", "full"}

// Spec is one planned case.
type Spec struct {
	ID          string
	Sweep       results.Sweep
	Model       results.Variant
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
			add(Spec{Sweep: results.SweepModels, Model: m, Workers: m.Workers(serverCPUs), Workload: w, Mode: results.ModeClosed, Connections: p.Connections, KeepAlive: true})
		}
	}
	for _, c := range p.ConnSweep {
		for _, m := range p.Models {
			add(Spec{Sweep: results.SweepConnections, Model: m, Workers: m.Workers(serverCPUs), Workload: p.Workloads[0], Mode: results.ModeClosed, Connections: c, KeepAlive: true})
		}
	}
	if len(p.RateSweep) > 0 {
		on := p.RateOn
		if !slices.Contains(p.Workloads, on) {
			on = p.Workloads[0]
		}
		for _, m := range p.Models {
			for _, f := range p.RateSweep {
				add(Spec{Sweep: results.SweepRate, Model: m, Workers: m.Workers(serverCPUs), Workload: on, Mode: results.ModeOpen, Connections: p.Connections, RateOf: f, KeepAlive: true})
			}
		}
	}
	if p.NoKeepAlive {
		for _, m := range p.Models {
			add(Spec{Sweep: results.SweepKeepAlive, Model: m, Workers: m.Workers(serverCPUs), Workload: p.Workloads[0], Mode: results.ModeClosed, Connections: p.Connections, KeepAlive: false})
		}
	}
	if p.WorkerSweep {
		for _, w := range p.Workloads {
			if w == "io" {
				continue // waiting does not scale with cores
			}
			for _, m := range p.Models {
				if m.OneWorker() {
					continue
				}
				for _, n := range workerCounts(serverCPUs) {
					add(Spec{Sweep: results.SweepWorkers, Model: m, Workers: n, Workload: w, Mode: results.ModeClosed, Connections: p.Connections, KeepAlive: true})
				}
			}
		}
	}
	return specs, nil
}

// workerCounts returns 1, 2, 4, ... up to and including cpus.
func workerCounts(cpus int) []int {
	var ns []int
	for n := 1; n < cpus; n *= 2 {
		ns = append(ns, n)
	}
	return append(ns, cpus)
}

// Estimate returns how long specs take to run, roughly: warm-up once per
// case, the repeats, and a second per case for starting and stopping.
func Estimate(specs []Spec, p Profile) time.Duration {
	per := p.Warmup + time.Duration(p.Repeat)*p.Duration + time.Second
	return time.Duration(len(specs)) * per
}
