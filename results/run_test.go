package results

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sampleRun is a run of one case measured three times, with the summary
// stats.Summarize gives it.
func sampleRun() *Run {
	var h Histogram
	for i := int64(1); i <= 100; i++ {
		h.Record(i * int64(time.Millisecond) / 10)
	}
	c := Case{ID: "singlecore/hello/closed-c100/w1", Sweep: "models", Model: "singlecore", Workers: 1, Workload: "hello", Path: "/", Mode: "closed", Connections: 100, KeepAlive: true}
	merged := &Histogram{}
	for _, rps := range []float64{900, 1100, 1000} {
		c.Repeats = append(c.Repeats, Repeat{Load: Summary{Requests: int64(rps), RPS: rps, Histogram: &h, PerWorker: map[string]int64{"0": int64(rps)}, Fairness: 1}, ServerCPU: rps * 20e-6})
		merged.Merge(&h)
	}
	c.Summary = &CaseSummary{RPS: Spread{Median: 1000, Min: 900, Max: 1100, N: 3}, Requests: 3000, PerWorker: map[string]int64{"0": 3000},
		Workers: 1, Fairness: 1, Histogram: merged}
	return &Run{ID: "test", Started: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), Complete: true, Cases: []Case{c}}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	r := sampleRun()
	if err := r.Save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Schema != SchemaVersion || len(back.Cases) != 1 || back.Cases[0].Summary.RPS.Median != 1000 ||
		back.Cases[0].Summary.Histogram.Quantile(0.99) != r.Cases[0].Summary.Histogram.Quantile(0.99) {
		t.Errorf("round trip changed the run: %+v", back.Cases[0].Summary)
	}
}

func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	for _, tt := range []struct{ file, want string }{
		{write("future.json", `{"schema": 99, "cases": []}`), "schema version 99"},
		{write("foreign.json", `{"name": "something else"}`), "not a corebench results file"},
		{write("cut.json", "{\"schema\": 2,\n \"cases\": [{\"id\": \"x\""), "damaged"},
		{write("typed.json", "{\"schema\": 2,\n \"cases\": 7}"), "line 2"},
		// The schema alone is no run: it was read as an empty one.
		{write("bare.json", `{"schema": 2}`), "not a whole results file"},
		{write("noid.json", `{"schema": 2, "cases": []}`), "not a whole results file"},
		{filepath.Join(dir, "missing"), "no such results file"},
	} {
		_, err := Load(tt.file)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%s) = %v, want an error saying %q", filepath.Base(tt.file), err, tt.want)
		}
	}
}

// TestScenarioRoundTrip: a scenario saved is loaded back the same, from
// its directory or its file, with the version Save stamps; a file that
// is no scenario's result, or from a newer bench, is refused.
func TestScenarioRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := &Scenario{Scenario: "stall", Model: "singlecore", Workers: 1, Rate: 2000, Path: "/", Load: &Summary{Requests: 12},
		Interrupted: &Interruption{AfterS: 1.26, OfS: 6}}
	p, err := s.Save(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, from := range []string{dir, p} {
		got, err := LoadScenario(from)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != ScenarioVersion || got.Scenario != "stall" || got.Rate != 2000 || got.Load == nil || got.Load.Requests != 12 ||
			got.Interrupted == nil || *got.Interrupted != *s.Interrupted || got.Interrupted.String() != "interrupted after 1.3 s of 6 s" {
			t.Errorf("loaded from %s: %+v", from, got)
		}
	}
	for name, body := range map[string]string{"not json": "{", "no name": `{"model":"x"}`, "newer": `{"version":99,"scenario":"stall"}`} {
		f := filepath.Join(t.TempDir(), ScenarioFile)
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadScenario(f); err == nil {
			t.Errorf("%s: loaded, want an error", name)
		}
	}
	if _, err := LoadScenario(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing directory loaded")
	}
}
