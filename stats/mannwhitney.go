package stats

import (
	"math"
	"sort"

	moremath "github.com/aclements/go-moremath/stats"
	"golang.org/x/perf/benchmath"
)

// MannWhitney is the result of a two-sided Mann–Whitney U test (the
// Wilcoxon rank-sum test), the test benchstat uses: it asks whether one
// sample tends to be larger than the other without assuming any
// distribution, which suits a handful of benchmark repeats.
type MannWhitney struct {
	U     float64 // U statistic of the first sample: pairs (x, y) with x > y, ties counting ½
	P     float64 // two-sided p-value
	Exact bool    // P is from the exact permutation distribution, not the normal approximation
}

// exactLimit is the largest combined sample size tested exactly.
const exactLimit = 60

// MannWhitneyU tests whether x and y come from the same distribution.
// For up to 60 values in all the p-value is exact, ties included: it is
// the share of all ways to split the pooled ranks into groups of len(x)
// and len(y) whose rank sum lies at least as far from its mean as the
// observed one. Beyond that it is benchstat's test
// (golang.org/x/perf/benchmath). Empty samples give P = 1.
func MannWhitneyU(x, y []float64) MannWhitney {
	m, n := len(x), len(y)
	if m == 0 || n == 0 {
		return MannWhitney{P: 1, Exact: true}
	}
	type obs struct {
		v     float64
		fromX bool
	}
	all := make([]obs, 0, m+n)
	for _, v := range x {
		all = append(all, obs{v, true})
	}
	for _, v := range y {
		all = append(all, obs{v, false})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].v < all[j].v })

	// Doubled midranks are integers: ties share the mean of their ranks.
	N := m + n
	rank2 := make([]int, N)
	var tieTerm float64 // Σ (t³ − t) over groups of t tied values
	for i := 0; i < N; {
		j := i
		for j+1 < N && all[j+1].v == all[i].v {
			j++
		}
		for k := i; k <= j; k++ {
			rank2[k] = i + j + 2 // 2 · mean of ranks i+1 .. j+1
		}
		t := float64(j - i + 1)
		tieTerm += t*t*t - t
		i = j + 1
	}
	w2 := 0 // doubled rank sum of x
	for i, o := range all {
		if o.fromX {
			w2 += rank2[i]
		}
	}
	u := float64(w2)/2 - float64(m*(m+1))/2
	if tieTerm == float64(N*N*N-N) { // every value equal
		return MannWhitney{U: u, P: 1, Exact: true}
	}
	if N <= exactLimit {
		return MannWhitney{U: u, P: exactP(rank2, m, w2), Exact: true}
	}
	// Past the limit, benchstat's own test: it is exact without ties up to
	// 50 values a side and otherwise the same normal approximation (tie and
	// continuity corrected) we would use. Below the limit it is not used:
	// with ties it doubles the smaller tail of the tied U distribution,
	// which is not symmetric, so its p-value can be twice the permutation
	// one (x=1,1,1,3 y=4,5: 0.133 for 0.067), and it is exact with ties
	// only up to 25 a side.
	th := &benchmath.DefaultThresholds // its alpha sets warnings, never P
	sx := benchmath.NewSample(append([]float64(nil), x...), th)
	sy := benchmath.NewSample(append([]float64(nil), y...), th)
	p := benchmath.AssumeNothing.Compare(sx, sy).P
	exact := tieTerm == 0 && m <= moremath.MannWhitneyExactLimit && n <= moremath.MannWhitneyExactLimit
	return MannWhitney{U: u, P: math.Min(1, p), Exact: exact}
}

// exactP counts, over every choice of m of the doubled ranks, those whose
// sum is at least as far from the mean m(N+1) as w2.
func exactP(rank2 []int, m, w2 int) float64 {
	N := len(rank2)
	maxSum := 0
	for _, r := range rank2 {
		maxSum += r
	}
	// ways[k][s]: subsets of k of the ranks seen so far with sum s.
	ways := make([][]float64, m+1)
	for k := range ways {
		ways[k] = make([]float64, maxSum+1)
	}
	ways[0][0] = 1
	seen := 0
	for _, r := range rank2 {
		seen += r
		for k := min(m, N); k >= 1; k-- {
			row, prev := ways[k], ways[k-1]
			for s := seen; s >= r; s-- {
				row[s] += prev[s-r]
			}
		}
	}
	mean2 := m * (N + 1)
	dist := abs(w2 - mean2)
	var tail, total float64
	for s, c := range ways[m] {
		total += c
		if abs(s-mean2) >= dist {
			tail += c
		}
	}
	return math.Min(1, tail/total)
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// MinPValue is the smallest two-sided p-value the Mann–Whitney test can
// give for samples of m and n values: 2 / C(m+n, m), when the two samples
// do not overlap at all. When it is above the significance level, no
// difference can ever be called significant: 2 repeats against 2 can
// never go below p = 0.33, 3 against 3 never below 0.1.
func MinPValue(m, n int) float64 {
	if m == 0 || n == 0 {
		return 1
	}
	c := 1.0 // C(m+n, m), built as a product to stay exact for small sizes
	for i := 1; i <= m; i++ {
		c = c * float64(n+i) / float64(i)
	}
	return math.Min(1, 2/c)
}

// RepeatsFor returns the fewest repeats per side with which the test can
// reach p < alpha at all: 4 for 0.05 (2/70 = 0.029), 5 for 0.01.
func RepeatsFor(alpha float64) int {
	n := 1
	for n < 1000 && MinPValue(n, n) >= alpha {
		n++
	}
	return n
}
