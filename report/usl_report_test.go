package report

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/corebench/corebench/results"
)

// sweepRun is a run of one sweep of the cpu workload: per model, req/s at
// each x (connections or workers), two repeats 1% apart.
func sweepRun(sweep results.Sweep, rps map[string][]float64, xs ...int) *results.Run {
	run := smallRun("usl")
	run.Profile = "full"
	for _, model := range []string{"goroutines", "prefork-rr", "prefork-os"} {
		for i, x := range xs {
			if rps[model] == nil {
				continue
			}
			w, conns := 4, x
			if sweep == results.SweepWorkers {
				w, conns = x, 64
			}
			r := rps[model][i]
			run.Cases = append(run.Cases, smallCase(model+"/cpu/c"+strconv.Itoa(conns)+"/w"+strconv.Itoa(w), sweep, model, "cpu", w, conns, r, 1.01*r))
		}
	}
	return run
}

// chartTexts renders the named chart of run and returns its texts.
func chartTexts(t *testing.T, run *results.Run, name string) []string {
	t.Helper()
	_, charts := view{run: run}.document()
	for _, c := range charts {
		if c.name == name {
			svg, err := c.svg()
			if err != nil {
				t.Fatal(err)
			}
			return svgTexts(string(svg))
		}
	}
	t.Fatalf("no chart %s", name)
	return nil
}

// TestUSLWhereItApplies: the USL is fitted to worker sweeps only, drawn
// only where it has 4 or more worker counts and R² of 0.98 or more, and
// the table says why not elsewhere; the legend keys only what is drawn.
func TestUSLWhereItApplies(t *testing.T) {
	// A connections sweep: no fit, no USL table, no key for lines not
	// drawn.
	conns := sweepRun(results.SweepConnections, map[string][]float64{"goroutines": {2000, 9000, 12000, 12500}}, 1, 16, 64, 256)
	md := renderMarkdown(t, conns)
	if strings.Contains(md, "λ (req/s at 1)") || !strings.Contains(md, "No Universal Scalability Law here") {
		t.Errorf("a connections sweep has a USL table, or its caption does not say why not:\n%s", md)
	}
	texts := chartTexts(t, conns, "scaling-connections-cpu")
	if slices.Contains(texts, "USL fit") || slices.Contains(texts, "linear: λ·N") {
		t.Errorf("the connections chart keys lines it does not draw: %q", texts)
	}

	workers := sweepRun(results.SweepWorkers, map[string][]float64{
		"goroutines": {1000, 1950, 3700, 6600}, // Amdahl-like: fits
		"prefork-rr": {1000, 3000, 1500, 3500}, // a zig-zag no law describes
		"prefork-os": {1000, 1900, 3600, 6000}, // its 8 removed below
	}, 1, 2, 4, 8)
	// prefork-os measured at 1, 2 and 4 workers only.
	workers.Cases = slices.DeleteFunc(workers.Cases, func(c results.Case) bool { return c.Model == "prefork-os" && c.Workers == 8 })
	md = renderMarkdown(t, workers)
	for _, want := range []string{
		"| prefork-os | 6 | not fitted: 3 worker counts measured, a fit needs 4 or more (3 parameters) |",
		"| prefork-rr | 8 | not fitted: R² ",
		" is below 0.98: the law does not describe these points |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	if !strings.Contains(md, "| goroutines | 8 | 1k |") {
		t.Errorf("goroutines is not fitted:\n%s", md)
	}
	texts = chartTexts(t, workers, "scaling-workers-cpu")
	for _, want := range []string{"USL fit", "  no USL: 3 worker counts", "  no USL: R² "} {
		if !containsText(texts, want) {
			t.Errorf("workers chart lacks %q: %q", want, texts)
		}
	}
	// Without a good fit, no key for the law's lines.
	bad := sweepRun(results.SweepWorkers, map[string][]float64{"prefork-rr": {1000, 3000, 1500, 3500}}, 1, 2, 4, 8)
	if texts := chartTexts(t, bad, "scaling-workers-cpu"); slices.Contains(texts, "USL fit") || slices.Contains(texts, "linear: λ·N") {
		t.Errorf("a workers chart with no fit drawn keys its lines: %q", texts)
	}
}
