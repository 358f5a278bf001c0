package report

import (
	"fmt"
	"strings"

	"github.com/corebench/corebench/assess"
	"github.com/corebench/corebench/report/internal/numfmt"
	"github.com/corebench/corebench/results"
)

// TopologyText describes a recorded topology in one line: CPUs, physical
// cores, packages, SMT, NUMA nodes, and what sysfs did not say.
func TopologyText(t *results.Topology) string {
	if t == nil {
		return ""
	}
	lo, hi := 0, 0
	for i, c := range t.Cores {
		if i == 0 || len(c) < lo {
			lo = len(c)
		}
		hi = max(hi, len(c))
	}
	threads := fmt.Sprintf("%s each", plural(hi, "thread"))
	if lo != hi {
		threads = fmt.Sprintf("%d to %d threads each", lo, hi)
	}
	s := fmt.Sprintf("%s on %s (%s), %s, %s", plural(t.CPUs, "CPU"), plural(len(t.Cores), "physical core"),
		threads, plural(t.Packages, "package"), smtText(t.SMT))
	var nodes []string
	for _, n := range t.Nodes {
		nodes = append(nodes, fmt.Sprintf("%d: %s", n.ID, cpuList(n.CPUs)))
	}
	switch len(nodes) {
	case 0:
	case 1:
		s += "; NUMA node " + nodes[0]
	default:
		s += "; NUMA nodes " + strings.Join(nodes, ", ")
	}
	if t.Source != "" && t.Source != "/sys" {
		s += "; read from " + t.Source
	}
	for _, n := range t.Notes {
		s += "; " + n
	}
	return s
}

// smtText words devices/system/cpu/smt/control's value.
func smtText(control string) string {
	switch control {
	case "on", "off":
		return "SMT " + control
	case "forceoff":
		return "SMT off (forced)"
	case "notsupported":
		return "no SMT"
	case "", results.SMTNotExposed, "notimplemented":
		return "SMT control not exposed"
	}
	return "SMT control " + control
}

// placementPolicy is how bench run places the servers and the generator
// when not told, and why; the report's environment section shows it.
var placementPolicy = "Unless `--server-cpus`/`--loadgen-cpus` say otherwise: the generator gets whole physical cores, " +
	"never a hardware thread of a core a server uses (two threads of one core share its execution units and caches, so a " +
	"generator there takes capacity the figures would credit to the server); enough of them to keep up with the cheapest " +
	"workload, from measured costs (" + fmt.Sprintf("about %g µs of generator CPU per hello request against %g µs for a Go server, ", assess.GeneratorMicros, assess.ServerMicros) +
	"docs/performance.md: a third of the CPUs), rounded to whole cores and kept within " +
	fmt.Sprintf("%g%% to %g%%", 100*assess.MinLoadgenShare, 100*assess.MaxLoadgenShare) + "; on one NUMA node when " +
	"they fit, so its memory traffic stays on one socket. The servers get the rest, listed with the first thread of every " +
	"core before any second, so prefork workers pinned round-robin from the list get whole cores first. Under 4 CPUs, or " +
	"on one core, they share every CPU."

// generatorShareText checks the placement's generator share against this
// run's own costs: the share the generator would have needed to keep up
// with the cheapest measured case, gen/(gen+server) of its CPU per
// request, against the share it had. The placement decides the share
// before anything is measured, from another machine's figures; this says
// whether they held here. "" when the cores were shared or no case tells.
func generatorShareText(run *results.Run) string {
	pl := run.Placement
	if pl.Shared || len(pl.LoadgenCPUs) == 0 || len(pl.ServerCPUs) == 0 {
		return ""
	}
	var best *results.Case
	for i := range run.Cases {
		c := &run.Cases[i]
		if c.Sweep != results.SweepModels || !c.KeepAlive || !measured(c) || flagOf(c).failed > 0 {
			continue
		}
		s := c.Summary
		if s.RPS.Median <= 0 || s.LoadgenCores.N == 0 || s.ServerCPUPerReq.N == 0 {
			continue
		}
		if best == nil || s.ServerCPUPerReq.Median < best.Summary.ServerCPUPerReq.Median {
			best = c
		}
	}
	if best == nil {
		return ""
	}
	s := best.Summary
	gen := 1e6 * s.LoadgenCores.Median / s.RPS.Median // µs of generator CPU per request
	srv := s.ServerCPUPerReq.Median
	need := gen / (gen + srv)
	have := float64(len(pl.LoadgenCPUs)) / float64(len(pl.LoadgenCPUs)+len(pl.ServerCPUs))
	text := fmt.Sprintf("on the cheapest case (%s) the generator spent %s µs of CPU per request and the server %s µs, so keeping up needed %s%% of the CPUs; the generator had %s%%",
		best.ID, numfmt.Sig(gen), numfmt.Sig(srv), numfmt.Sig(100*need), numfmt.Sig(100*have))
	if need > have {
		text += ": **less than it needed, so on the cheapest workloads the generator runs out before the server** (see each case's limited by)"
	}
	return text
}
