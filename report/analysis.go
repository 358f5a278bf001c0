package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/corebench/corebench/report/internal/numfmt"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
	"github.com/corebench/corebench/variant"
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
	cpus   int             // the servers' CPUs, 0 if the run does not say
}

// fit is a model's USL fit, and why it is not drawn if it is not.
type fit struct {
	usl     stats.USL
	err     error  // why there is no fit, or why it is not good enough to show
	short   string // err in a few words, for a legend
	flagged int    // cases left out of the fit as flagged
	points  int    // points fitted (or that were too few)
	past    int    // worker counts past the server CPUs, not fitted
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

// fitWorkers fits the USL to a worker sweep's unflagged points up to the
// server CPUs (all of them when cpus is 0), and refuses a fit that cannot
// say anything or does not describe them.
func fitWorkers(sr series, cpus int) fit {
	all, flagged := sr.fitPoints()
	f := fit{flagged: flagged}
	var pts []stats.Point
	distinct, past := map[float64]bool{}, map[float64]bool{}
	for _, p := range all {
		if cpus > 0 && p.N > float64(cpus) {
			past[p.N] = true
			continue
		}
		pts = append(pts, p)
		distinct[p.N] = true
	}
	f.points, f.past = len(pts), len(past)
	if len(distinct) < uslMinCounts {
		f.err = fmt.Errorf("%s measured, a fit needs %d or more (3 parameters)", plural(len(distinct), "worker count"), uslMinCounts)
		if flagged > 0 {
			f.err = fmt.Errorf("%s left without flagged cases, a fit needs %d or more (3 parameters)", plural(len(distinct), "worker count"), uslMinCounts)
		}
		if f.past > 0 {
			f.err = fmt.Errorf("%s up to the %d CPUs, a fit needs %d or more (3 parameters); the %s past them bring no cores to fit",
				plural(len(distinct), "worker count"), cpus, uslMinCounts, plural(f.past, "count"))
		}
		f.short = plural(len(distinct), "worker count")
		return f
	}
	f.usl, f.err = stats.FitUSL(pts)
	switch {
	case f.err != nil:
		f.short = "no fit"
	case f.usl.R2 < uslMinR2:
		f.err = fmt.Errorf("R² %.3f is below %g: the law does not describe these points", f.usl.R2, uslMinR2)
		f.short = fmt.Sprintf("R² %.3f < %g", f.usl.R2, uslMinR2)
	}
	return f
}

// Past the server CPUs a worker sweep oversubscribes the cores: the
// workers take turns, so they add no capacity, only what taking turns
// costs (context switches, caches refilled, for prefork-rr one master
// feeding more workers). The USL's N is workers on the premise that each
// brings its own capacity, which holds up to the CPUs and not past them:
// there the cores cap throughput with a corner no smooth law has. Fitted
// through that corner, the law blames the cores running out on the model:
// one that scales nearly linearly to 12 CPUs and flattens past them gets
// λ 9–10% above its one-worker figure, κ > 0 and a peak at 18–19 workers,
// with R² 0.98–0.99, a coherency cost that is not the model's. So the
// report fits the points up to the CPUs and reads the rest as measured:
//   - the curve and the linear line λ·N are drawn up to the CPUs; past
//     them the measured points are joined, and a line marks the CPUs;
//   - a fitted peak within the CPUs is the model's own limit; one past
//     them says it still scaled where the cores ran out;
//   - the retrograde part, what oversubscription costs, is a measured
//     column: req/s at the most workers against one worker per CPU;
//   - parallel efficiency past the CPUs is per CPU, not per worker.

// oversubscribed returns the worker counts of the sweep past the server
// CPUs, in increasing order.
func (sc *scaling) oversubscribed() []float64 {
	if sc.sweep != results.SweepWorkers || sc.cpus == 0 {
		return nil
	}
	var ns []float64
	for _, sr := range sc.series {
		for _, x := range sr.xs {
			if x > float64(sc.cpus) && !slices.Contains(ns, x) {
				ns = append(ns, x)
			}
		}
	}
	slices.Sort(ns)
	return ns
}

// pastCPUs says what oversubscription did to a model, measured: its
// median req/s at the most workers against that at one worker per CPU,
// e.g. "−4.8% at 24 (of 12's 10.5k)"; "" when either was not measured or
// is flagged.
func (sc *scaling) pastCPUs(sr series) string {
	var at, most *results.Case
	var mostN float64
	for i, c := range sr.cases {
		switch x := sr.xs[i]; {
		case x == float64(sc.cpus):
			at = c
		case x > float64(sc.cpus) && x > mostN:
			most, mostN = c, x
		}
	}
	if at == nil || most == nil || flagOf(at).any() || flagOf(most).any() {
		return ""
	}
	d := 100 * (most.Summary.RPS.Median/at.Summary.RPS.Median - 1)
	sign := "+"
	if d < 0 {
		sign, d = "−", -d
	}
	return fmt.Sprintf("%s%s%% at %g (of %d's %s)", sign, numfmt.Sig(d), mostN, sc.cpus, numfmt.SI(at.Summary.RPS.Median))
}

// joinFloats lists counts in words: "3", "3 and 4", "18, 24 and 36".
func joinFloats(ns []float64) string {
	var parts []string
	for _, n := range ns {
		parts = append(parts, strconv.FormatFloat(n, 'f', -1, 64))
	}
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// peakWhere places a fitted peak against the server CPUs, for a table.
func (sc *scaling) peakWhere(n float64) string {
	switch {
	case len(sc.oversubscribed()) == 0:
		return ""
	case n > float64(sc.cpus):
		return fmt.Sprintf(" (past the %d CPUs: still scaling where they ran out)", sc.cpus)
	}
	return fmt.Sprintf(" (within the %d CPUs: the model's own limit)", sc.cpus)
}

// costing is COST and parallel efficiency from a worker sweep.
type costing struct {
	baseline *results.Case // singlecore
	series   []series      // the multi-core models
	costs    map[string]stats.Cost
	scaling  *scaling // the worker sweep it is from
}

// units is what N workers' efficiency is measured against: N, but past
// the server CPUs the CPUs, as workers that take turns on them add no
// capacity to be efficient with.
func (ct *costing) units(n float64) float64 { return linearTo(n, ct.scaling) }

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
	sc := &scaling{sweep: sweep, cases: own, fits: map[string]fit{}, cpus: len(v.run.Placement.ServerCPUs)}
	sc.series = byModel(v.withModels(sweep, workload), x)
	if sweep != results.SweepWorkers {
		return sc
	}
	for _, sr := range sc.series {
		if len(sr.xs) > 1 { // one point, such as singlecore's one worker: nothing to fit
			sc.fits[sr.model] = fitWorkers(sr, sc.cpus)
		}
	}
	return sc
}

func (v view) costing(workload string, sc *scaling) *costing {
	base := v.baseline(workload, sc.cases)
	if base == nil || flagOf(base).any() {
		return nil
	}
	c := &costing{baseline: base, costs: map[string]stats.Cost{}, scaling: sc}
	for _, sr := range sc.series {
		if sr.model == variant.SingleCore.Name {
			continue
		}
		c.series = append(c.series, sr)
		c.costs[sr.model] = stats.COST(base.Summary.RPS.Median, sr.medians())
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
	return fmt.Sprintf("σ %s  κ %s  R² %.3f", numfmt.Sig(f.usl.Sigma), kappa(f.usl.Kappa), f.usl.R2)
}

// kappa formats κ, which is often tiny: 0, 0.0012, 5.2e-6.
func kappa(k float64) string {
	if k == 0 {
		return "0"
	}
	if k < 1e-3 {
		return strings.Replace(fmt.Sprintf("%.2g", k), "e-0", "e-", 1)
	}
	return numfmt.Sig(k)
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
			return fmt.Sprintf("open loop at %s req/s", numfmt.SI(c.Rate))
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
		if c.Model == variant.SingleCore.Name {
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
