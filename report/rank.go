package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/corebench/corebench/report/internal/numfmt"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
)

// A ranking of the models side by side is only as good as the repeats
// behind it. Two neighbours are told apart only when their min–max ranges
// do not overlap and the Mann–Whitney test over their repeats gives
// p < Alpha; otherwise they are within noise and the report says so
// rather than order them. With too few repeats (2 against 2 can never go
// below p = 1/3) nothing can be told apart, and the report ranks nothing.

// rankMetric is a figure models are ranked by.
type rankMetric struct {
	name   string // "req/s"
	higher bool   // higher is better
	format func(float64) string
	spread func(*results.CaseSummary) results.Spread
	repeat func(results.Repeat) float64
}

var rankMetrics = []rankMetric{
	{"req/s", true, numfmt.SI, func(s *results.CaseSummary) results.Spread { return s.RPS }, func(r results.Repeat) float64 { return r.Load.RPS }},
	{"p99", false, func(x float64) string { return numfmt.Sig(x) + " ms" }, func(s *results.CaseSummary) results.Spread { return s.P99 },
		func(r results.Repeat) float64 { return r.Load.Latency.P99 }},
}

// apart says whether the repeats of a and b separate them by m, or why
// not.
func apart(a, b *results.Case, m rankMetric, alpha float64) (bool, string) {
	xa, xb := repeatValues(a, m.repeat), repeatValues(b, m.repeat)
	if why := tooFewRepeats(len(xa), len(xb), alpha); why != "" {
		return false, why
	}
	sa, sb := m.spread(a.Summary), m.spread(b.Summary)
	if sa.Min <= sb.Max && sb.Min <= sa.Max {
		return false, "their min–max ranges overlap"
	}
	if p := stats.MannWhitneyU(xa, xb).P; p >= alpha {
		return false, fmt.Sprintf("p=%.3f", p)
	}
	return true, ""
}

// ranking writes what the report may say about the order of cases by
// each metric: a chain such as "a 104k > b 93.7k ≈ c 93.5k", where ≈ is
// within noise, or why there is no ranking at all. Flagged cases are left
// out: their figures are not the servers'.
func ranking(cases []*results.Case, alpha float64) (items []string, note string) {
	var ok []*results.Case
	var left []string
	for _, c := range cases {
		switch {
		case !measured(c):
		case flagOf(c).any():
			left = append(left, c.Model+flagOf(c).mark())
		default:
			ok = append(ok, c)
		}
	}
	if len(ok) < 2 {
		return nil, ""
	}
	labels := map[*results.Case]string{}
	for i, l := range caseLabels(ok) {
		labels[ok[i]] = l
	}
	leftOut := ""
	if len(left) > 0 {
		leftOut = fmt.Sprintf(" Left out as flagged: %s.", strings.Join(left, ", "))
	}
	// Too few repeats for any pair: say so once, rank nothing.
	if few := tooFewForAll(ok, alpha); few != "" {
		return nil, fmt.Sprintf("Not ranked: %s (`bench run --repeat %d`), so any order of these models would be noise.%s",
			few, stats.RepeatsFor(alpha), leftOut)
	}
	noisy := false
	for _, m := range rankMetrics {
		sorted := append([]*results.Case(nil), ok...)
		sort.SliceStable(sorted, func(i, j int) bool {
			a, b := m.spread(sorted[i].Summary).Median, m.spread(sorted[j].Summary).Median
			if m.higher {
				return a > b
			}
			return a < b
		})
		var b strings.Builder
		order := "lower first"
		if m.higher {
			order = "higher first"
		}
		fmt.Fprintf(&b, "%s (%s): ", m.name, order)
		for i, c := range sorted {
			if i > 0 {
				if sep, _ := apart(sorted[i-1], c, m, alpha); sep {
					b.WriteString(" > ")
				} else {
					b.WriteString(" ≈ ")
					noisy = true
				}
			}
			fmt.Fprintf(&b, "%s %s", labels[c], m.format(m.spread(c.Summary).Median))
		}
		items = append(items, b.String())
	}
	note = fmt.Sprintf("`>`: the repeats tell the two apart (min–max ranges apart, Mann–Whitney p < %g).", alpha)
	if noisy {
		note += " `≈`: within noise; the order of those two is not measured."
	}
	return items, note + leftOut
}

// tooFewForAll says why no two of cases can be told apart by the number
// of their repeats alone, or "" when some two can.
func tooFewForAll(cases []*results.Case, alpha float64) string {
	why := ""
	n := func(c *results.Case) int { return len(repeatValues(c, rankMetrics[0].repeat)) }
	for i, a := range cases {
		for _, b := range cases[i+1:] {
			w := tooFewRepeats(n(a), n(b), alpha)
			if w == "" {
				return ""
			}
			why = w
		}
	}
	return why
}

// tooFewRepeats says that m against n repeats cannot separate two
// figures at alpha, and how many can: "2 repeats cannot tell these
// apart; 4 or more per side can reach p<0.05". It is "" when they can.
func tooFewRepeats(m, n int, alpha float64) string {
	if stats.MinPValue(m, n) < alpha {
		return ""
	}
	reps := fmt.Sprintf("%d repeats", m)
	if m != n {
		reps = fmt.Sprintf("%d and %d repeats", m, n)
	} else if m == 1 {
		reps = "1 repeat"
	}
	return fmt.Sprintf("%s cannot tell these apart; %d or more per side can reach p<%g", reps, stats.RepeatsFor(alpha), alpha)
}
