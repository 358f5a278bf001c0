package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/combin"
)

// TestAgreesWithGonum compares what stats computes itself with gonum's
// functions for the same figures, where gonum has one (see the package
// doc for why ours is kept).
func TestAgreesWithGonum(t *testing.T) {
	// MinPValue is 2 / C(m+n, m): bit for bit gonum's binomial while that
	// fits in an int.
	for m := 1; m < 30; m++ {
		for n := 1; n < 30; n++ {
			if want := min(1, 2/float64(combin.Binomial(m+n, m))); MinPValue(m, n) != want {
				t.Errorf("MinPValue(%d, %d) = %v, gonum's binomial gives %v", m, n, MinPValue(m, n), want)
			}
		}
	}

	// FitUSL's R² is gonum's coefficient of determination of the fitted
	// curve, to rounding.
	rng := rand.New(rand.NewPCG(7, 11))
	ns := []float64{1, 2, 4, 6, 8, 12, 16}
	for trial := range 50 {
		u := USL{Lambda: 1000 * rng.Float64(), Sigma: 0.1 * rng.Float64(), Kappa: 0.001 * rng.Float64()}
		pts := uslPoints(u, ns, 1+rng.IntN(4), 0.03, rng)
		got, err := FitUSL(pts)
		if err != nil {
			t.Fatal(err)
		}
		var est, val []float64
		for _, p := range pts {
			est, val = append(est, got.At(p.N)), append(val, p.X)
		}
		if want := stat.RSquaredFrom(est, val, nil); rel(got.R2, want) > 1e-12 {
			t.Errorf("trial %d: R² %v, gonum %v", trial, got.R2, want)
		}
	}
	// Points that are all equal: SST is 0, and ours is 1.
	if got, err := FitUSL([]Point{{1, 5}, {2, 5}, {4, 5}}); err != nil || got.R2 != 1 {
		t.Errorf("flat points: R² %v (%v), want 1", got.R2, err)
	}
}

// TestMedianAgreesWithGonum: an odd count's median is gonum's; an even
// count's is the mean of the two middle values, where gonum's quantile
// gives the lower one.
func TestMedianAgreesWithGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 200 {
		xs := make([]float64, 1+rng.IntN(20))
		for i := range xs {
			xs[i] = 1000 + 300*rng.NormFloat64()
		}
		slices.Sort(xs)
		n := len(xs)
		got, lower := Median(xs), stat.Quantile(0.5, stat.LinInterp, xs, nil)
		switch {
		case n%2 == 1 && got != stat.Quantile(0.5, stat.Empirical, xs, nil):
			t.Errorf("trial %d: %d values: median %v, gonum %v", trial, n, got, stat.Quantile(0.5, stat.Empirical, xs, nil))
		case n%2 == 0 && (got != (xs[n/2-1]+xs[n/2])/2 || lower != xs[n/2-1]):
			t.Errorf("trial %d: %d values: median %v, gonum %v", trial, n, got, lower)
		}
	}
}

// TestStatsOfAgreesWithGonum: the mean and the population standard
// deviation StatsOf takes from gonum are the textbook two-pass sums over
// the sorted values to within 1e-15 of the value (gonum sums four lanes
// at a time and corrects the variance for the mean's rounding).
func TestStatsOfAgreesWithGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 500 {
		xs := make([]float64, 1+rng.IntN(60))
		for i := range xs {
			xs[i] = 1000 + 500*rng.NormFloat64()
		}
		s := slices.Sorted(slices.Values(xs))
		var sum, ss float64
		for _, x := range s {
			sum += x
		}
		mean := sum / float64(len(s))
		for _, x := range s {
			ss += (x - mean) * (x - mean)
		}
		sd := math.Sqrt(ss / float64(len(s)))
		got := StatsOf(xs)
		if rel(got.Mean, mean) > 1e-15 || rel(got.Stdev, sd) > 1e-15 {
			t.Errorf("trial %d: mean %v stdev %v, two-pass %v %v", trial, got.Mean, got.Stdev, mean, sd)
		}
	}
}
