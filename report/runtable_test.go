package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/corebench/corebench/results"
)

// TestRunTable: bench run's closing table marks what the report's tables
// mark, and notes each mark it used, so a terminal figure is never read as
// more than it is.
func TestRunTable(t *testing.T) {
	one := func(v float64) results.Spread { return results.Spread{N: 1, Median: v, Min: v, Max: v} }
	sum := func() *results.CaseSummary {
		return &results.CaseSummary{RPS: one(41234), P50: one(0.5), P99: one(2.5), ServerCPUPerReq: one(13)}
	}
	clean := results.Case{ID: "clean", Summary: sum()}
	sat := results.Case{ID: "saturated", Summary: sum()}
	sat.Summary.Saturated = true
	failing := results.Case{ID: "failing", Summary: sum()}
	failing.Summary.Errors, failing.Summary.FailedShare = 500, 0.05
	bounded := results.Case{ID: "bounded", Summary: sum()}
	bounded.Summary.LowerBounds = []string{"p99"}
	broken := results.Case{ID: "broken", Error: "server exited"}
	short := results.Case{ID: "short", Summary: sum()}
	short.Summary.LimitedBy, short.Summary.Noise = results.LimitConnections, []string{"other processes took up to 0.20 of a CPU (over 0.05)"}
	clean.Summary.LimitedBy = results.LimitServer

	var b bytes.Buffer
	RunTable(&b, &results.Run{Cases: []results.Case{clean, sat, failing, bounded, broken, short}})
	lines := map[string]string{}
	for _, l := range strings.Split(b.String(), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			lines[f[0]] = l
		}
	}
	for id, want := range map[string][]string{
		"clean":     {"41,234  ", "2.50 ms", " 0 ", "server cores"},
		"short":     {"41,234 ↓", "too few connections ‡"},
		"saturated": {"41,234 ⚠"},
		"failing":   {"41,234 †", "500 (5%)"},
		"bounded":   {"≥2.50 ms", "0.500 ms"},
		"broken":    {"failed: server exited"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[id], w) {
				t.Errorf("%s: %q lacks %q", id, lines[id], w)
			}
		}
	}
	// A failed case's error is said once, below the table, so that it
	// does not widen the req/s column of every row.
	table, after, _ := strings.Cut(b.String(), "broken failed: ")
	if strings.Contains(table, "server exited") || !strings.HasPrefix(after, "server exited") {
		t.Errorf("the error is not on a line of its own below the table:\n%s", b.String())
	}
	if strings.ContainsAny(lines["clean"], "⚠†≥↓‡") {
		t.Errorf("a clean case is marked: %q", lines["clean"])
	}
	for _, note := range []string{"⚠ the load generator", "† over 1% of requests failed", "≥ timed-out or unsent", "↓ too few connections", "‡ machine noise"} {
		if !strings.Contains(b.String(), note) {
			t.Errorf("no note %q:\n%s", note, b.String())
		}
	}

	b.Reset()
	RunTable(&b, &results.Run{Cases: []results.Case{clean}})
	if strings.ContainsAny(b.String(), "⚠†≥↓‡") {
		t.Errorf("marks or notes without a marked case:\n%s", b.String())
	}
	if got := CaseLine(&bounded); got != "41,234 req/s, p99 ≥2.50 ms, 0 errors" {
		t.Errorf("CaseLine = %q", got)
	}
	if got := CaseLine(&short); got != "41,234 req/s ↓, p99 2.50 ms, 0 errors, limited by too few connections ‡" {
		t.Errorf("CaseLine = %q", got)
	}
	if got := CaseLine(&failing); !strings.HasPrefix(got, "41,234 req/s †,") {
		t.Errorf("CaseLine = %q", got)
	}
}
