package stats

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// Ratio is how many times larger one sample's values are than another's,
// with a confidence interval and a test, as corebench's verdicts and
// bench compare state them ("2.24× [2.10–2.39], p = 0.002").
//
// Est is the Hodges–Lehmann estimate on the log scale: the exponential of
// the median of every pairwise difference log x_i − log y_j. [Lo, Hi] is
// its distribution-free interval (Moses, 1965): the k-th smallest and
// k-th largest of those differences, k from the exact Mann–Whitney
// distribution, so the interval excludes 1 exactly when the exact test
// without ties rejects at Alpha. Conf is the interval's own coverage, at
// least 1−Alpha (the distribution is discrete). With too few values for
// any interval at Alpha (3 against 3 or fewer at 0.05), Lo is 0 and Hi is
// +Inf: nothing can be told.
//
// The ratio of medians would be the plainer figure, but it has no
// interval without assumptions; the Hodges–Lehmann ratio is the median
// ratio of any repeat of one to any repeat of the other, and equals the
// ratio of medians when the two differ by a constant factor.
type Ratio struct {
	Est, Lo, Hi float64
	Conf        float64
	P           float64 // two-sided Mann–Whitney p (MannWhitneyU: exact, ties included)
	N, M        int     // values of x and of y
	Alpha       float64
}

// Apart reports whether the data tell x and y apart at Alpha: the test
// rejects and the interval excludes 1. Ties can make the two disagree by
// a hair; then they are not told apart.
func (r Ratio) Apart() bool {
	return r.P < r.Alpha && (r.Lo > 1 || r.Hi < 1)
}

// Bounded reports whether the interval is finite: there were enough
// values for one.
func (r Ratio) Bounded() bool { return r.Lo > 0 && !math.IsInf(r.Hi, 1) }

// CompareRatio compares x with y (every value > 0; others are left out).
func CompareRatio(x, y []float64, alpha float64) Ratio {
	pos := func(v []float64) []float64 {
		var out []float64
		for _, f := range v {
			if f > 0 && !math.IsInf(f, 0) {
				out = append(out, f)
			}
		}
		return out
	}
	x, y = pos(x), pos(y)
	r := Ratio{N: len(x), M: len(y), Alpha: alpha, Lo: 0, Hi: math.Inf(1), P: 1}
	if len(x) == 0 || len(y) == 0 {
		r.Est = math.NaN()
		return r
	}
	d := make([]float64, 0, len(x)*len(y))
	for _, a := range x {
		for _, b := range y {
			d = append(d, math.Log(a)-math.Log(b))
		}
	}
	slices.Sort(d)
	r.Est = math.Exp(Median(d))
	r.P = MannWhitneyU(x, y).P
	if k, conf := mosesK(len(x), len(y), alpha); k > 0 {
		r.Lo, r.Hi, r.Conf = math.Exp(d[k-1]), math.Exp(d[len(d)-k]), conf
	}
	return r
}

// mosesK is the rank k of the interval's ends among the m·n differences:
// the largest k with P(U < k) ≤ alpha/2 under the null hypothesis, and the
// coverage 1 − 2·P(U < k) it gives; 0 when even k = 1 is too wide a tail.
// Exact up to 60 values in all (the distribution of U by recursion),
// the normal approximation beyond, as MannWhitneyU.
func mosesK(m, n int, alpha float64) (int, float64) {
	if m+n > exactLimit {
		sd := math.Sqrt(float64(m*n*(m+n+1)) / 12)
		z := distuv.UnitNormal.Quantile(1 - alpha/2)
		k := int(math.Floor(float64(m*n)/2 - z*sd))
		if k < 1 {
			return 0, 0
		}
		tail := distuv.UnitNormal.CDF((float64(k) - 0.5 - float64(m*n)/2) / sd)
		return k, 1 - 2*tail
	}
	cdf := uCDF(m, n)
	k := 0
	for k < len(cdf) && cdf[k] <= alpha/2 { // cdf[u] = P(U ≤ u) = P(U < u+1)
		k++
	}
	if k == 0 {
		return 0, 0
	}
	return k, 1 - 2*cdf[k-1]
}

// uCDF is P(U ≤ u) for u = 0..m·n, U the Mann–Whitney statistic of m
// against n values without ties under the null hypothesis, from the
// recursion p(m, n, u) = m/(m+n)·p(m−1, n, u−n) + n/(m+n)·p(m, n−1, u).
func uCDF(m, n int) []float64 {
	// prob[i][j] is the distribution for i against j, built row by row.
	prev := make([][]float64, n+1) // i−1 against 0..n
	for j := range prev {
		prev[j] = []float64{1} // 0 values against j: U = 0
	}
	for i := 1; i <= m; i++ {
		cur := make([][]float64, n+1)
		cur[0] = []float64{1} // i against 0: U = 0
		for j := 1; j <= n; j++ {
			p := make([]float64, i*j+1)
			wi, wj := float64(i)/float64(i+j), float64(j)/float64(i+j)
			for u := range p {
				// The largest value is one of x (prob i/(i+j)): it beats
				// all j of y; or one of y: it beats none of x.
				if u-j >= 0 && u-j < len(prev[j]) {
					p[u] += wi * prev[j][u-j]
				}
				if u < len(cur[j-1]) {
					p[u] += wj * cur[j-1][u]
				}
			}
			cur[j] = p
		}
		prev = cur
	}
	dist := prev[n]
	cdf := make([]float64, len(dist))
	sum := 0.0
	for u, p := range dist {
		sum += p
		cdf[u] = sum
	}
	return cdf
}
