package report

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
)

// perWorkerCase is a prefork case of two repeats with these merged
// per-worker counts, and workers as the server said (0: it did not).
func perWorkerCase(model string, workers int, per map[string]int64) results.Case {
	c := results.Case{ID: model + "/cpu/closed-c100/w2", Sweep: "models", Model: model, Workers: 2, Workload: "cpu",
		Path: "/cpu", Mode: "closed", Connections: 100, KeepAlive: true}
	for range 2 {
		half := map[string]int64{}
		var n int64
		for k, v := range per {
			half[k] = v / 2
			n += v / 2
		}
		var h results.Histogram
		h.Record(1e6)
		c.Repeats = append(c.Repeats, results.Repeat{Load: results.Summary{Requests: n, RPS: float64(n) / 10,
			Histogram: &h, PerWorker: half, Workers: workers, Fairness: stats.Jain(half, workers)}})
	}
	stats.Summarize(&c)
	return c
}

// TestPerWorker: the per-worker bars and the fairness in the legend and
// the table come from the same merged counts, over every worker the
// server runs: one of two workers did everything is Jain 0.5, a bar of
// 0% for the idle one, and "1 of 2 workers answered". Where the server
// did not say how many it runs, the report says so.
func TestPerWorker(t *testing.T) {
	os := perWorkerCase("prefork-os", 2, map[string]int64{"1": 14960})
	rr := perWorkerCase("prefork-rr", 0, map[string]int64{"0": 5000, "1": 5000})
	run := smallRun("pw", os, rr)

	ws := workerSharesOf(run.Cases[0].Summary)
	if !slices.Equal(ws.slots, []int{0, 1}) || !slices.Equal(ws.shares, []float64{0, 100}) || ws.answered != 1 || ws.jain != 0.5 {
		t.Errorf("prefork-os shares %+v, want slots 0 and 1 at 0%% and 100%%, 1 answered, Jain 0.5", ws)
	}
	// The index the legend shows is Jain's of the bars drawn.
	if j := jainOfShares(ws.shares); math.Abs(j-ws.jain) > 1e-12 {
		t.Errorf("Jain of the bars %v, legend %v", j, ws.jain)
	}

	md := renderMarkdown(t, run)
	for _, want := range []string{
		"| 0.500 (1 of 2 workers answered) |",
		"| 1.000 (2 answered; count unknown) |",
		"_Count unknown: the server did not say how many workers it runs",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}

	ch := view{run: run}.fairnessChart(view{run: run}.section("cpu"))
	svg, err := ch.fig.SVG()
	if err != nil {
		t.Fatal(err)
	}
	texts := svgTexts(string(svg))
	for _, want := range []string{"prefork-os  Jain 0.500 · 1 of 2 answered", "prefork-rr  Jain 1.000 · count unknown", "0%"} {
		if !slices.Contains(texts, want) {
			t.Errorf("fairness chart lacks the text %q: %q", want, texts)
		}
	}
	// Both cases' counts are known for slots 0 and 1; no third slot.
	if slices.Contains(texts, "2") {
		t.Errorf("fairness chart draws a slot 2: %q", texts)
	}
}

// jainOfShares is Jain's index of shares, every one counting.
func jainOfShares(xs []float64) float64 {
	var s, ss float64
	for _, x := range xs {
		s += x
		ss += x * x
	}
	return s * s / (float64(len(xs)) * ss)
}
