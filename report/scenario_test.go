package report

import (
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corebench/corebench/report/internal/chart"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/variant"
)

// TestRenderScenario: an action scenario is drawn as its timeline, the
// state scenario as its three bar charts, each as PNG and SVG.
func TestRenderScenario(t *testing.T) {
	env := results.Env{CPUModel: "Test CPU", CPUs: 2}
	day := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	for name, want := range map[string][]string{
		"crash": {"timeline.png", "timeline.svg"},
		"state": {"counters.png", "counters.svg", "sessions.png", "sessions.svg", "counter-cost.png", "counter-cost.svg"},
	} {
		dir := t.TempDir()
		if d := os.Getenv("REPORT_KEEP"); d != "" {
			dir = filepath.Join(d, name) // to look at the charts
		}
		files, err := RenderScenario(scenarioFixtures()[name], env, day, dir)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []string
		for _, f := range files {
			got = append(got, filepath.Base(f))
			if filepath.Ext(f) == ".png" {
				checkPNG(t, f)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: wrote %q, want %q", name, got, want)
		}
	}
	if _, err := RenderScenario(&results.Scenario{Scenario: "crash"}, env, day, t.TempDir()); err == nil {
		t.Error("a scenario without a load was drawn")
	}
}

// TestSetupColors: every state setup has a colour; where state lives in
// the master or in Redis it is one no model has, so no bar there takes a
// model's colour (the Redis bar once took goroutines'); in the workers it
// is the model's.
func TestSetupColors(t *testing.T) {
	models := map[color.Color]string{}
	for _, v := range variant.All() {
		models[modelColor(v.Name)] = v.Name
	}
	for setup, want := range map[string]string{
		results.CounterPerProcess: "prefork-rr",
		results.SessionsInWorkers: "prefork-rr",
		results.SessionsSticky:    "prefork-sticky",
		results.CounterInMaster:   "",
		results.CounterInStore:    "",
		results.SessionsInStore:   "",
	} {
		c := setupColor(setup)
		if c == color.Color(chart.Gray) {
			t.Errorf("%s: no colour of its own", setup)
		}
		if got := models[c]; got != want {
			t.Errorf("%s: the colour of model %q, want %q", setup, got, want)
		}
	}
	if setupColor(results.CounterInMaster) == setupColor(results.CounterInStore) {
		t.Error("the master and the store share a colour")
	}
	if setupColor(results.CounterInStore) != setupColor(results.SessionsInStore) {
		t.Error("the store's counter and sessions differ in colour")
	}
}

// TestWrapLabels: bar labels are broken in two, after the comma or at the
// middle space, only when one is too long to fit under its bar.
func TestWrapLabels(t *testing.T) {
	for _, c := range []struct{ in, want []string }{
		{[]string{"per-process variable", "held by the master (IPC)"}, []string{"per-process variable", "held by the master (IPC)"}},
		{[]string{"rr, sessions in worker memory", "sticky, sessions in worker memory", "three words here"},
			[]string{"rr,\nsessions in worker memory", "sticky,\nsessions in worker memory", "three\nwords here"}},
		{[]string{"an-unbreakable-label-longer-than-a-slot"}, []string{"an-unbreakable-label-longer-than-a-slot"}},
	} {
		if got := wrapLabels(c.in); !slices.Equal(got, c.want) {
			t.Errorf("wrapLabels(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestScenarioInterrupted: a scenario stopped early says so in its
// summary and on its charts, and a crash stopped before the kill claims
// no kill, no requests in flight and no recovery (it read "for 1 s"
// with a recovery 0.0 s after an action that never happened).
func TestScenarioInterrupted(t *testing.T) {
	r := scenarioFixtures()["crash"]
	r.Actions, r.InFlight, r.Conns, r.Recovered = nil, 0, 0, 0
	r.Load.DurationS = 1.29
	r.Interrupted = &results.Interruption{AfterS: 1.29, OfS: 6}
	var b strings.Builder
	if err := ScenarioText(&b, r); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{"for 1.3 s of 6 s", "INTERRUPTED after 1.3 s of 6 s", "before the action"} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q:\n%s", want, text)
		}
	}
	for _, not := range []string{"back to full throughput", "the killed worker had", "never got back"} {
		if strings.Contains(text, not) {
			t.Errorf("summary says %q:\n%s", not, text)
		}
	}
	dir := t.TempDir()
	files, err := RenderScenario(r, results.Env{CPUModel: "Test CPU", CPUs: 2}, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if filepath.Ext(f) != ".svg" {
			continue
		}
		svg, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(svg), "INTERRUPTED after 1.3 s of 6 s") || strings.Contains(string(svg), "back to full throughput") {
			t.Errorf("%s does not say it was interrupted, or says it recovered from an action never done", filepath.Base(f))
		}
	}
}
