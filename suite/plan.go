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
	"sort"
	"strings"
	"time"
)

// Model names, in the order every output uses.
var Models = []string{"singlecore", "goroutines", "prefork-rr", "prefork-os", "prefork-reuseport"}

// Workloads maps workload names to their request paths.
var Workloads = map[string]string{"hello": "/", "json": "/json", "cpu": "/cpu", "io": "/io"}

// Profile is a named set of defaults for a run.
type Profile struct {
	Name        string
	Models      []string
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
		Name: "smoke", Models: Models, Workloads: []string{"hello", "cpu"}, Connections: 4,
		Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond, Repeat: 1,
		About: "a few seconds: every model once, for tests",
	},
	"quick": {
		Name: "quick", Models: Models, Workloads: []string{"hello", "cpu"}, Connections: 100,
		Duration: 3 * time.Second, Warmup: time.Second, Repeat: 2,
		About: "every model on / and /cpu, 100 connections, 2 repeats; under 2 minutes",
	},
	"standard": {
		Name: "standard", Models: Models, Workloads: []string{"hello", "cpu", "io"}, Connections: 100,
		ConnSweep: []int{1, 4, 16, 64, 256}, RateSweep: []float64{0.25, 0.5, 0.75, 0.9, 1.0, 1.1}, RateOn: "cpu",
		NoKeepAlive: true, Duration: 3 * time.Second, Warmup: time.Second, Repeat: 2,
		About: "quick plus /io, a connection sweep, an open-loop rate sweep to each model's knee and connection-per-request; 10 to 15 minutes",
	},
	"full": {
		Name: "full", Models: Models, Workloads: []string{"hello", "cpu", "io"}, Connections: 100,
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
	Sweep       string
	Model       string
	Workers     int
	Workload    string
	Path        string
	Mode        string  // closed or open
	Connections int     // closed loop: exactly; open loop: to start with
	Rate        float64 // open loop: req/s, set when the plan runs
	RateOf      float64 // open loop: fraction of the capacity the models sweep measured
	KeepAlive   bool
}

// caseID names a case so the same case has the same ID in every run.
func caseID(model, workload, mode string, conns int, rateOf float64, workers int, keepAlive bool) string {
	load := fmt.Sprintf("closed-c%d", conns)
	if mode == "open" {
		load = fmt.Sprintf("open-%gx", rateOf)
	}
	id := fmt.Sprintf("%s/%s/%s/w%d", model, workload, load, workers)
	if !keepAlive {
		id += "/nokeepalive"
	}
	return id
}

func (s *Spec) setID() {
	s.ID = caseID(s.Model, s.Workload, s.Mode, s.Connections, s.RateOf, s.Workers, s.KeepAlive)
}

// Plan expands a profile into cases for a server with serverCPUs CPUs.
// A case that two sweeps share is planned once, under the first.
func Plan(p Profile, serverCPUs int) ([]Spec, error) {
	if len(p.Models) == 0 || len(p.Workloads) == 0 {
		return nil, fmt.Errorf("nothing to run: no models or no workloads")
	}
	for _, m := range p.Models {
		if !slices.Contains(Models, m) {
			return nil, fmt.Errorf("unknown model %q: want %s", m, strings.Join(Models, ", "))
		}
	}
	for _, w := range p.Workloads {
		if _, ok := Workloads[w]; !ok {
			return nil, fmt.Errorf("unknown workload %q: want %s", w, strings.Join(workloadNames(), ", "))
		}
	}
	var specs []Spec
	seen := map[string]bool{}
	add := func(s Spec) {
		s.Path = Workloads[s.Workload]
		s.setID()
		if !seen[s.ID] {
			seen[s.ID] = true
			specs = append(specs, s)
		}
	}
	workers := func(model string) int {
		if model == "singlecore" {
			return 1
		}
		return serverCPUs
	}
	for _, w := range p.Workloads {
		for _, m := range p.Models {
			add(Spec{Sweep: "models", Model: m, Workers: workers(m), Workload: w, Mode: "closed", Connections: p.Connections, KeepAlive: true})
		}
	}
	for _, c := range p.ConnSweep {
		for _, m := range p.Models {
			add(Spec{Sweep: "connections", Model: m, Workers: workers(m), Workload: p.Workloads[0], Mode: "closed", Connections: c, KeepAlive: true})
		}
	}
	if len(p.RateSweep) > 0 {
		on := p.RateOn
		if !slices.Contains(p.Workloads, on) {
			on = p.Workloads[0]
		}
		for _, m := range p.Models {
			for _, f := range p.RateSweep {
				add(Spec{Sweep: "rate", Model: m, Workers: workers(m), Workload: on, Mode: "open", Connections: p.Connections, RateOf: f, KeepAlive: true})
			}
		}
	}
	if p.NoKeepAlive {
		for _, m := range p.Models {
			add(Spec{Sweep: "keepalive", Model: m, Workers: workers(m), Workload: p.Workloads[0], Mode: "closed", Connections: p.Connections, KeepAlive: false})
		}
	}
	if p.WorkerSweep {
		for _, w := range p.Workloads {
			if w == "io" {
				continue // waiting does not scale with cores
			}
			for _, m := range p.Models {
				if m == "singlecore" {
					continue
				}
				for _, n := range workerCounts(serverCPUs) {
					add(Spec{Sweep: "workers", Model: m, Workers: n, Workload: w, Mode: "closed", Connections: p.Connections, KeepAlive: true})
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

func workloadNames() []string {
	var ns []string
	for n := range Workloads {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// Estimate returns how long specs take to run, roughly: warm-up once per
// case, the repeats, and a second per case for starting and stopping.
func Estimate(specs []Spec, p Profile) time.Duration {
	per := p.Warmup + time.Duration(p.Repeat)*p.Duration + time.Second
	return time.Duration(len(specs)) * per
}
