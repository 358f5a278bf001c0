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

// scaling is a connections or workers sweep; a workers sweep has a USL
// fit per model.
type scaling struct {
	sweep  results.Sweep
	cases  []*results.Case // the sweep's cases, failed ones included
	series []series        // plus the models-sweep point on each line
	fits   map[string]fit  // by model; a workers sweep only
}

// fit is a model's USL fit, and why it is not drawn if it is not.
type fit struct {
	usl     USL
	err     error  // why there is no fit, or why it is not good enough to show
	short   string // err in a few words, for a legend
	flagged int    // cases left out of the fit as flagged
}

// The USL describes throughput against a number of parallel units
// (workers, cores), each doing the same work: that is a worker sweep. A
// closed loop's connections are offered load, not parallelism: past the
// server's capacity throughput flattens whatever the law's curve does, so
// the report fits no USL to a connections sweep.
//
// A fit is shown only where it describes the data:
//   - uslMinCounts distinct worker counts: the law has 3 parameters, and
//     through 3 points it fits anything exactly, which shows nothing.
//   - R² of at least uslMinR2. Across a worker sweep throughput varies
//     several-fold, so most of its variance is the trend, and any rising
//     curve explains much of it (the connection-sweep fits of R² 0.82–0.94
//     put λ at twice what was measured). Repeats of a case differ by
//     1–3%, which leaves a law that describes the points above 0.99
//     (3% scatter over a sweep from 1 to 8 workers: R² ≈ 0.997); 0.98
//     allows residuals of about 8% of a typical point, and no more.
const (
	uslMinCounts = 4
	uslMinR2     = 0.98
)

// fitWorkers fits the USL to a worker sweep's unflagged points, and
// refuses a fit that cannot say anything or does not describe them.
func fitWorkers(sr series) fit {
	pts, flagged := sr.fitPoints()
	f := fit{flagged: flagged}
	distinct := map[float64]bool{}
	for _, p := range pts {
		distinct[p.N] = true
	}
	if len(distinct) < uslMinCounts {
		f.err = fmt.Errorf("%s measured, a fit needs %d or more (3 parameters)", plural(len(distinct), "worker count"), uslMinCounts)
		if flagged > 0 {
			f.err = fmt.Errorf("%s left without flagged cases, a fit needs %d or more (3 parameters)", plural(len(distinct), "worker count"), uslMinCounts)
		}
		f.short = plural(len(distinct), "worker count")
		return f
	}
	f.usl, f.err = FitUSL(pts)
	switch {
	case f.err != nil:
		f.short = "no fit"
	case f.usl.R2 < uslMinR2:
		f.err = fmt.Errorf("R² %.3f is below %g: the law does not describe these points", f.usl.R2, uslMinR2)
		f.short = fmt.Sprintf("R² %.3f < %g", f.usl.R2, uslMinR2)
	}
	return f
}

// costing is COST and parallel efficiency from a worker sweep.
type costing struct {
	baseline *results.Case // singlecore
	series   []series      // the multi-core models
	costs    map[string]Cost
}

func (v view) section(workload string) *section {
	s := &section{workload: workload, path: v.path(workload), knees: map[string]knee{}}
	s.models = v.cases(results.SweepModels, workload)
	s.conns = v.scaling(results.SweepConnections, workload, func(c *results.Case) float64 { return float64(c.Connections) })
	s.workers = v.scaling(results.SweepWorkers, workload, func(c *results.Case) float64 { return float64(c.Workers) })
	s.rate = v.cases(results.SweepRate, workload)
	s.rateSeries = byModel(s.rate, func(c *results.Case) float64 { return c.Rate })
	for _, sr := range s.rateSeries {
		s.knees[sr.model] = kneeOf(sr)
	}
	s.keepAlive = v.cases(results.SweepKeepAlive, workload)
	if s.workers != nil {
		s.cost = v.costing(workload, s.workers)
	}
	return s
}

func (v view) scaling(sweep results.Sweep, workload string, x func(*results.Case) float64) *scaling {
	own := v.cases(sweep, workload)
	if len(own) == 0 {
		return nil
	}
	sc := &scaling{sweep: sweep, cases: own, fits: map[string]fit{}}
	sc.series = byModel(v.withModels(sweep, workload), x)
	if sweep != results.SweepWorkers {
		return sc
	}
	for _, sr := range sc.series {
		if len(sr.xs) > 1 { // one point, such as singlecore's one worker: nothing to fit
			sc.fits[sr.model] = fitWorkers(sr)
		}
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
		if sr.model == results.SingleCore.Name {
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

// legend sums up a fit for a legend: "σ 0.031  κ 5.2e-4  R² 0.994", or
// why there is none.
func (f fit) legend() string {
	if f.err != nil {
		return "no USL: " + f.short
	}
	return fmt.Sprintf("σ %s  κ %s  R² %.3f", sig(f.usl.Sigma), kappa(f.usl.Kappa), f.usl.R2)
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
		if c.Mode == results.ModeOpen {
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
		if c.Model == results.SingleCore.Name {
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
