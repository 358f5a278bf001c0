package report

import (
	"strings"
	"testing"

	"github.com/corebench/corebench/results"
)

func interleavedRun(id string, cases ...results.Case) *results.Run {
	run := smallRun(id, cases...)
	run.Settings.Interleaved = true
	return run
}

// The figures were checked against an independent computation of the
// Hodges–Lehmann ratio and its interval (Python, from the definition).
//
// TestVerdict: the report opens with which model served most, by how
// much against each other with an interval and p, which cannot be told
// apart from it, what limited them, and which were flagged rather than
// ranked; bench run prints the same in a line per workload.
func TestVerdict(t *testing.T) {
	run := interleavedRun("verdict",
		smallCase("singlecore/cpu/closed-c100/w1", "models", "singlecore", "cpu", 1, 100, 1000, 1010, 990, 1005, 995, 1002),
		smallCase("goroutines/cpu/closed-c100/w2", "models", "goroutines", "cpu", 2, 100, 1900, 1950, 1920, 1880, 1910, 1930),
		smallCase("prefork-rr/cpu/closed-c100/w2", "models", "prefork-rr", "cpu", 2, 100, 1930, 1940, 1925, 1890, 1960, 1915),
		smallCase("prefork-os/cpu/closed-c100/w2", "models", "prefork-os", "cpu", 2, 100, 3000, 3010, 2990, 3005, 2995, 3001),
		withFailures(smallCase("prefork-reuseport/cpu/closed-c100/w2", "models", "prefork-reuseport", "cpu", 2, 100, 5000, 5010, 4990, 5005, 4995, 5001), 0.2),
	)
	for i := range run.Cases {
		run.Cases[i].Summary.LimitedBy = results.LimitServer
	}
	md := renderMarkdown(t, run)
	verdictAt := strings.Index(md, "## Verdict")
	if verdictAt < 0 || verdictAt > strings.Index(md, "## Workload") {
		t.Fatalf("no verdict before the workloads:\n%s", md)
	}
	want := "- **cpu** (`/cpu`): **prefork-os** served most, 3k req/s. " +
		"Ahead of prefork-rr by 1.56× [1.54–1.58] (p = 0.002), goroutines by 1.57× [1.54–1.59] (p = 0.002), singlecore by 3.00× [2.98–3.03] (p = 0.002). " +
		"Each limited by the server's cores. Not ranked: prefork-reuseport (failed requests)."
	if !strings.Contains(md, want) {
		t.Errorf("report.md lacks\n%s\n%s", want, md[verdictAt:verdictAt+1200])
	}
	lines := VerdictLines(run)
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "cpu (/cpu): prefork-os served most, 3k req/s. Ahead of prefork-rr by 1.56×") {
		t.Errorf("VerdictLines = %q", lines)
	}

	// The leader and a model within noise of it: told, with the ratio.
	tie := interleavedRun("tie",
		smallCase("goroutines/cpu/closed-c100/w2", "models", "goroutines", "cpu", 2, 100, 1900, 1950, 1920, 1880, 1910, 1930),
		smallCase("prefork-rr/cpu/closed-c100/w2", "models", "prefork-rr", "cpu", 2, 100, 1930, 1940, 1925, 1890, 1960, 1915),
		smallCase("singlecore/cpu/closed-c100/w1", "models", "singlecore", "cpu", 1, 100, 1000, 1010, 990, 1005, 995, 1002))
	if l := VerdictLines(tie); len(l) != 1 || !strings.Contains(l[0], "prefork-rr served most, 1.93k req/s; goroutines cannot be told apart from it (1.01× [0.99–1.02], p = 0.42). Ahead of singlecore by") {
		t.Errorf("tie: %q", l)
	}

	// Two repeats a side: no p can go below 1/3, and the verdict says so.
	two := interleavedRun("two",
		smallCase("singlecore/cpu/closed-c100/w1", "models", "singlecore", "cpu", 1, 100, 1000, 1010),
		smallCase("goroutines/cpu/closed-c100/w2", "models", "goroutines", "cpu", 2, 100, 5000, 5100))
	if l := VerdictLines(two); len(l) != 1 || !strings.Contains(l[0], "goroutines had the highest median, 5.05k req/s, ahead of singlecore by 5.02×; "+
		"but 2 repeats a side cannot tell models apart (no p below 0.333), so this order is not a verdict") {
		t.Errorf("two repeats: %q", l)
	}

	// Machine noise: ranked when the repeats were interleaved, named and
	// not ranked when they ran back to back.
	noisy := func(interleaved bool) []string {
		r := smallRun("noise",
			smallCase("singlecore/cpu/closed-c100/w1", "models", "singlecore", "cpu", 1, 100, 1000, 1010, 990, 1005, 995, 1002),
			smallCase("goroutines/cpu/closed-c100/w2", "models", "goroutines", "cpu", 2, 100, 1900, 1950, 1920, 1880, 1910, 1930))
		r.Settings.Interleaved = interleaved
		other := 0.5
		r.Cases[0].Repeats[2].OtherCPU, r.Cases[0].Repeats[2].WallS = &other, 1
		return VerdictLines(r)
	}
	if l := noisy(true); len(l) != 1 || !strings.Contains(l[0], "Ahead of singlecore by 1.91×") || !strings.Contains(l[0], "singlecore met machine noise ‡") {
		t.Errorf("noise, interleaved: %q", l)
	}
	if l := noisy(false); len(l) != 1 || !strings.Contains(l[0], "goroutines served 1.92k req/s, with no other model ranked beside it") ||
		!strings.Contains(l[0], "Not ranked: singlecore (machine noise during repeats run back to back)") {
		t.Errorf("noise, back to back: %q", l)
	}
}
