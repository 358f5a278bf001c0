package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corebench/corebench/results"
)

// stallRun is a stall scenario whose latencies are n fast ones and slow
// ones at 500 ms: many under an open loop, a few under a closed one.
func stallRun(rate float64, fast, slow int) *results.Scenario {
	h := &results.Histogram{}
	for range fast {
		h.Record(int64(5 * time.Millisecond))
	}
	for range slow {
		h.Record(int64(500 * time.Millisecond))
	}
	r := &results.Scenario{Scenario: "stall", Model: "singlecore", Workers: 1, Rate: rate, Connections: 16, Path: "/io?ms=5",
		Actions: []results.Action{{Label: "server stopped for 500ms", At: 2, Done: 2.5}},
		Load:    &results.Summary{Histogram: h, Latency: results.Latency{P99: 500}}}
	if rate == 0 {
		r.Load.Latency.P99 = 5
	}
	return r
}

// TestRenderSpectra: two runs of the stall scenario are drawn on one
// spectrum chart, each line named by its load and its p99; runs that are
// not one scenario of one model, or have no histogram, are refused.
func TestRenderSpectra(t *testing.T) {
	env := results.Env{CPUModel: "Test CPU", CPUs: 2}
	day := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	open, closed := stallRun(2000, 9000, 1000), stallRun(0, 9990, 10)
	dir := t.TempDir()
	if d := os.Getenv("REPORT_KEEP"); d != "" {
		dir = filepath.Join(d, "spectra")
	}
	files, err := RenderSpectra([]*results.Scenario{open, closed}, env, day, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || filepath.Base(files[0]) != "spectrum.png" || filepath.Base(files[1]) != "spectrum.svg" {
		t.Fatalf("wrote %q, want spectrum.png and spectrum.svg", files)
	}
	checkPNG(t, files[0])
	svg, err := os.ReadFile(files[1])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2000 req/s open loop", "closed loop of 16 connections", "p99 500 ms", "p99 5.00 ms"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("the chart does not say %q", want)
		}
	}
	other := stallRun(0, 10, 1)
	other.Model = "goroutines"
	noHist := stallRun(0, 10, 1)
	noHist.Load.Histogram = nil
	for name, runs := range map[string][]*results.Scenario{
		"one run":        {open},
		"two models":     {open, other},
		"no histogram":   {open, noHist},
		"other scenario": {open, {Scenario: "crash", Model: "singlecore", Load: open.Load}},
	} {
		if _, err := RenderSpectra(runs, env, day, t.TempDir()); err == nil {
			t.Errorf("%s: drawn, want an error", name)
		}
	}
}
