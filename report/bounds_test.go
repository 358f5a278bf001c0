package report

import (
	"strings"
	"testing"

	"github.com/corebench/corebench/stats"
)

// TestLowerBoundsInTables: a case whose repeats had timed-out or unsent
// requests shows the percentiles those reach as lower bounds (≥), its
// unsent count beside the late ones, and a note saying what ≥ means.
func TestLowerBoundsInTables(t *testing.T) {
	c := smallCase("singlecore/hello/closed-c100/w1", "models", "singlecore", "hello", 1, 100, 9000, 9100)
	for i := range c.Repeats {
		c.Repeats[i].Load.Latency.LowerBounds = []string{"p999", "max", "mean"}
	}
	stats.Summarize(&c)
	md := renderMarkdown(t, smallRun("bounds", c))
	if !strings.Contains(md, "| ≥") || !strings.Contains(md, "≥ marks a lower bound") {
		t.Errorf("no lower bound marked in the report:\n%s", md)
	}
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "| singlecore") && strings.Count(l, "≥") != 2 {
			t.Errorf("want p99.9 and max marked, only: %s", l)
		}
	}
}
