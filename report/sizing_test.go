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

// TestSizingScenario: the sizing scenario draws the app's and the
// neighbour's bars and prints each setup's figures.
func TestSizingScenario(t *testing.T) {
	r := &results.Scenario{Scenario: "sizing", Model: "prefork-rr", Workers: 2, Path: "/cpu", Connections: 64, Sizing: &results.SizingResult{
		CPUs: 2, NeighborCPU: 1, NeighborQPS: 39.6, NeighborMs: 25.2, Path: "/cpu", Connections: 64,
		Runs: []results.SizingRun{{Setup: "max, alone", Workers: 2, RPS: 5727, P50: 6.5, P99: 72.4},
			{Setup: "max, with the neighbour", Workers: 2, Neighbor: true, RPS: 4393, P99: 66.6, NeighborQPS: 21.6, NeighborP99: 94.3},
			{Setup: "max-1, with the neighbour", Workers: 1, Neighbor: true, RPS: 2360, P99: 189, NeighborQPS: 34.7, NeighborP99: 86.4}}}}
	dir := t.TempDir()
	if d := os.Getenv("REPORT_KEEP"); d != "" {
		dir = filepath.Join(d, "sizing")
	}
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
	if want := []string{"app.png", "app.svg", "neighbor.png", "neighbor.svg"}; !slices.Equal(got, want) {
		t.Errorf("wrote %q, want %q", got, want)
	}
	var b bytes.Buffer
	ScenarioText(&b, r)
	for _, want := range []string{"39.6 queries/s of 25.2 ms", "max-1, with the neighbour", "2360", "34.7", "86.4 ms"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, b.String())
		}
	}
}
