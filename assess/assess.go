// Package assess is corebench's judgement of what it measured: what
// limited each case (LimitOf, from the CPU figures of the case, and the
// placement), the machine noise it met (NoiseWarnings), and the thresholds
// past which a figure is flagged rather than taken as the server's
// capacity (FailedFlag) or a machine's figures are not performance
// figures (StealWarn).
//
// The suite assesses each case as it measures it, so results.json records
// the verdict; what reads a file for people (bench report, bench compare)
// assesses it again with Run, which fills in only what a file written
// before limited_by was recorded lacks.
//
// Of the module it imports results, stats and variant: nothing that
// draws, measures or parses flags.
package assess

import (
	"fmt"

	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
	"github.com/corebench/corebench/variant"
)

// Limits lists every limit in the order LimitOf tries them.
var Limits = []results.Limit{results.LimitFailures, results.LimitGenerator, results.LimitRate, results.LimitMaster,
	results.LimitServer, results.LimitShared, results.LimitWait, results.LimitConnections, results.LimitUnknown}

// FailedFlag is the share of failed requests above which a measurement is
// flagged in every table and chart and left out of fits: its rate is not
// the server's capacity.
const FailedFlag = 0.01

// The thresholds LimitOf applies.
const (
	// BusyShare is how near its capacity a CPU figure must be to count
	// as the limit: 85%. Process CPU is sampled at 100 Hz and a server
	// never quite fills its cores (wake-ups, the generator's share), so
	// a resource that ran out reads 85–100%, one with room well under.
	BusyShare = 0.85
	// KeptUpShare is the share of the offered rate an open loop must serve
	// to have kept up with it (as the report's knee).
	KeptUpShare = 0.95
	// LowLatencyMs is the median latency under which a closed loop with
	// idle CPUs is short of load rather than held up somewhere unmeasured:
	// with a few ms per round trip, every connection was sending again at
	// once, and the server had time to spare.
	LowLatencyMs = 2.0
)

// ModelsOwn reports whether the limit is the model's own (its cores, its
// master): the only limits under which req/s is the model's capacity on
// the cores it had. Shared cores, the wait of /io and the offered rate
// are conditions of the run; the generator, too few connections,
// failures and an unknown limit mean the figure says nothing of it.
func ModelsOwn(l results.Limit) bool { return l == results.LimitServer || l == results.LimitMaster }

// Measures are the figures of one case that LimitOf reads. Cores are
// CPU-seconds per second of wall time, medians over the repeats.
type Measures struct {
	Mode        results.Mode
	Workload    string
	Rate        float64 // open loop: offered req/s
	RPS         float64 // successful req/s
	P50Ms       float64
	FailedShare float64
	Saturated   bool    // the generator was the bottleneck in some repeat
	ConnBusy    float64 // open loop: share of requests late for want of a free connection (the server's backlog)

	ServerCores float64 // every server process, master included
	// MasterCores is the prefork master's alone (part of ServerCores);
	// negative when not measured (one-process models, older results).
	MasterCores float64
	// Allotted is the cores the server could use: its CPUs, capped by
	// its workers (a prefork worker and a GOMAXPROCS thread each use at
	// most one).
	Allotted float64
	// Workers is the prefork workers' count, for their share of the
	// cores; 0 for other models.
	Workers int

	Shared bool // servers and generator share CPUs
	// CPUBusy is the busy share of the server's CPUs whoever kept them
	// busy; negative when not measured.
	CPUBusy      float64
	LoadgenCores float64
}

// LimitOf says what limited a case, and why in one sentence with the
// figures. The rules, tried in order (the first that holds wins):
//
//  1. failures: over FailedFlag of the requests failed;
//  2. generator: the generator saturated;
//  3. open_rate: an open loop served KeptUpShare of the offered rate
//     with under 1% of requests waiting for a free connection;
//  4. prefork_master: the master used BusyShare of one core or more
//     while its workers used under BusyShare of theirs;
//  5. server_cores: the server used BusyShare of its allotted cores;
//  6. shared_cores: placement shared and the server's CPUs BusyShare busy;
//  7. request_wait: the workload is io;
//  8. connections: a closed loop with p50 under LowLatencyMs;
//  9. unknown: anything else, or the server's CPU was not measured
//     (after rule 3).
func LimitOf(m Measures) (results.Limit, string) {
	cores := func(x float64) string { return fmt.Sprintf("%.2f", x) }
	server := fmt.Sprintf("the server used %s of its %s allotted cores (%.0f%%)", cores(m.ServerCores), cores(m.Allotted), 100*share(m.ServerCores, m.Allotted))
	switch {
	case m.FailedShare > FailedFlag:
		return results.LimitFailures, fmt.Sprintf("%.1f%% of requests failed (over %g%%): req/s counts successes only", 100*m.FailedShare, 100*FailedFlag)
	case m.Saturated:
		return results.LimitGenerator, fmt.Sprintf("the load generator saturated (it used %s cores): the server may be faster", cores(m.LoadgenCores))
	case m.Mode == results.ModeOpen && m.Rate > 0 && m.RPS >= KeptUpShare*m.Rate && m.ConnBusy <= 0.01:
		return results.LimitRate, fmt.Sprintf("served %.0f of the %.0f req/s offered: the rate set req/s, and %s", m.RPS, m.Rate, server)
	}
	if m.ServerCores <= 0 {
		// A server on another host, or a platform without /proc: nothing
		// says whether it, or the load, ran out.
		return results.LimitUnknown, "the server's CPU was not measured"
	}
	if m.MasterCores >= BusyShare && m.Workers > 0 {
		workers := m.ServerCores - m.MasterCores
		wcores := min(float64(m.Workers), m.Allotted)
		if share(workers, wcores) < BusyShare {
			return results.LimitMaster, fmt.Sprintf("the prefork master used %s cores (a master passes connections on about one) while the %d workers used %s of %s cores",
				cores(m.MasterCores), m.Workers, cores(workers), cores(wcores))
		}
	}
	switch {
	case m.Allotted > 0 && share(m.ServerCores, m.Allotted) >= BusyShare:
		return results.LimitServer, server
	case m.Shared && m.CPUBusy >= BusyShare:
		return results.LimitShared, fmt.Sprintf("the server's CPUs, shared with the generator, were %.0f%% busy: %s and the generator %s cores",
			100*m.CPUBusy, server, cores(m.LoadgenCores))
	case m.Workload == "io":
		return results.LimitWait, "each /io request waits by design: the wait and the connections set req/s, and " + server
	case m.Mode == results.ModeClosed && m.P50Ms < LowLatencyMs:
		return results.LimitConnections, fmt.Sprintf("%s and the generator %s, with p50 %.2f ms: the connections could not offer more load", server, cores(m.LoadgenCores), m.P50Ms)
	}
	return results.LimitUnknown, fmt.Sprintf("%s and the generator %s, yet p50 was %.2f ms: something not measured set the pace", server, cores(m.LoadgenCores), m.P50Ms)
}

func share(x, of float64) float64 {
	if of <= 0 {
		return 0
	}
	return x / of
}

// AllottedCPUs are the CPUs a case's server could run on: what the case
// recorded, else (results written before it did) the placement's server
// CPUs, the first alone for a one-worker model.
func AllottedCPUs(c *results.Case, p results.Placement) []int {
	if len(c.ServerCPUs) > 0 {
		return c.ServerCPUs
	}
	if v, ok := variant.Lookup(c.Model); ok && v.OneWorker() && len(p.ServerCPUs) > 0 {
		return p.ServerCPUs[:1]
	}
	return p.ServerCPUs
}

// MeasuresOf gathers what LimitOf reads from a summarised case run under
// placement p.
func MeasuresOf(c *results.Case, p results.Placement) Measures {
	s := c.Summary
	cpus := AllottedCPUs(c, p)
	m := Measures{
		Mode: c.Mode, Workload: c.Workload, Rate: c.Rate, RPS: s.RPS.Median, P50Ms: s.P50.Median,
		FailedShare: s.FailedShare, Saturated: s.Saturated, ServerCores: s.ServerCores.Median,
		MasterCores: -1, Allotted: float64(len(cpus)), Shared: p.Shared, CPUBusy: -1,
		LoadgenCores: s.LoadgenCores.Median,
	}
	v, known := variant.Lookup(c.Model)
	if known && c.Workers > 0 && !v.External() {
		m.Allotted = min(m.Allotted, float64(c.Workers))
	}
	if s.MasterCores.N > 0 {
		m.MasterCores, m.Workers = s.MasterCores.Median, c.Workers
	}
	var busy, late []float64
	for _, r := range c.Repeats {
		if b, ok := meanBusy(r.Load.MachineCPU, cpus); ok {
			busy = append(busy, b)
		}
		if r.Load.Requests > 0 {
			late = append(late, float64(r.Load.Late.ConnBusy)/float64(r.Load.Requests))
		}
	}
	if len(busy) > 0 {
		m.CPUBusy = stats.SpreadOf(busy).Median
	}
	if len(late) > 0 {
		m.ConnBusy = stats.SpreadOf(late).Median
	}
	return m
}

// meanBusy is the mean busy share of cpus in a reading of every CPU.
func meanBusy(machine []float64, cpus []int) (float64, bool) {
	var sum float64
	n := 0
	for _, c := range cpus {
		if c >= 0 && c < len(machine) {
			sum += machine[c]
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	return sum / float64(n), true
}

// Case sets what limited a summarised case and the machine noise it met,
// from its figures, the run's placement p and machine e; a case that has
// them (as recorded when it ran) keeps them.
func Case(c *results.Case, p results.Placement, e results.Env) {
	if c.Summary == nil {
		return
	}
	if c.Summary.ServerCores.N == 0 {
		stats.SummarizeCores(c) // a summary written before they were
	}
	if c.Summary.LimitedBy == "" {
		c.Summary.LimitedBy, c.Summary.LimitedWhy = LimitOf(MeasuresOf(c, p))
	}
	if c.Summary.Noise == nil {
		c.Summary.Noise = NoiseWarnings(e.Noise, e.CPUs, c)
	}
}

// Run assesses every case of the run (see Case): a run as the suite wrote
// it keeps its verdicts, one written before they were recorded gets them.
func Run(r *results.Run) {
	for i := range r.Cases {
		Case(&r.Cases[i], r.Placement, r.Env)
	}
}
