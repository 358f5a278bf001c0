// Package stats holds the statistics corebench's figures rest on, in one
// place, as golang.org/x/perf keeps benchmath apart from benchfmt: the
// Universal Scalability Law fit (FitUSL), COST, and the Mann–Whitney U
// test with what it can and cannot tell (MannWhitneyU, MinPValue,
// RepeatsFor).
//
// Where a maintained package computes the same figure it is used, and the
// tests compare ours with it where we keep our own. What is written here,
// and why:
//   - FitUSL: neither gonum nor x/perf fits the USL; the fit polishes with
//     gonum's Nelder–Mead (gonum.org/v1/gonum/optimize). Its R² is
//     1 − SSE/SST from the SSE the fit minimised, 1 when every point is
//     equal; gonum's stat.RSquaredFrom divides by that zero SST (and agrees
//     otherwise to the last bit or two: TestAgreesWithGonum).
//   - COST: a definition over measured points, nothing to borrow.
//   - MannWhitneyU: up to 60 values in all it is the exact permutation
//     test, ties included. benchstat's test (x/perf/benchmath, through
//     go-moremath) is exact with ties only up to 25 a side and otherwise
//     doubles the smaller tail of the tied U distribution, which is not
//     symmetric: 1,1,1,3 against 4,5 gives it p = 2/15 for the exact
//     1/15 (TestMannWhitneyAgreesWithBenchstat). Repeats tie often (p99 is
//     read from histogram buckets), so ours is used there; past 60 values,
//     benchstat's.
//   - MinPValue: 2 / C(m+n, m) as a running product in floating point,
//     exact while the coefficient fits in 53 bits and never overflowing.
//     gonum's combin.Binomial is the same exact integer where it fits
//     (TestAgreesWithGonum) but wraps past int64, and
//     combin.GeneralizedBinomial goes through lgamma, off in the last
//     digits.
//   - RepeatsFor: benchmath keeps the same search unexported, and only for
//     equal sample sizes up to 9.
//
// It imports nothing of the module.
package stats
