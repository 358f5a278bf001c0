package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"golang.org/x/perf/benchmath"
)

func uslPoints(u USL, ns []float64, repeats int, noise float64, rng *rand.Rand) []Point {
	var pts []Point
	for _, n := range ns {
		for range repeats {
			x := u.At(n)
			if noise > 0 {
				x *= 1 + noise*rng.NormFloat64()
			}
			pts = append(pts, Point{N: n, X: x})
		}
	}
	return pts
}

func TestFitUSLRecoversExact(t *testing.T) {
	ns := []float64{1, 2, 4, 8, 16, 32, 64}
	for _, want := range []USL{
		{Lambda: 1000, Sigma: 0.05, Kappa: 0.001},  // peaks at N* = 30.8, within the sweep
		{Lambda: 2500, Sigma: 0.02, Kappa: 0.0001}, // peaks at 99, past the sweep
		{Lambda: 500, Sigma: 0.1, Kappa: 0},        // Amdahl: no peak
		{Lambda: 800, Sigma: 0, Kappa: 0.0005},     // coherency alone
		{Lambda: 300, Sigma: 0, Kappa: 0},          // linear
		{Lambda: 40, Sigma: 0.6, Kappa: 0.02},      // barely scales
	} {
		got, err := FitUSL(uslPoints(want, ns, 1, 0, nil))
		if err != nil {
			t.Fatalf("%v: %v", want, err)
		}
		if rel(got.Lambda, want.Lambda) > 1e-4 || math.Abs(got.Sigma-want.Sigma) > 1e-5 || math.Abs(got.Kappa-want.Kappa) > 1e-6 {
			t.Errorf("fit of exact %v = %v", want, got)
		}
		if got.R2 < 0.999999 {
			t.Errorf("fit of exact %v: R² %v, want 1", want, got.R2)
		}
		wn, wx, wok := want.Peak()
		gn, gx, gok := got.Peak()
		if wok != gok || (wok && (rel(gn, wn) > 1e-2 || rel(gx, wx) > 1e-3)) {
			t.Errorf("peak of %v: got N*=%v X=%v ok=%v, want N*=%v X=%v ok=%v", want, gn, gx, gok, wn, wx, wok)
		}
	}
}

func TestFitUSLRecoversNoisy(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	want := USL{Lambda: 1000, Sigma: 0.05, Kappa: 0.001}
	ns := []float64{1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64}
	for trial := range 20 {
		got, err := FitUSL(uslPoints(want, ns, 5, 0.02, rng))
		if err != nil {
			t.Fatal(err)
		}
		// 2% noise on 55 points pins σ to about ±0.01 and κ to ±20%.
		if rel(got.Lambda, want.Lambda) > 0.03 || math.Abs(got.Sigma-want.Sigma) > 0.012 || rel(got.Kappa, want.Kappa) > 0.2 {
			t.Errorf("trial %d: fit of %v with 2%% noise = %v", trial, want, got)
		}
		if got.R2 < 0.95 {
			t.Errorf("trial %d: R² %v", trial, got.R2)
		}
	}
	// Without coherency cost, noise must not invent a large κ.
	amdahl := USL{Lambda: 500, Sigma: 0.1, Kappa: 0}
	for trial := range 20 {
		got, err := FitUSL(uslPoints(amdahl, ns, 5, 0.02, rng))
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got.Sigma-amdahl.Sigma) > 0.02 || got.Kappa > 2e-4 || got.Kappa < 0 || got.Sigma < 0 {
			t.Errorf("trial %d: fit of %v with 2%% noise = %v", trial, amdahl, got)
		}
	}
}

func TestFitUSLRejects(t *testing.T) {
	for _, tt := range []struct {
		pts  []Point
		want string
	}{
		{[]Point{{1, 10}, {2, 19}}, "at least 3 points"},
		{[]Point{{1, 10}, {1, 11}, {2, 19}, {2, 18}}, "3 or more distinct"},
		{[]Point{{1, 10}, {2, 0}, {4, 30}}, "not positive"},
		{[]Point{{1, 10}, {2, math.NaN()}, {4, 30}}, "not positive"},
		{[]Point{{0, 10}, {2, 19}, {4, 30}}, "not positive"},
	} {
		if _, err := FitUSL(tt.pts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("FitUSL(%v) = %v, want an error saying %q", tt.pts, err, tt.want)
		}
	}
}

func TestUSLPeak(t *testing.T) {
	u := USL{Lambda: 1000, Sigma: 0.05, Kappa: 0.001}
	n, x, ok := u.Peak()
	if !ok || rel(n, math.Sqrt(0.95/0.001)) > 1e-12 || rel(x, u.At(n)) > 1e-12 {
		t.Errorf("peak %v %v %v", n, x, ok)
	}
	// Throughput is lower on both sides of the peak.
	if u.At(n-1) >= x || u.At(n+1) >= x {
		t.Errorf("X(N*±1) = %v, %v not below X(N*) = %v", u.At(n-1), u.At(n+1), x)
	}
	if _, x, ok := (USL{Lambda: 500, Sigma: 0.1}).Peak(); ok || rel(x, 5000) > 1e-12 {
		t.Errorf("κ = 0: peak ok=%v ceiling %v, want no peak and λ/σ = 5000", ok, x)
	}
	if c := (USL{Lambda: 500}).Ceiling(); !math.IsInf(c, 1) {
		t.Errorf("linear ceiling %v, want +Inf", c)
	}
}

func TestCOST(t *testing.T) {
	// singlecore does 1000 req/s on its one core.
	c := COST(1000, []Point{{8, 4000}, {1, 800}, {4, 2800}, {2, 1500}})
	if !c.Beats() || c.Cores != 2 {
		t.Errorf("COST = %v (beats %v), want 2", c.Cores, c.Beats())
	}
	want := []Point{{1, 0.8}, {2, 0.75}, {4, 0.7}, {8, 0.5}}
	if len(c.Efficiency) != len(want) {
		t.Fatalf("efficiency %v, want %v", c.Efficiency, want)
	}
	for i, e := range c.Efficiency {
		if e.N != want[i].N || math.Abs(e.X-want[i].X) > 1e-12 {
			t.Errorf("efficiency %v, want %v", c.Efficiency, want)
			break
		}
	}
	// Equal is not better: COST needs to outperform.
	if c := COST(1000, []Point{{1, 1000}, {2, 1000}, {3, 1001}}); c.Cores != 3 {
		t.Errorf("COST with a tie at 1 and 2 = %v, want 3", c.Cores)
	}
	if c := COST(1000, []Point{{1, 500}, {2, 900}, {4, 990}}); c.Beats() || !math.IsInf(c.Cores, 1) {
		t.Errorf("a model that never beats singlecore has COST %v", c.Cores)
	}
	if c := COST(1000, []Point{{1, 1200}}); c.Cores != 1 || c.Efficiency[0].X != 1.2 {
		t.Errorf("a model faster on one core: COST %v, efficiency %v", c.Cores, c.Efficiency)
	}
}

func TestMannWhitneyKnownValues(t *testing.T) {
	for _, tt := range []struct {
		name  string
		x, y  []float64
		u, p  float64
		exact bool
	}{
		// R, ?wilcox.test (Hollander & Wolfe, permeability constants):
		// wilcox.test(x, y, alternative = "greater") gives W = 35,
		// p-value = 0.1272; two-sided is twice that.
		{"R wilcox.test example", []float64{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46},
			[]float64{1.15, 0.88, 0.90, 0.74, 1.21}, 35, 0.2544122544, true},
		// SciPy, scipy.stats.mannwhitneyu docs (Conover): males against
		// females, method="exact", gives statistic=17.0, pvalue=0.1111.
		{"SciPy mannwhitneyu example", []float64{19, 22, 16, 29, 24}, []float64{20, 11, 17, 12}, 17, 0.1111111111, true},
		// Samples that do not overlap: p = 2 / C(m+n, m).
		{"5 vs 5 apart", []float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10}, 0, 2.0 / 252, true},
		{"2 vs 2 apart", []float64{10, 11}, []float64{20, 21}, 0, 1.0 / 3, true},
		{"3 vs 3 apart, reversed", []float64{20, 21, 22}, []float64{10, 11, 12}, 9, 0.1, true},
		{"identical", []float64{5, 5, 5}, []float64{5, 5}, 3, 1, true},
		{"interleaved", []float64{1, 3, 5, 7}, []float64{2, 4, 6, 8}, 6, 0.6857142857, true},
	} {
		got := MannWhitneyU(tt.x, tt.y)
		if got.U != tt.u || math.Abs(got.P-tt.p) > 1e-9 || got.Exact != tt.exact {
			t.Errorf("%s: got U=%v p=%.10f exact=%v, want U=%v p=%.10f exact=%v", tt.name, got.U, got.P, got.Exact, tt.u, tt.p, tt.exact)
		}
	}
}

// The exact p-value, ties included, equals brute-force enumeration of
// every split of the pooled values.
func TestMannWhitneyExactMatchesEnumeration(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		m, n := 1+rng.IntN(6), 1+rng.IntN(6)
		var x, y []float64
		for range m {
			x = append(x, float64(rng.IntN(6))) // small range: plenty of ties
		}
		for range n {
			y = append(y, float64(rng.IntN(6))+float64(rng.IntN(2)))
		}
		got := MannWhitneyU(x, y)
		want := enumerateP(x, y)
		if math.Abs(got.P-want) > 1e-9 {
			t.Fatalf("trial %d: x=%v y=%v: p=%v, enumeration gives %v", trial, x, y, got.P, want)
		}
	}
}

// enumerateP is the two-sided permutation p-value of U, by brute force.
func enumerateP(x, y []float64) float64 {
	pool := append(append([]float64(nil), x...), y...)
	m := len(x)
	u := func(a, b []float64) float64 {
		s := 0.0
		for _, p := range a {
			for _, q := range b {
				switch {
				case p > q:
					s++
				case p == q:
					s += 0.5
				}
			}
		}
		return s
	}
	mean := float64(m*len(y)) / 2
	obs := math.Abs(u(x, y) - mean)
	var hit, total float64
	for mask := 0; mask < 1<<len(pool); mask++ {
		var a, b []float64
		for i, v := range pool {
			if mask&(1<<i) != 0 {
				a = append(a, v)
			} else {
				b = append(b, v)
			}
		}
		if len(a) != m {
			continue
		}
		total++
		if math.Abs(u(a, b)-mean) >= obs-1e-9 {
			hit++
		}
	}
	return hit / total
}

// Without ties our exact test is benchstat's; with them ours is the
// permutation p-value (TestMannWhitneyExactMatchesEnumeration) and
// benchstat's can be twice it.
func TestMannWhitneyAgreesWithBenchstat(t *testing.T) {
	benchstat := func(x, y []float64) float64 {
		th := &benchmath.DefaultThresholds
		return benchmath.AssumeNothing.Compare(benchmath.NewSample(slices.Clone(x), th), benchmath.NewSample(slices.Clone(y), th)).P
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 300 {
		var x, y []float64
		for range 1 + rng.IntN(30) {
			x = append(x, rng.Float64())
		}
		for range 1 + rng.IntN(30) {
			y = append(y, rng.Float64()+0.2)
		}
		if got, want := MannWhitneyU(x, y), benchstat(x, y); !got.Exact || math.Abs(got.P-want) > 1e-9 {
			t.Fatalf("trial %d: %d vs %d values without ties: %+v, benchstat p=%v", trial, len(x), len(y), got, want)
		}
	}
	tied := MannWhitneyU([]float64{1, 1, 1, 3}, []float64{4, 5})
	if p := benchstat([]float64{1, 1, 1, 3}, []float64{4, 5}); math.Abs(tied.P-1.0/15) > 1e-12 || math.Abs(p-2.0/15) > 1e-12 {
		t.Errorf("1,1,1,3 against 4,5: p=%v (want 1/15), benchstat %v (want 2/15)", tied.P, p)
	}
	// Past the exact limit, 40 against 40 values without ties: exact, as
	// benchstat computes it.
	var x, y []float64
	for i := range 40 {
		x = append(x, float64(2*i))
		y = append(y, float64(2*i+1)+40)
	}
	if got, want := MannWhitneyU(x, y), benchstat(x, y); !got.Exact || got.P != want || got.P > 1e-4 {
		t.Errorf("40 against 40 without ties: %+v, benchstat p=%v", got, want)
	}
}

func TestMannWhitneyNormalApproximation(t *testing.T) {
	// 40 against 40 values is past the exact limit. Shifted samples are
	// clearly different; the same sample is not.
	var x, y []float64
	for i := range 40 {
		x = append(x, float64(i))
		y = append(y, float64(i)+15)
	}
	got := MannWhitneyU(x, y)
	if got.Exact || got.P > 1e-4 {
		t.Errorf("shifted: %+v, want approximate and p < 1e-4", got)
	}
	if got := MannWhitneyU(x, x); got.Exact || got.P < 0.95 {
		t.Errorf("same: %+v, want approximate and p ≈ 1", got)
	}
}

func TestMinPValue(t *testing.T) {
	for _, tt := range []struct {
		m, n int
		p    float64
	}{{2, 2, 1.0 / 3}, {3, 3, 0.1}, {3, 4, 2.0 / 35}, {4, 4, 2.0 / 70}, {5, 5, 2.0 / 252}, {1, 1, 1}, {0, 5, 1}} {
		if got := MinPValue(tt.m, tt.n); math.Abs(got-tt.p) > 1e-12 {
			t.Errorf("MinPValue(%d, %d) = %v, want %v", tt.m, tt.n, got, tt.p)
		}
	}
}

func rel(got, want float64) float64 {
	if want == 0 {
		return math.Abs(got)
	}
	return math.Abs(got-want) / math.Abs(want)
}
