package stats

import (
	"math"
	"sort"
)

// Cost is McSherry, Isard and Murray's COST ("Scalability! But at what
// COST?", HotOS 2015) of one multi-core model: the Configuration that
// Outperforms a Single Thread. A model that scales beautifully from a slow
// start may need many cores just to match one well-used core.
type Cost struct {
	// Baseline is the single-core throughput to beat (singlecore's req/s).
	Baseline float64
	// Cores is the smallest measured N whose throughput exceeds the
	// baseline; +Inf when no measured N does.
	Cores float64
	// Efficiency is the parallel efficiency X(N) / (N · Baseline) at each
	// measured N, in increasing N: 1 means N cores do N times the work of
	// singlecore's one.
	Efficiency []Point
}

// Beats reports whether some measured N outperformed the baseline.
func (c Cost) Beats() bool { return !math.IsInf(c.Cores, 1) }

// COST computes the COST of a model from its worker sweep pts (N = workers
// or cores, X = req/s) against baseline, singlecore's req/s under the same
// load. COST is the smallest N measured, not interpolated: with workers
// 1, 2, 4, 8 measured, a COST of 4 means "more than 2, at most 4".
func COST(baseline float64, pts []Point) Cost {
	pts = append([]Point(nil), pts...)
	sort.Slice(pts, func(i, j int) bool { return pts[i].N < pts[j].N })
	c := Cost{Baseline: baseline, Cores: math.Inf(1)}
	for _, p := range pts {
		if p.X > baseline && math.IsInf(c.Cores, 1) {
			c.Cores = p.N
		}
		e := math.NaN()
		if baseline > 0 && p.N > 0 {
			e = p.X / (p.N * baseline)
		}
		c.Efficiency = append(c.Efficiency, Point{N: p.N, X: e})
	}
	return c
}
