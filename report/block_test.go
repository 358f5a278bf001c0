package report

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corebench/corebench/results"
)

func blockFixture() *results.Scenario {
	run := func(setup, model string, loop bool, p99 float64, over int) results.BlockRun {
		r := results.BlockRun{Setup: setup, Model: model, EventLoop: loop, Workers: 2, SlowMs: 205, BlockAt: 1, BlockEnd: 1.205,
			Sent: 300, Due: 102, P50: p99 / 2, P99: p99, Max: p99 + 1, Over: over, AfterEnd: over, BeforeP50: 0.9, BeforeP99: 2.1}
		for i := range 300 {
			t := float64(i) / 100
			ms := 0.9
			if t >= 1 && t < 1.205 {
				ms = p99 * (1.205 - t) / 0.205
			}
			r.Requests = append(r.Requests, results.BlockSample{T: t, Ms: ms, Failed: i == 250})
		}
		return r
	}
	return &results.Scenario{Scenario: "block", Model: "4 servers", Workers: 2, Rate: 100, Path: "/", KeepAlive: true,
		Block: &results.BlockResult{Rate: 100, Path: "/", TargetMs: 200, Iters: 2500000, CalibIters: 200000, CalibMs: 16.1, ThresholdMs: 100,
			Runs: []results.BlockRun{run("singlecore", "singlecore", false, 21, 0), run("singlecore, event loop", "singlecore", true, 204, 51),
				run("goroutines", "goroutines", false, 4.9, 0), run("prefork-rr, event loop", "prefork-rr", true, 199, 25)}}}
}

// TestBlockScenario: the block scenario is drawn as one chart of four
// panels, and its table gives each server's figures.
func TestBlockScenario(t *testing.T) {
	dir := t.TempDir()
	if d := os.Getenv("REPORT_KEEP"); d != "" {
		dir = filepath.Join(d, "block")
	}
	r := blockFixture()
	files, err := RenderScenario(r, results.Env{CPUModel: "Test CPU", CPUs: 2}, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, filepath.Base(f))
		if filepath.Ext(f) == ".png" {
			checkPNG(t, f)
		}
	}
	if want := []string{"timeline.png", "timeline.svg"}; !slices.Equal(got, want) {
		t.Errorf("wrote %q, want %q", got, want)
	}
	var b bytes.Buffer
	if err := ScenarioText(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/cpu?n=200000 took 16.1 ms", "n=2500000 for 200 ms", "singlecore, event loop", "204 ms", "51", "OVER 100 ms"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, b.String())
		}
	}
	// With an external server beside the four, the panels go in two
	// columns: still one chart of the slide's size.
	r.Block.Runs = append(r.Block.Runs, r.Block.Runs[1])
	r.Block.Runs[4].Setup, r.Block.Runs[4].Model, r.Block.Runs[4].EventLoop = "node", "node", false
	ndir := t.TempDir()
	if d := os.Getenv("REPORT_KEEP"); d != "" {
		ndir = filepath.Join(d, "block-node")
	}
	files, err = RenderScenario(r, results.Env{CPUModel: "Test CPU", CPUs: 2}, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), ndir)
	if err != nil {
		t.Fatal(err)
	}
	checkPNG(t, files[0])
	if blockCols(5) != 2 || blockCols(3) != 1 {
		t.Errorf("columns: %d for 5 panels, %d for 3; want 2 and 1", blockCols(5), blockCols(3))
	}
	r.Block.Runs = nil
	if _, err := RenderScenario(r, results.Env{}, time.Time{}, t.TempDir()); err == nil {
		t.Error("a block scenario without runs was drawn")
	}
}
