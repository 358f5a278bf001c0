package report

import (
	"errors"
	"fmt"
	"math"
	"sort"
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
// (λ solved in closed form for each) finds the right valley, then
// Levenberg–Marquardt with bounds polishes the best start in the interior
// and on the κ = 0 and σ = 0 edges, and the lowest error wins. It needs at
// least three points at three distinct N, all positive.
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
		if c := f.polish(start, fixed); c.sse <= best.sse*(1+1e-9)+1e-12*f.scale() {
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

// polish runs Levenberg–Marquardt (with Marquardt's diagonal scaling, so
// λ in thousands and κ in millionths are treated alike) from c, keeping
// the parameter named by fixed where it is and projecting σ into [0, 1]
// and κ into [0, ∞) after every step.
func (f uslFit) polish(c uslCand, fixed uslParam) uslCand {
	c.sse = f.sse(c.lambda, c.sigma, c.kappa)
	mu := 1e-3
	for iter := 0; iter < 500; iter++ {
		var jtj [3][3]float64
		var jtr [3]float64
		for _, p := range f.pts {
			n := p.N
			d := 1 + c.sigma*(n-1) + c.kappa*n*(n-1)
			pred := c.lambda * n / d
			r := p.X - pred
			j := [3]float64{n / d, -c.lambda * n * (n - 1) / (d * d), -c.lambda * n * n * (n - 1) / (d * d)}
			switch fixed {
			case fixKappa:
				j[2] = 0
			case fixSigma:
				j[1] = 0
			}
			for a := range 3 {
				jtr[a] += j[a] * r
				for b := range 3 {
					jtj[a][b] += j[a] * j[b]
				}
			}
		}
		improved := false
		for range 30 {
			var m [3][3]float64
			for a := range 3 {
				m[a] = jtj[a]
				diag := jtj[a][a]
				if diag == 0 {
					diag = 1 // a fixed parameter: keeps the system solvable, its step is 0
				}
				m[a][a] += mu * diag
			}
			step, ok := solve3(m, jtr)
			if !ok {
				mu *= 10
				continue
			}
			n := uslCand{
				lambda: math.Max(c.lambda+step[0], 0),
				sigma:  math.Min(math.Max(c.sigma+step[1], 0), 1),
				kappa:  math.Max(c.kappa+step[2], 0),
			}
			n.sse = f.sse(n.lambda, n.sigma, n.kappa)
			if n.sse < c.sse {
				small := c.sse-n.sse <= 1e-15*c.sse
				c = n
				mu = math.Max(mu/10, 1e-12)
				improved = !small
				break
			}
			mu *= 10
		}
		if !improved {
			break
		}
	}
	return c
}

// solve3 solves m·x = b by Gaussian elimination with partial pivoting.
func solve3(m [3][3]float64, b [3]float64) ([3]float64, bool) {
	for col := range 3 {
		p := col
		for r := col + 1; r < 3; r++ {
			if math.Abs(m[r][col]) > math.Abs(m[p][col]) {
				p = r
			}
		}
		if m[p][col] == 0 || math.IsNaN(m[p][col]) {
			return [3]float64{}, false
		}
		m[col], m[p] = m[p], m[col]
		b[col], b[p] = b[p], b[col]
		for r := col + 1; r < 3; r++ {
			k := m[r][col] / m[col][col]
			for c := col; c < 3; c++ {
				m[r][c] -= k * m[col][c]
			}
			b[r] -= k * b[col]
		}
	}
	var x [3]float64
	for r := 2; r >= 0; r-- {
		s := b[r]
		for c := r + 1; c < 3; c++ {
			s -= m[r][c] * x[c]
		}
		x[r] = s / m[r][r]
	}
	return x, true
}
