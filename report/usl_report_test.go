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
	serverCPUs(run, slices.Max(xs))
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

// serverCPUs gives run n server CPUs of its own, so that a worker sweep
// up to n stays within them.
func serverCPUs(run *results.Run, n int) {
	run.Placement = results.Placement{ServerCPUs: make([]int, n), LoadgenCPUs: []int{n}}
	for i := range run.Placement.ServerCPUs {
		run.Placement.ServerCPUs[i] = i
	}
}

// chartTexts renders the named chart of run and returns its texts.
func chartTexts(t *testing.T, run *results.Run, name string) []string {
	t.Helper()
	_, charts := view{run: run}.document()
	for _, c := range charts {
		if c.name == name {
			svg, err := c.fig.SVG()
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

// TestUSLPastTheCPUs: a worker sweep past the server CPUs is fitted up
// to the CPUs, where each worker brings a core, and the rest is read as
// oversubscription: the CPUs marked on the chart, the peak placed against
// them, the measured change past them, and efficiency per CPU rather than
// per worker.
func TestUSLPastTheCPUs(t *testing.T) {
	xs := []int{1, 2, 4, 8, 12, 18, 24}
	run := sweepRun(results.SweepWorkers, map[string][]float64{
		// Amdahl-like to the 12 CPUs, then loses a little to taking turns:
		// fitted through the corner it would get R² < 0.98.
		"goroutines": {1000, 1990, 3950, 7800, 11500, 11000, 10400},
		// stops scaling on its own near 8 workers
		"prefork-rr": {1000, 1800, 2600, 2900, 2700, 2500, 2300},
	}, xs...)
	serverCPUs(run, 12)
	run.Cases = append(run.Cases, smallCase("singlecore/cpu/c64/w1", results.SweepWorkers, "singlecore", "cpu", 1, 64, 1100, 1111))
	md := renderMarkdown(t, run)
	for _, want := range []string{
		"| past the CPUs (measured) |",
		"Past the 12 server CPUs (18 and 24 workers)",
		"| goroutines | 10 | 1k |",
		"(past the 12 CPUs: still scaling where they ran out) | 43.5k | 1.000 | −9.57% at 24 (of 12's 11.6k) |",
		"(within the 12 CPUs: the model's own limit) |",
		"| −14.8% at 24 (of 12's 2.71k) |",
		"| efficiency at 24 (per CPU of 12) |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	// goroutines at 24 workers: 10.4k over 12 CPUs × singlecore's
	// 1105.5, not over 24 workers.
	if !strings.Contains(md, "| 0.79 |") || strings.Contains(md, "| 0.39 |") {
		t.Errorf("efficiency at 24 workers is not per CPU:\n%s", md)
	}
	texts := chartTexts(t, run, "scaling-workers-cpu")
	for _, want := range []string{"12 server CPUs: more workers take turns", "both fitted and drawn up to the CPUs", "USL fit"} {
		if !containsText(texts, want) {
			t.Errorf("workers chart lacks %q: %q", want, texts)
		}
	}
	if texts := chartTexts(t, run, "cost-cpu"); !containsText(texts, "Past the 12 server CPUs, N is the CPUs") {
		t.Errorf("efficiency chart is not per CPU: %q", texts)
	}

	// On 2 CPUs, 1 to 4 workers: two counts up to the CPUs, no fit, and
	// the table says why.
	small := sweepRun(results.SweepWorkers, map[string][]float64{"goroutines": {1000, 1900, 1880, 1850}}, 1, 2, 3, 4)
	serverCPUs(small, 2)
	md = renderMarkdown(t, small)
	if want := "not fitted: 2 worker counts up to the 2 CPUs, a fit needs 4 or more (3 parameters); the 2 counts past them bring no cores to fit"; !strings.Contains(md, want) {
		t.Errorf("report.md lacks %q:\n%s", want, md)
	}

	// Within the CPUs none of it shows, and every point is fitted.
	serverCPUs(run, 24)
	md = renderMarkdown(t, run)
	for _, not := range []string{"past the CPUs", "Past the 24 server CPUs", "per CPU of"} {
		if strings.Contains(md, not) {
			t.Errorf("a sweep within the CPUs says %q:\n%s", not, md)
		}
	}
	if !strings.Contains(md, "| goroutines | 14 |") {
		t.Errorf("a sweep within the CPUs does not fit every point:\n%s", md)
	}
	if texts := chartTexts(t, run, "scaling-workers-cpu"); containsText(texts, "server CPUs") || containsText(texts, "up to the CPUs") {
		t.Errorf("a sweep within the CPUs marks them: %q", texts)
	}
}

// TestLinearStopsAtTheCPUs: efficiency and the drawn law count workers
// up to the server CPUs, no further.
func TestLinearStopsAtTheCPUs(t *testing.T) {
	sc := &scaling{sweep: results.SweepWorkers, cpus: 12}
	for _, tt := range []struct{ x, want float64 }{{1, 1}, {12, 12}, {18, 12}, {24, 12}} {
		if got := linearTo(tt.x, sc); got != tt.want {
			t.Errorf("linearTo(%g) = %g on 12 CPUs, want %g", tt.x, got, tt.want)
		}
	}
	if got := linearTo(24, &scaling{sweep: results.SweepWorkers}); got != 24 {
		t.Errorf("without the CPUs known, linearTo(24) = %g", got)
	}
}

// TestConnectionsInEnvironment: the report says how the run's
// connections were decided, where the run recorded it (older runs did
// not, and show nothing).
func TestConnectionsInEnvironment(t *testing.T) {
	run := smallRun("conns", smallCase("goroutines/hello/closed-c384/w48", "models", "goroutines", "hello", 48, 384, 90000, 91000))
	run.Settings.Connections, run.Settings.ConnectionsFrom = 384, "384: 8 per server CPU × 48 server CPUs"
	if md := renderMarkdown(t, run); !strings.Contains(md, "| Connections | 384: 8 per server CPU × 48 server CPUs |") {
		t.Errorf("report.md does not say how the connections were decided:\n%s", md)
	}
	run.Settings.Connections, run.Settings.ConnectionsFrom = 0, ""
	if md := renderMarkdown(t, run); strings.Contains(md, "| Connections |") {
		t.Errorf("report.md of a run without the record has a connections row:\n%s", md)
	}
}
