package report

import (
	"fmt"
	"slices"

	"github.com/corebench/corebench/report/internal/numfmt"
	"github.com/corebench/corebench/results"
)

// spread formats a median with its min–max range across repeats, each
// with f: "41.2k [40.1k–42.1k]". One repeat is just the value.
func spread(s results.Spread, f func(float64) string) string {
	if s.N == 0 {
		return "–"
	}
	if s.N == 1 || s.Min == s.Max {
		return f(s.Median)
	}
	return fmt.Sprintf("%s [%s–%s]", f(s.Median), f(s.Min), f(s.Max))
}

// median formats a spread's median with f, or "–" when it has none.
func median(s results.Spread, f func(float64) string) string {
	if s.N == 0 {
		return "–"
	}
	return f(s.Median)
}

// markBound prefixes a latency figure that timed-out or unsent requests,
// counted at the time they were given up, can move: it is only a lower
// bound of what they would have taken.
const markBound = "≥"

// bounded is text, the figure called name, marked ≥ when lowerBounds
// (results' latency_ms.lower_bounds) names it.
func bounded(lowerBounds []string, name, text string) string {
	if slices.Contains(lowerBounds, name) {
		return markBound + text
	}
	return text
}

// Count formats an integer with thousands separators, 1,234,567, as the
// report's tables write counts: bench run's progress line uses it.
func Count(n int64) string { return numfmt.Count(n) }
