package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/corebench/corebench/assess"
	"github.com/corebench/corebench/report/internal/numfmt"
	"github.com/corebench/corebench/results"
)

// RunTable writes what `bench run` prints when it finishes: one line per
// case, with the marks of the report's tables (≥ on a latency that is a
// lower bound, ⚠, † and ↓ on req/s the report does not take as the
// server's capacity, ‡ on a case with machine noise), what limited each
// case, and a note saying what each mark present means.
func RunTable(w io.Writer, run *results.Run) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tREQ/S\tP50\tP99\tERRORS\tSERVER CPU/REQ\tLIMITED BY")
	var seen caseFlag
	bound, noise := false, false
	var failed []*results.Case
	for i := range run.Cases {
		c := &run.Cases[i]
		if !measured(c) {
			// Its error below the table: a long one in a column would
			// push every other row's figures off the screen.
			fmt.Fprintf(tw, "%s\tfailed\t\t\t\t\t\n", c.ID)
			failed = append(failed, c)
			continue
		}
		s, f := c.Summary, flagOf(c)
		seen.saturated = seen.saturated || f.saturated
		seen.failed = max(seen.failed, f.failed)
		seen.underloaded = seen.underloaded || f.underloaded
		noise = noise || len(s.Noise) > 0
		p50, p99 := bounded(s.LowerBounds, "p50", numfmt.Millis(s.P50.Median)), bounded(s.LowerBounds, "p99", numfmt.Millis(s.P99.Median))
		bound = bound || strings.HasPrefix(p50, markBound) || strings.HasPrefix(p99, markBound)
		fmt.Fprintf(tw, "%s\t%s%s\t%s\t%s\t%s\t%.1f µs\t%s\n", c.ID, numfmt.Whole(s.RPS.Median), f.mark(),
			p50, p99, errorsText(s), s.ServerCPUPerReq.Median, limitText(s))
	}
	tw.Flush()
	for _, c := range failed {
		fmt.Fprintf(w, "%s failed: %s\n", c.ID, failure(c))
	}
	if seen.saturated {
		fmt.Fprintln(w, markSaturated+" the load generator was the bottleneck: the server may be faster.")
	}
	if seen.failed > 0 {
		fmt.Fprintf(w, "%s over %s%% of requests failed: req/s counts successes only.\n", markFailed, numfmt.Sig(100*assess.FailedFlag))
	}
	if seen.underloaded {
		fmt.Fprintln(w, markUnderloaded+" too few connections to load the server: the load, not the server, set req/s.")
	}
	if bound {
		fmt.Fprintln(w, markBound+" timed-out or unsent requests reach that latency: it is a lower bound.")
	}
	if noise {
		fmt.Fprintln(w, markNoise+" machine noise during the case (a governor other than performance, or other processes' CPU); the report says which.")
	}
}

// CaseLine is one finished case in a line, as `bench run` reports its
// progress: "41,234 req/s, p99 2.50 ms, 0 errors", with the same marks.
func CaseLine(c *results.Case) string {
	if !measured(c) {
		return "FAILED: " + failure(c)
	}
	s := c.Summary
	p99 := bounded(s.LowerBounds, "p99", numfmt.Millis(s.P99.Median))
	line := fmt.Sprintf("%s req/s%s, p99 %s, %s errors", numfmt.Whole(s.RPS.Median), flagOf(c).mark(), p99, errorsText(s))
	if s.LimitedBy != "" {
		line += ", limited by " + limitText(s)
	}
	return line
}

// failure says why c has no figures.
func failure(c *results.Case) string {
	if c.Error != "" {
		return c.Error
	}
	return "no request was measured"
}
