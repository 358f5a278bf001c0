package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The null distribution of U by hand: 2 against 2 splits the ranks 6
// ways with U = 0, 1, 2, 2, 3, 4.
func TestUCDF(t *testing.T) {
	want := []float64{1. / 6, 2. / 6, 4. / 6, 5. / 6, 1}
	got := uCDF(2, 2)
	for u := range want {
		if math.Abs(got[u]-want[u]) > 1e-12 {
			t.Fatalf("uCDF(2, 2) = %v, want %v", got, want)
		}
	}
	// 4 against 4: C(8, 4) = 70 splits, one with U = 0, one with U = 1.
	if c := uCDF(4, 4); math.Abs(c[0]-1./70) > 1e-12 || math.Abs(c[1]-2./70) > 1e-12 || math.Abs(c[16]-1) > 1e-12 {
		t.Errorf("uCDF(4, 4) starts %v and ends %v", c[:3], c[16])
	}
}

// The ranks of the interval's ends against published critical values of
// U at 0.05 two-sided (reject when U <= c, so k = c+1): none for 3 against
// 3, c = 0 for 4 against 4, 5 for 6 against 6, 13 for 8 against 8, 23
// for 10 against 10.
func TestMosesK(t *testing.T) {
	for _, tt := range []struct{ m, n, k int }{{2, 2, 0}, {3, 3, 0}, {4, 4, 1}, {6, 6, 6}, {8, 8, 14}, {10, 10, 24}, {5, 8, 7}} {
		k, conf := mosesK(tt.m, tt.n, 0.05)
		if k != tt.k {
			t.Errorf("mosesK(%d, %d) = %d, want %d", tt.m, tt.n, k, tt.k)
		}
		if k > 0 && (conf < 0.95 || conf > 1) {
			t.Errorf("mosesK(%d, %d): coverage %v, want at least 0.95", tt.m, tt.n, conf)
		}
	}
	// Past 60 values the normal approximation: within one rank of exact.
	exact := uCDF(30, 31)
	k := 0
	for exact[k] <= 0.025 {
		k++
	}
	if got, _ := mosesK(30, 31, 0.05); got < k-1 || got > k+1 {
		t.Errorf("normal approximation k = %d, exact %d", got, k)
	}
}

// One sample a constant factor of another: the estimate is the factor
// exactly (the pairwise differences are symmetric about it), and the
// interval holds it.
func TestCompareRatioFactor(t *testing.T) {
	y := []float64{100, 103, 98, 101, 99, 104}
	var x []float64
	for _, v := range y {
		x = append(x, 2.24*v)
	}
	r := CompareRatio(x, y, 0.05)
	if math.Abs(r.Est-2.24) > 1e-12 || !(r.Lo < 2.24 && r.Hi > 2.24) || !r.Apart() || r.P > 0.0023 {
		t.Errorf("2.24× apart: %+v", r)
	}
	if r := CompareRatio(y[:2], x[:2], 0.05); r.Bounded() || r.Apart() || r.P < 0.3 {
		t.Errorf("2 against 2 can tell nothing: %+v", r)
	}
}

// Without ties the interval excludes 1 exactly when the exact test
// rejects: the verdict and its interval never contradict each other.
func TestRatioIntervalAgreesWithTest(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		m, n := 3+rng.IntN(6), 3+rng.IntN(6)
		shift := rng.Float64() * 0.3
		var x, y []float64
		for range m {
			x = append(x, math.Exp(shift+rng.NormFloat64()*0.1))
		}
		for range n {
			y = append(y, math.Exp(rng.NormFloat64()*0.1))
		}
		r := CompareRatio(x, y, 0.05)
		excludes := r.Lo > 1 || r.Hi < 1
		if excludes != (r.P < 0.05) {
			t.Fatalf("case %d (%d against %d): interval [%v, %v] excludes 1: %v, p = %v", i, m, n, r.Lo, r.Hi, excludes, r.P)
		}
	}
}

// Under the null hypothesis, the interval covers 1 at least 95% of the
// time, and the test rejects at most about 5%.
func TestRatioCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const trials = 4000
	rejected := 0
	for range trials {
		var x, y []float64
		for range 6 {
			x, y = append(x, 1000+rng.NormFloat64()*30), append(y, 1000+rng.NormFloat64()*30)
		}
		if CompareRatio(x, y, 0.05).Apart() {
			rejected++
		}
	}
	// 6 against 6 rejects with probability 2·P(U <= 5) = 0.041 exactly.
	if share := float64(rejected) / trials; share > 0.041+0.011 || share < 0.041-0.011 {
		t.Errorf("rejected %d of %d identical pairs (%.3f), want about 0.041", rejected, trials, share)
	}
}
