package report

import (
	"fmt"
	"strings"

	"github.com/corebench/corebench/results"
)

// section is everything the report says about one workload.
type section struct {
	workload, path string
	models         []*results.Case // sweep "models", failed ones included
	conns, workers *scaling
	rate           []*results.Case
	rateSeries     []series
	knees          map[string]knee
	keepAlive      []*results.Case
	cost           *costing
}

// scaling is a connections or workers sweep with a USL fit per model.
type scaling struct {
	sweep  string
	cases  []*results.Case // the sweep's cases, failed ones included
	series []series        // plus the models-sweep point on each line
	fits   map[string]fit
}

type fit struct {
	usl     USL
	err     error
	flagged int // cases left out of the fit as flagged
}

// costing is COST and parallel efficiency from a worker sweep.
type costing struct {
	baseline *results.Case // singlecore
	series   []series      // the multi-core models
	costs    map[string]Cost
}

func (v view) section(workload string) *section {
	s := &section{workload: workload, path: v.path(workload), knees: map[string]knee{}}
	s.models = v.cases(sweepModels, workload)
	s.conns = v.scaling(sweepConnections, workload, func(c *results.Case) float64 { return float64(c.Connections) })
	s.workers = v.scaling(sweepWorkers, workload, func(c *results.Case) float64 { return float64(c.Workers) })
	s.rate = v.cases(sweepRate, workload)
	s.rateSeries = byModel(s.rate, func(c *results.Case) float64 { return c.Rate })
	for _, sr := range s.rateSeries {
		s.knees[sr.model] = kneeOf(sr)
	}
	s.keepAlive = v.cases(sweepKeepAlive, workload)
	if s.workers != nil {
		s.cost = v.costing(workload, s.workers)
	}
	return s
}

func (v view) scaling(sweep, workload string, x func(*results.Case) float64) *scaling {
	own := v.cases(sweep, workload)
	if len(own) == 0 {
		return nil
	}
	sc := &scaling{sweep: sweep, cases: own, fits: map[string]fit{}}
	sc.series = byModel(v.withModels(sweep, workload), x)
	for _, sr := range sc.series {
		pts, flagged := sr.fitPoints()
		u, err := FitUSL(pts)
		sc.fits[sr.model] = fit{usl: u, err: err, flagged: flagged}
	}
	return sc
}

func (v view) costing(workload string, sc *scaling) *costing {
	base := v.baseline(workload, sc.cases)
	if base == nil || flagOf(base).any() {
		return nil
	}
	c := &costing{baseline: base, costs: map[string]Cost{}}
	for _, sr := range sc.series {
		if sr.model == "singlecore" {
			continue
		}
		c.series = append(c.series, sr)
		c.costs[sr.model] = COST(base.Summary.RPS.Median, sr.medians())
	}
	if len(c.series) == 0 {
		return nil
	}
	return c
}

// fitLegend sums up a fit for a legend: "σ 0.031 κ 5.2e-4".
func (f fit) legend() string {
	if f.err != nil {
		return "(no USL fit)"
	}
	return fmt.Sprintf("σ %s  κ %s", sig(f.usl.Sigma), kappa(f.usl.Kappa))
}

// kappa formats κ, which is often tiny: 0, 0.0012, 5.2e-6.
func kappa(k float64) string {
	if k == 0 {
		return "0"
	}
	if k < 1e-3 {
		return strings.Replace(fmt.Sprintf("%.2g", k), "e-0", "e-", 1)
	}
	return sig(k)
}

// machine describes where the run measured, for chart subtitles.
func (v view) machine() string {
	e := v.run.Env
	s := fmt.Sprintf("%s · %d CPUs%s", cpuModel(e.CPUModel), e.CPUs, placementShort(v.run.Placement))
	if !v.run.Started.IsZero() {
		s += " · " + v.run.Started.UTC().Format("2006-01-02")
	}
	return s
}

// placementShort says in a few words where servers and generator ran:
// ", servers on 6, generator on 2".
func placementShort(pl results.Placement) string {
	switch {
	case pl.Shared:
		return ", servers and generator share them"
	case len(pl.ServerCPUs) > 0 && len(pl.LoadgenCPUs) > 0:
		return fmt.Sprintf(", servers on %d, generator on %d", len(pl.ServerCPUs), len(pl.LoadgenCPUs))
	}
	return ""
}

// workloadName is how titles name a workload: "cpu (/cpu)".
func (s *section) workloadName() string {
	if s.path == "" {
		return s.workload
	}
	return fmt.Sprintf("%s (%s)", s.workload, s.path)
}

// loadOf describes the load of a set of cases when they share it:
// "100 connections, keep-alive, 6 workers".
func loadOf(cases []*results.Case) string {
	if len(cases) == 0 {
		return ""
	}
	same := func(f func(*results.Case) string) string {
		v := f(cases[0])
		for _, c := range cases[1:] {
			if f(c) != v {
				return ""
			}
		}
		return v
	}
	var parts []string
	if s := same(func(c *results.Case) string {
		if c.Mode == "open" {
			return fmt.Sprintf("open loop at %s req/s", si(c.Rate))
		}
		return fmt.Sprintf("%d connections", c.Connections)
	}); s != "" {
		parts = append(parts, s)
	}
	if s := same(func(c *results.Case) string {
		if c.KeepAlive {
			return "keep-alive"
		}
		return "no keep-alive"
	}); s != "" {
		parts = append(parts, s)
	}
	// singlecore always runs one worker: it says nothing about the others.
	workers, single := map[int]bool{}, false
	for _, c := range cases {
		if c.Model == "singlecore" {
			single = true
		} else {
			workers[c.Workers] = true
		}
	}
	if len(workers) == 1 {
		for w := range workers {
			if single {
				parts = append(parts, fmt.Sprintf("%d workers (singlecore 1)", w))
			} else {
				parts = append(parts, fmt.Sprintf("%d workers", w))
			}
		}
	}
	return strings.Join(parts, ", ")
}
