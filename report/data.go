package report

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/corebench/corebench/assess"
	"github.com/corebench/corebench/report/internal/numfmt"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
	"github.com/corebench/corebench/variant"
)

// sweepProfile says which profiles measure a sweep, and profileFor the
// one to run, for the note a report gives when a run lacks the sweep.
var (
	sweepProfile = map[results.Sweep]string{
		results.SweepConnections: "the standard and full profiles measure it",
		results.SweepRate:        "the standard and full profiles measure it",
		results.SweepKeepAlive:   "the standard and full profiles measure it",
		results.SweepWorkers:     "the full profile measures it",
	}
	profileFor = map[results.Sweep]string{
		results.SweepConnections: "standard",
		results.SweepRate:        "standard",
		results.SweepKeepAlive:   "standard",
		results.SweepWorkers:     "full",
	}
)

// lessCase orders cases by model, then workers, connections, rate and
// keep-alive (on first).
func lessCase(a, b *results.Case) bool {
	if ra, rb := variant.Rank(a.Model), variant.Rank(b.Model); ra != rb {
		return ra < rb
	}
	if a.Model != b.Model {
		return a.Model < b.Model
	}
	if a.Workers != b.Workers {
		return a.Workers < b.Workers
	}
	if a.Connections != b.Connections {
		return a.Connections < b.Connections
	}
	if a.Rate != b.Rate {
		return a.Rate < b.Rate
	}
	if a.KeepAlive != b.KeepAlive {
		return a.KeepAlive
	}
	return a.ID < b.ID
}

// view indexes a run for the report.
type view struct {
	run *results.Run
}

// workloads returns the run's workloads in report order.
func (v view) workloads() []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range v.run.Cases {
		if !seen[c.Workload] {
			seen[c.Workload] = true
			out = append(out, c.Workload)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		ri, rj := results.WorkloadRank(out[i]), results.WorkloadRank(out[j])
		if ri != rj {
			return ri < rj
		}
		return out[i] < out[j]
	})
	return out
}

// hasSweep reports whether any case of the run belongs to sweep.
func (v view) hasSweep(sweep results.Sweep) bool {
	for _, c := range v.run.Cases {
		if c.Sweep == sweep {
			return true
		}
	}
	return false
}

// cases returns the cases of sweep and workload, failed ones included, in
// report order.
func (v view) cases(sweep results.Sweep, workload string) []*results.Case {
	var out []*results.Case
	for i := range v.run.Cases {
		c := &v.run.Cases[i]
		if c.Sweep == sweep && c.Workload == workload {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return lessCase(out[i], out[j]) })
	return out
}

// path returns the URL path of a workload as the run measured it.
func (v view) path(workload string) string {
	for _, c := range v.run.Cases {
		if c.Workload == workload && c.Path != "" {
			return c.Path
		}
	}
	return ""
}

// measured reports whether a case has numbers.
func measured(c *results.Case) bool { return c.Summary != nil && c.Summary.RPS.N > 0 }

// series is one model's cases along a sweep's axis.
type series struct {
	model string
	cases []*results.Case // measured cases, in increasing x
	xs    []float64
}

// byModel groups measured cases by model, each sorted by x.
func byModel(cases []*results.Case, x func(*results.Case) float64) []series {
	var out []series
	for _, c := range cases {
		if !measured(c) {
			continue
		}
		i := slices.IndexFunc(out, func(s series) bool { return s.model == c.Model })
		if i < 0 {
			out = append(out, series{model: c.Model})
			i = len(out) - 1
		}
		s := &out[i]
		if slices.Contains(s.xs, x(c)) {
			continue
		}
		s.cases = append(s.cases, c)
		s.xs = append(s.xs, x(c))
	}
	for i := range out {
		s := &out[i]
		idx := make([]int, len(s.xs))
		for j := range idx {
			idx[j] = j
		}
		sort.Slice(idx, func(a, b int) bool { return s.xs[idx[a]] < s.xs[idx[b]] })
		cs, xs := make([]*results.Case, len(idx)), make([]float64, len(idx))
		for j, k := range idx {
			cs[j], xs[j] = s.cases[k], s.xs[k]
		}
		s.cases, s.xs = cs, xs
	}
	sort.SliceStable(out, func(i, j int) bool { return variant.Rank(out[i].model) < variant.Rank(out[j].model) })
	return out
}

// fitPoints returns one point per repeat of every unflagged case of s,
// for the USL fit, and how many cases were left out as flagged.
func (s series) fitPoints() (pts []stats.Point, flagged int) {
	for i, c := range s.cases {
		if flagOf(c).any() {
			flagged++
			continue
		}
		for _, r := range c.Repeats {
			if r.Load.RPS > 0 {
				pts = append(pts, stats.Point{N: s.xs[i], X: r.Load.RPS})
			}
		}
	}
	return pts, flagged
}

// medians returns the median req/s of every unflagged case of s, for
// COST.
func (s series) medians() []stats.Point {
	var pts []stats.Point
	for i, c := range s.cases {
		if !flagOf(c).any() {
			pts = append(pts, stats.Point{N: s.xs[i], X: c.Summary.RPS.Median})
		}
	}
	return pts
}

// withModels adds to a connections or workers sweep the models-sweep case
// of the same model and workload that sits on the sweep's line (same
// mode, keep-alive and the other parameter), so the sweep need not
// measure that point twice.
func (v view) withModels(sweep results.Sweep, workload string) []*results.Case {
	cases := v.cases(sweep, workload)
	if len(cases) == 0 {
		return nil
	}
	type line struct {
		model   string
		other   int
		keep    bool
		measure results.Mode
	}
	key := func(c *results.Case) line {
		other := c.Workers
		if sweep == results.SweepWorkers {
			other = c.Connections
		}
		return line{c.Model, other, c.KeepAlive, c.Mode}
	}
	lines := map[line]bool{}
	for _, c := range cases {
		lines[key(c)] = true
	}
	for _, c := range v.cases(results.SweepModels, workload) {
		if lines[key(c)] {
			cases = append(cases, c)
		}
	}
	sort.SliceStable(cases, func(i, j int) bool { return lessCase(cases[i], cases[j]) })
	return cases
}

// baseline returns singlecore's case to compare a worker sweep with: its
// own case in the sweep, or the models-sweep one at the sweep's
// connections, or any models-sweep one of the workload.
func (v view) baseline(workload string, sweep []*results.Case) *results.Case {
	conns := 0
	for _, c := range sweep {
		if c.Model == variant.SingleCore.Name && measured(c) {
			return c
		}
		conns = c.Connections
	}
	var any *results.Case
	for _, c := range v.cases(results.SweepModels, workload) {
		if c.Model != variant.SingleCore.Name || !measured(c) || c.Mode != results.ModeClosed {
			continue
		}
		if c.Connections == conns {
			return c
		}
		if any == nil {
			any = c
		}
	}
	return any
}

// knee is where a model stops keeping up with the offered load in the
// open-loop sweep.
type knee struct {
	sustained float64  // highest offered rate it kept up with (0: none)
	p99       float64  // its p99 there, ms
	failedAt  float64  // lowest offered rate it did not keep up with (0: none measured)
	failedBy  caseFlag // the flag of that case: over 1% failed is one way not to keep up
}

// keptUp reports whether a model sustained an open-loop case: at least
// 95% of the offered rate served, and at most 1% of requests failed.
func keptUp(c *results.Case) bool {
	return c.Rate > 0 && c.Summary.RPS.Median >= 0.95*c.Rate && c.Summary.FailedShare <= assess.FailedFlag
}

// kneeOf finds where s stops keeping up. A case where the generator
// saturated says nothing either way, so the search steps over it.
func kneeOf(s series) knee {
	var k knee
	for _, c := range s.cases {
		if flagOf(c).saturated {
			continue
		}
		if keptUp(c) {
			if k.failedAt == 0 {
				k.sustained, k.p99 = c.Rate, c.Summary.P99.Median
			}
		} else if k.failedAt == 0 {
			k.failedAt, k.failedBy = c.Rate, flagOf(c)
		}
	}
	return k
}

// cpuModel shortens a CPU model name for titles.
func cpuModel(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	for _, junk := range []string{"(R)", "(TM)", "(tm)", " CPU", " Processor"} {
		s = strings.ReplaceAll(s, junk, "")
	}
	if i := strings.Index(s, " @ "); i > 0 {
		s = s[:i]
	}
	if s == "" {
		return "unknown CPU"
	}
	return strings.Join(strings.Fields(s), " ")
}

// caseFlag says why the report does not take a measured case's figures at
// face value. A flagged case is marked in every table, drawn hollow in
// every chart, and left out of fits, COST, knees and rankings: its req/s
// is not the server's capacity.
type caseFlag struct {
	// saturated: the generator was the bottleneck in some repeat, so the
	// figures measure the generator; the server may be faster.
	saturated bool
	// failed is the share of requests that failed when it is over
	// assess.FailedFlag (0 otherwise): req/s counts successes only.
	failed float64
	// underloaded: too few connections to load the server, so req/s is
	// what the load asked for, not what the server could do.
	underloaded bool
}

func flagOf(c *results.Case) caseFlag {
	if !measured(c) {
		return caseFlag{}
	}
	f := caseFlag{saturated: c.Summary.Saturated, underloaded: c.Summary.LimitedBy == results.LimitConnections}
	if c.Summary.FailedShare > assess.FailedFlag {
		f.failed = c.Summary.FailedShare
	}
	return f
}

func (f caseFlag) any() bool { return f.saturated || f.failed > 0 || f.underloaded }

// Table marks of the flags; their notes say what each means.
const (
	markSaturated   = "⚠"
	markFailed      = "†"
	markUnderloaded = "↓"
	markNoise       = "‡" // after the limit: machine noise in that case
)

// mark is what a table writes after a flagged figure: " ⚠", " †".
func (f caseFlag) mark() string {
	m := ""
	if f.saturated {
		m += markSaturated
	}
	if f.failed > 0 {
		m += markFailed
	}
	if f.underloaded {
		m += markUnderloaded
	}
	if m == "" {
		return ""
	}
	return " " + m
}

// words is what a chart writes beside a flagged case, in words: the
// charts' font has no ⚠.
func (f caseFlag) words() string {
	var w []string
	if f.saturated {
		w = append(w, "generator saturated")
	}
	if f.failed > 0 {
		w = append(w, numfmt.Sig(100*f.failed)+"% failed")
	}
	if f.underloaded {
		w = append(w, "too few connections")
	}
	return strings.Join(w, ", ")
}

// workerShares is what the per-worker bars and the fairness figures show
// of a case, both from its merged per-worker counts.
type workerShares struct {
	// slots are the worker slots to draw: every one the server runs,
	// idle ones included, or only those that answered when the server
	// did not say how many it runs.
	slots    []int
	shares   []float64 // % of the case's requests each slot served
	workers  int       // how many workers the server runs; 0 unknown
	answered int       // how many served anything
	jain     float64   // Jain's index of the same counts: CaseSummary.Fairness
}

func workerSharesOf(s *results.CaseSummary) workerShares {
	w := workerShares{workers: s.Workers, jain: s.Fairness}
	var total int64
	seen := map[int]bool{}
	for i := range s.Workers {
		seen[i] = true
	}
	for k, n := range s.PerWorker {
		total += n
		if n > 0 {
			w.answered++
		}
		if i, err := strconv.Atoi(k); err == nil && i >= 0 {
			seen[i] = true
		}
	}
	for i := range seen {
		w.slots = append(w.slots, i)
	}
	sort.Ints(w.slots)
	for _, i := range w.slots {
		share := 0.0
		if total > 0 {
			share = 100 * float64(s.PerWorker[results.WorkerKey(i)]) / float64(total)
		}
		w.shares = append(w.shares, share)
	}
	return w
}

// showsFairness reports whether a case spreads requests over worker
// processes, so that fairness means something: not one process
// (singlecore, goroutines), not one worker.
func showsFairness(c *results.Case) bool {
	if v, _ := variant.Lookup(c.Model); !measured(c) || v.OneProcess() || len(c.Summary.PerWorker) == 0 {
		return false
	}
	if w := c.Summary.Workers; w > 0 {
		return w > 1
	}
	return c.Workers > 1 || len(c.Summary.PerWorker) > 1
}

// fairnessText is a case's fairness as the tables write it, with how
// many workers answered when not all did, or that the server did not say
// how many it runs.
func fairnessText(c *results.Case) string {
	if !showsFairness(c) {
		return "–" // one process or one worker: nothing to spread across
	}
	ws := workerSharesOf(c.Summary)
	s := fmt.Sprintf("%.3f", ws.jain)
	switch {
	case ws.workers == 0:
		s += fmt.Sprintf(" (%d answered; count unknown)", ws.answered)
	case ws.answered < ws.workers:
		s += fmt.Sprintf(" (%d of %d workers answered)", ws.answered, ws.workers)
	}
	return s
}

// flagCount counts the flagged cases among cases, by kind.
func flagCount(cases []*results.Case) (saturated, failed, underloaded, any int) {
	for _, c := range cases {
		f := flagOf(c)
		if f.saturated {
			saturated++
		}
		if f.failed > 0 {
			failed++
		}
		if f.underloaded {
			underloaded++
		}
		if f.any() {
			any++
		}
	}
	return
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
