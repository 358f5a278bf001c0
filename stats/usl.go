package stats

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/optimize"
)

// Point is one measurement of a scaling sweep: throughput X at
// concurrency or parallelism N (connections, workers, cores).
type Point struct {
	N float64
	X float64
}

// USL is Neil Gunther's Universal Scalability Law fitted to a sweep:
//
//	X(N) = λN / (1 + σ(N−1) + κN(N−1))
//
// λ is the throughput of one unit, σ the contention (the serial share that
// queues), κ the coherency cost (the crosstalk that makes throughput fall
// past a peak). σ and κ are never negative.
type USL struct {
	Lambda float64 // λ: throughput at N = 1
	Sigma  float64 // σ: contention, 0..1
	Kappa  float64 // κ: coherency, >= 0
	R2     float64 // coefficient of determination of the fit, 1 = perfect
	Points int     // how many points were fitted
}

// At returns the throughput the law predicts at n.
func (u USL) At(n float64) float64 {
	return u.Lambda * n / (1 + u.Sigma*(n-1) + u.Kappa*n*(n-1))
}

// Peak returns where throughput peaks, N* = sqrt((1−σ)/κ), and the
// throughput there. ok is false when κ is 0: throughput then rises for
// ever towards λ/σ (Amdahl's law), or linearly when σ is 0 too.
func (u USL) Peak() (n, x float64, ok bool) {
	if u.Kappa <= 0 || u.Sigma >= 1 {
		return math.Inf(1), u.Ceiling(), false
	}
	n = math.Sqrt((1 - u.Sigma) / u.Kappa)
	return n, u.At(n), true
}

// Ceiling returns the limit of throughput as N grows when κ is 0: λ/σ, or
// +Inf without contention. With κ > 0 throughput falls after the peak and
// the ceiling is the peak throughput.
func (u USL) Ceiling() float64 {
	if u.Kappa > 0 {
		_, x, _ := u.Peak()
		return x
	}
	if u.Sigma <= 0 {
		return math.Inf(1)
	}
	return u.Lambda / u.Sigma
}

// String gives the fit in one line, e.g. "λ=1000 σ=0.05 κ=0.001 R²=0.99".
func (u USL) String() string {
	return fmt.Sprintf("λ=%.4g σ=%.4g κ=%.4g R²=%.3f", u.Lambda, u.Sigma, u.Kappa, u.R2)
}

// FitUSL fits the Universal Scalability Law to pts by nonlinear least
// squares on X, with σ and κ constrained to be non-negative (and σ <= 1).
//
// The fit does not trust any single method: a coarse grid over σ and κ
// (λ solved in closed form for each) finds the right valley, which a local
// method alone may miss (gonum has no bounded global search), then gonum's
// Nelder–Mead polishes the best start in the interior and on the κ = 0 and
// σ = 0 edges, and the lowest error wins. It needs at least three points
// at three distinct N, all positive.
func FitUSL(pts []Point) (USL, error) {
	if len(pts) < 3 {
		return USL{}, fmt.Errorf("usl: need at least 3 points, have %d", len(pts))
	}
	distinct := map[float64]bool{}
	for _, p := range pts {
		if !(p.N > 0) || !(p.X > 0) || math.IsInf(p.N, 0) || math.IsInf(p.X, 0) {
			return USL{}, fmt.Errorf("usl: point (N=%g, X=%g) is not positive and finite", p.N, p.X)
		}
		distinct[p.N] = true
	}
	if len(distinct) < 3 {
		return USL{}, errors.New("usl: need points at 3 or more distinct N")
	}
	pts = append([]Point(nil), pts...)
	sort.Slice(pts, func(i, j int) bool { return pts[i].N < pts[j].N })

	f := uslFit{pts: pts}
	grid := f.grid()
	best := f.polish(grid, none)
	if grid.sse < best.sse {
		best = grid
	}
	// On an edge (κ = 0: Amdahl's law; σ = 0: coherency alone) the
	// interior fit only creeps towards 0; fit the edges themselves, and
	// prefer the simpler law unless the full one fits meaningfully better.
	for _, fixed := range []uslParam{fixKappa, fixSigma} {
		start := grid
		switch fixed {
		case fixKappa:
			start.kappa = 0
			start.lambda = f.bestLambda(start.sigma, 0)
		case fixSigma:
			start.sigma = 0
			start.lambda = f.bestLambda(0, start.kappa)
		}
		if c := f.polish(start, fixed); f.asGood(c, best) {
			best = c
		}
	}
	// polish searches √σ and √κ, which reach 0 only in the limit: a
	// parameter whose zero fits as well is 0 (so a law without a peak does
	// not get one at N = 10¹⁰).
	for _, fixed := range []uslParam{fixSigma, fixKappa} {
		c := best
		if fixed == fixSigma {
			c.sigma = 0
		} else {
			c.kappa = 0
		}
		c.lambda = f.bestLambda(c.sigma, c.kappa)
		if c.sse = f.sse(c.lambda, c.sigma, c.kappa); f.asGood(c, best) {
			best = c
		}
	}
	var mean, sst float64
	for _, p := range pts {
		mean += p.X
	}
	mean /= float64(len(pts))
	for _, p := range pts {
		sst += (p.X - mean) * (p.X - mean)
	}
	r2 := 1.0
	if sst > 0 {
		r2 = 1 - best.sse/sst
	}
	return USL{Lambda: best.lambda, Sigma: best.sigma, Kappa: best.kappa, R2: r2, Points: len(pts)}, nil
}

// uslParam says which parameter a polish keeps fixed at its value.
type uslParam int

const (
	none uslParam = iota
	fixKappa
	fixSigma
)

type uslCand struct {
	lambda, sigma, kappa, sse float64
}

type uslFit struct{ pts []Point }

// g is the USL curve for λ = 1.
func g(n, sigma, kappa float64) float64 {
	return n / (1 + sigma*(n-1) + kappa*n*(n-1))
}

// bestLambda is the least-squares λ for fixed σ and κ: the model is
// linear in λ, so λ = Σ X·g / Σ g².
func (f uslFit) bestLambda(sigma, kappa float64) float64 {
	var xg, gg float64
	for _, p := range f.pts {
		v := g(p.N, sigma, kappa)
		xg += p.X * v
		gg += v * v
	}
	if gg == 0 {
		return 0
	}
	return xg / gg
}

// asGood says whether c, a simpler law than best, fits about as well.
func (f uslFit) asGood(c, best uslCand) bool {
	return c.sse <= best.sse*(1+1e-9)+1e-12*f.scale()
}

// scale is Σ X², against which an error is negligible.
func (f uslFit) scale() float64 {
	var s float64
	for _, p := range f.pts {
		s += p.X * p.X
	}
	return s
}

func (f uslFit) sse(lambda, sigma, kappa float64) float64 {
	var s float64
	for _, p := range f.pts {
		d := p.X - lambda*g(p.N, sigma, kappa)
		s += d * d
	}
	return s
}

// grid searches σ and κ on logarithmic grids that include 0.
func (f uslFit) grid() uslCand {
	sigmas := append([]float64{0}, logspace(1e-5, 1, 80)...)
	nmax := f.pts[len(f.pts)-1].N
	// κ below 1e-3/N² bends nothing within the measured range.
	kappas := append([]float64{0}, logspace(1e-3/(nmax*nmax), 1, 100)...)
	best := uslCand{sse: math.Inf(1)}
	for _, s := range sigmas {
		for _, k := range kappas {
			l := f.bestLambda(s, k)
			if e := f.sse(l, s, k); e < best.sse {
				best = uslCand{l, s, k, e}
			}
		}
	}
	return best
}

func logspace(lo, hi float64, n int) []float64 {
	out := make([]float64, n)
	a, b := math.Log(lo), math.Log(hi)
	for i := range out {
		out[i] = math.Exp(a + (b-a)*float64(i)/float64(n-1))
	}
	return out
}

// polish minimises the squared error from c with gonum's Nelder–Mead,
// keeping the parameter named by fixed where it is. λ is not searched: for
// given σ and κ the model is linear in it and bestLambda solves it. σ and κ
// are searched as √σ and √κ·Nmax: the squares keep them non-negative
// without bounds (gonum's methods have none), and the scaling puts κ in
// millionths on the same footing as σ in hundredths. Nelder–Mead rather
// than a gradient method because σ is clamped at 1, where the error has a
// kink. It recovers exact parameters to 1e-15 and is deterministic.
func (f uslFit) polish(c uslCand, fixed uslParam) uslCand {
	nmax := f.pts[len(f.pts)-1].N
	var x0 []float64
	if fixed != fixSigma {
		x0 = append(x0, math.Sqrt(c.sigma))
	}
	if fixed != fixKappa {
		x0 = append(x0, math.Sqrt(c.kappa)*nmax)
	}
	params := func(x []float64) (sigma, kappa float64) {
		sigma, kappa = c.sigma, c.kappa
		if fixed != fixSigma {
			sigma, x = math.Min(x[0]*x[0], 1), x[1:]
		}
		if fixed != fixKappa {
			kappa = x[0] * x[0] / (nmax * nmax)
		}
		return sigma, kappa
	}
	scale := f.scale() // an error of about 1, for the relative tolerance
	p := optimize.Problem{Func: func(x []float64) float64 {
		s, k := params(x)
		return f.sse(f.bestLambda(s, k), s, k) / scale
	}}
	// Stop after 200 iterations without a relative gain of 1e-14: the
	// simplex has shrunk to rounding by then.
	settings := &optimize.Settings{Converger: &optimize.FunctionConverge{Relative: 1e-14, Absolute: 1e-300, Iterations: 200}}
	res, err := optimize.Minimize(p, x0, settings, &optimize.NelderMead{})
	if err != nil {
		return uslCand{c.lambda, c.sigma, c.kappa, f.sse(c.lambda, c.sigma, c.kappa)}
	}
	s, k := params(res.X)
	l := f.bestLambda(s, k)
	return uslCand{l, s, k, f.sse(l, s, k)}
}
