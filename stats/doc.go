// Package stats holds the statistics corebench's figures rest on, in one
// place, as golang.org/x/perf keeps benchmath apart from benchfmt (package
// results): what a case, a load or a run sums up to (Summarize,
// LatencyOf, PerSecond, Jain, Merge of a load's parts, RunSteal, and
// Median, SpreadOf, StatsOf under them), the Universal Scalability Law fit
// (FitUSL), COST, the Mann–Whitney U test with what it can and cannot
// tell (MannWhitneyU, MinPValue, RepeatsFor), and the ratio of two
// samples with its interval (CompareRatio) that verdicts and comparisons
// state.
//
// Where a maintained package computes the same figure it is used: StatsOf's
// mean and standard deviation are gonum's (stat.PopMeanStdDev), which agree
// with the two-pass sums they replace to within 1e-15 of the value
// (TestStatsOfAgreesWithGonum). The tests compare ours with theirs where we
// keep our own. What is written here, and why:
//   - Median: the mean of the two middle values of an even count, as
//     benchstat and the report's tables read a median; gonum's
//     stat.Quantile(0.5, ...) gives the lower of the two with either of its
//     kinds (TestMedianAgreesWithGonum).
//   - Jain's fairness index, per-second samples (PerSecond), the latency
//     figures of a histogram (LatencyOf), a case's summary, a load merged
//     from its parts and the steal share: definitions over corebench's own
//     records, which no library has.
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
//   - CompareRatio: the Hodges–Lehmann ratio with Moses' interval, from
//     the same exact distribution as the test, so the two never disagree
//     (TestRatioIntervalAgreesWithTest). benchstat prints each sample's
//     own interval (benchmath.Summary) and a p, not an interval of the
//     change; gonum has neither. Its critical ranks match published
//     tables (TestMosesK).
//   - RepeatsFor: benchmath keeps the same search unexported, and only for
//     equal sample sizes up to 9.
//
// Of the module it imports results alone: the records it sums up.
package stats
