package suite

import (
	"os"
	"slices"
	"time"

	"github.com/corebench/corebench/internal/topology"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/variant"
)

// Overrides are what a user changed of a profile. A zero field changes
// nothing; the values are taken as valid (the CLI checks its flags).
type Overrides struct {
	Models      []variant.Variant // the built-in models to run instead of the profile's
	Servers     []variant.Variant // external servers, run after the models
	Workloads   []string
	Connections []int // one count, or several for a connections sweep: wins over sizing to the machine
	Duration    time.Duration
	Warmup      *time.Duration // 0 is no warm-up
	Repeat      int
	WorkerSweep bool // add the worker sweep
	// Smoke cuts the profile to smoke scale (durations, repeats and sweeps),
	// for tests that run every command.
	Smoke bool
}

// With returns p with o applied.
func (p Profile) With(o Overrides) Profile {
	if o.Models != nil {
		p.Models = o.Models
	}
	p.Models = append(slices.Clone(p.Models), o.Servers...)
	if o.Workloads != nil {
		p.Workloads = o.Workloads
	}
	if n := len(o.Connections); n > 0 {
		p.PerCPU = 0
		p.Connections = o.Connections[0]
		if n > 1 {
			p.ConnSweep = o.Connections
		}
	}
	if o.Duration > 0 {
		p.Duration = o.Duration
	}
	if o.Warmup != nil {
		p.Warmup = *o.Warmup
		p.VisitWarmup = min(p.VisitWarmup, *o.Warmup) // --warmup 0: none at all
	}
	if o.Repeat > 0 {
		p.Repeat = o.Repeat
	}
	p.WorkerSweep = p.WorkerSweep || o.WorkerSweep
	if o.Smoke {
		s := Profiles["smoke"]
		p.Duration, p.Warmup, p.Repeat = s.Duration, s.Warmup, s.Repeat
		p.Interleave, p.VisitWarmup = s.Interleave, s.VisitWarmup
		p.Connections, p.PerCPU = min(p.Connections, 8), 0
		p.ConnSweep = p.ConnSweep[:min(len(p.ConnSweep), 2)]
		p.RateSweep = p.RateSweep[:min(len(p.RateSweep), 2)]
	}
	return p
}

// NewRun is the record of a run of p about to start on this machine: its
// id (the UTC time and the host), the environment, placement and
// topology, the servers and the settings, with no case yet. Of s, the
// fields the profile decides (duration, warm-up, repeats, connections)
// are set here; connsFrom, when set, says how the connections were
// decided instead of the profile's words.
func NewRun(p Profile, env results.Env, place results.Placement, topo *topology.Topology, s results.Settings, connsFrom string) *results.Run {
	start := time.Now().UTC()
	host, _ := os.Hostname()
	s.Duration, s.Warmup, s.Repeat = p.Duration.Seconds(), p.Warmup.Seconds(), p.Repeat
	s.Connections, s.ConnectionsFrom = p.Conns(len(place.ServerCPUs))
	if connsFrom != "" {
		s.ConnectionsFrom = connsFrom
	}
	env.Noise = MachineNoise(topology.DefaultRoot) // this machine's: a --sysfs tree only plans
	return &results.Run{
		ID: start.Format("20060102T150405Z") + "-" + host, Started: start, Profile: p.Name,
		Env: env, Placement: place, Topology: TopologyRecord(topo), Servers: ServersOf(p.Models),
		Settings: s, Cases: []results.Case{},
	}
}
