package report

import (
	"strings"
	"testing"
)

// TestRanking: the report orders the models side by side only where the
// repeats tell neighbours apart, writes ≈ where they are within noise
// (overlapping ranges), leaves flagged cases out, and ranks nothing at
// all when the repeats are too few for any difference to be significant.
func TestRanking(t *testing.T) {
	run := smallRun("rank",
		smallCase("singlecore/cpu/closed-c100/w1", "models", "singlecore", "cpu", 1, 100, 1000, 1010, 990, 1005, 995),
		smallCase("goroutines/cpu/closed-c100/w2", "models", "goroutines", "cpu", 2, 100, 1900, 1950, 1920, 1880, 1910),
		smallCase("prefork-rr/cpu/closed-c100/w2", "models", "prefork-rr", "cpu", 2, 100, 1930, 1940, 1925, 1890, 1960),
		smallCase("prefork-os/cpu/closed-c100/w2", "models", "prefork-os", "cpu", 2, 100, 3000, 3010, 2990, 3005, 2995),
		withFailures(smallCase("prefork-reuseport/cpu/closed-c100/w2", "models", "prefork-reuseport", "cpu", 2, 100, 5000, 5010, 4990, 5005, 4995), 0.2),
	)
	md := renderMarkdown(t, run)
	for _, want := range []string{
		"**Ranking** of the models side by side:",
		"- req/s (higher first): prefork-os 3k > prefork-rr 1.93k ≈ goroutines 1.91k > singlecore 1k",
		"- p99 (lower first): prefork-os 0.333 ms > prefork-rr 0.518 ms ≈ goroutines 0.524 ms > singlecore 1 ms",
		"`≈`: within noise; the order of those two is not measured. Left out as flagged: prefork-reuseport †.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}

	// Two repeats each: nothing can be told apart, however far apart.
	two := smallRun("two",
		smallCase("singlecore/cpu/closed-c100/w1", "models", "singlecore", "cpu", 1, 100, 1000, 1010),
		smallCase("goroutines/cpu/closed-c100/w2", "models", "goroutines", "cpu", 2, 100, 5000, 5100))
	md = renderMarkdown(t, two)
	if !strings.Contains(md, "**Ranking.** Not ranked: 2 repeats cannot tell these apart; 4 or more per side can reach p<0.05") ||
		strings.Contains(md, " > ") {
		t.Errorf("2 repeats: want no ranking and why:\n%s", md)
	}
}
