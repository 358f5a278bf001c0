package report

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
)

// TestExternalServer: a server the report does not know by name (bench
// run --server) is in the tables, the worker sweep's USL fit and COST,
// the charts (in grey) and bench compare, and a case without X-Worker
// shows no fairness rather than a made-up one.
func TestExternalServer(t *testing.T) {
	run := sweepRun(results.SweepWorkers, map[string][]float64{"goroutines": {1000, 1950, 3700, 6600}}, 1, 2, 4, 8)
	for i, w := range []int{1, 2, 4, 8} {
		r := []float64{900, 1750, 3300, 6000}[i]
		run.Cases = append(run.Cases, smallCase("node-rr/cpu/c64/w"+strconv.Itoa(w), results.SweepWorkers, "node-rr", "cpu", w, 64, r, 1.01*r))
	}
	run.Cases = append(run.Cases, smallCase("singlecore/cpu/closed-c64/w1", results.SweepModels, "singlecore", "cpu", 1, 64, 1000, 1010))
	// One that sent no X-Worker: no per-worker counts.
	quiet := smallCase("py/cpu/closed-c64/w0", results.SweepModels, "py", "cpu", 0, 64, 700, 710)
	for i := range quiet.Repeats {
		quiet.Repeats[i].Load.PerWorker, quiet.Repeats[i].Load.Workers, quiet.Repeats[i].Load.Fairness = nil, 0, 0
	}
	stats.Summarize(&quiet)
	run.Cases = append(run.Cases, quiet)
	run.Servers = []results.Server{{Name: "node-rr", Command: "node server.js --port {port} --workers {workers}"}, {Name: "py", Command: "python3 server.py --port {port}"}}

	md := renderMarkdown(t, run)
	if testing.Verbose() {
		t.Log(md)
	}
	for _, want := range []string{"| node-rr | 8 |", "| py |"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	if !strings.Contains(md, "node-rr") || strings.Contains(md, "1 of") {
		t.Errorf("report.md does not name node-rr, or makes up a worker count for py")
	}
	if got := fairnessText(&run.Cases[len(run.Cases)-1]); got != "–" {
		t.Errorf("py without X-Worker: fairness %q, want none", got)
	}
	if !containsText(chartTexts(t, run, "scaling-workers-cpu"), "node-rr") {
		t.Errorf("the workers chart has no node-rr")
	}
	if modelColor("node-rr") != otherColor {
		t.Errorf("node-rr is not drawn in the neutral colour")
	}
	b := *run
	b.ID = "B"
	var out bytes.Buffer
	if err := Compare(run, &b, Alpha).WriteText(&out); err != nil || !strings.Contains(out.String(), "node-rr/cpu/c64/w8") {
		t.Errorf("compare does not list node-rr (%v):\n%s", err, out.String())
	}
}
