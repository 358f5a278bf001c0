package report

import (
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corebench/corebench/results"
)

// TestWriteTimelineAndBars draws both scenario charts and checks the files
// are real images of the slide size.
func TestWriteTimelineAndBars(t *testing.T) {
	dir := t.TempDir()
	if d := os.Getenv("REPORT_KEEP"); d != "" {
		dir = d // to look at the charts
	}
	var series []results.Sample
	for i := range 60 {
		s := results.Sample{T: float64(i) / 10, Requests: 200, P99: 6}
		if i >= 20 && i < 24 {
			s.Errors, s.P99 = 200, 0 // an outage
		}
		series = append(series, s)
	}
	files, err := writeTimeline(dir, "timeline", timelineChart{Title: "crash · singlecore", Model: "singlecore", Rate: 2000, Interval: 0.1,
		Series: series, Marks: []mark{{At: 2, Label: "SIGKILL"}, {At: 2.4, Label: "back"}}})
	if err != nil {
		t.Fatal(err)
	}
	more, err := writeBars(dir, "bars", barChart{Title: "per-process counters", YLabel: "count", Labels: []string{"0", "1", "2", "3"},
		Values: []float64{250, 251, 249, 250}, Colors: []color.Color{modelColor("prefork-rr")}, Ref: 1000, RefLabel: "requests sent"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(files, more...) {
		fi, err := os.Stat(f)
		if err != nil || fi.Size() < 1000 {
			t.Fatalf("%s: %v", f, err)
		}
		if filepath.Ext(f) == ".png" {
			r, _ := os.Open(f)
			cfg, err := png.DecodeConfig(r)
			r.Close()
			if err != nil || cfg.Width != 1600 || cfg.Height != 900 {
				t.Errorf("%s: %dx%d, %v", f, cfg.Width, cfg.Height, err)
			}
		}
	}
	if _, err := writeTimeline(dir, "empty", timelineChart{}); err == nil {
		t.Error("a timeline without samples was drawn")
	}
}

// TestTimelineGaps: a slice where nothing succeeded, whether the server
// was down (every request failed) or stalled (nothing completed, or a
// slice missing from the series), is a gap in the p99 line: no level
// carried across an outage, no ramp through a stall. The counts show 0
// there, which is what was measured.
func TestTimelineGaps(t *testing.T) {
	var series []results.Sample
	for i := range 60 {
		s := results.Sample{T: float64(i) / 10, Requests: 200, P99: 6}
		switch {
		case i >= 20 && i < 24: // down: every request failed
			s.Errors, s.P99 = 200, 0
		case i >= 40 && i < 45: // stalled: nothing completed
			s.Requests, s.P99 = 0, 0
		case i == 45: // the stall's backlog
			s.Requests, s.P99 = 1200, 480
		}
		if i == 50 || i == 51 {
			continue // not in the series at all
		}
		series = append(series, s)
	}
	ts := timelineSeries(series, 0.1, 0)
	if len(ts.p99) != 4 {
		t.Fatalf("p99 in %d segments, want 4 (broken at the outage, the stall and the hole): %v", len(ts.p99), ts.p99)
	}
	for _, seg := range ts.p99 {
		for _, gap := range [][2]float64{{2.0, 2.4}, {4.0, 4.5}, {5.0, 5.2}} {
			if from, to := seg[0].X, seg[len(seg)-1].X; from < gap[1]-1e-9 && to > gap[0]+1e-9 {
				t.Errorf("a p99 segment from %gs to %gs spans the gap %v", from, to, gap)
			}
		}
	}
	if n := len(ts.ok); n != 61 || ts.ok[21].Y != 0 || ts.ok[42].Y != 0 || ts.ok[50].Y != 0 || ts.ok[10].Y != 2000 {
		t.Errorf("req/s ok: %d points, at 2.1s %v, 4.2s %v, 5.0s %v, 1.0s %v; want 61, 0 in the outage, stall and hole, 2000 elsewhere",
			n, ts.ok[21].Y, ts.ok[42].Y, ts.ok[50].Y, ts.ok[10].Y)
	}

	// The chart draws the p99 in those pieces: 4 lines in the model's
	// colour besides the one of req/s.
	dir := t.TempDir()
	files, err := writeTimeline(dir, "gaps", timelineChart{Title: "stall · singlecore", Model: "singlecore", Rate: 2000, Interval: 0.1, Series: series})
	if err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(files[1])
	if err != nil {
		t.Fatal(err)
	}
	stroke := "stroke:#" + strings.ToUpper(hexColor(modelColor("singlecore"))) + ";stroke-width:3.5"
	if n := strings.Count(string(svg), stroke); n != 5 {
		t.Errorf("%d lines in singlecore's colour, want 5: req/s and 4 pieces of p99", n)
	}
}

// TestTimelineDrain: responses that came after the schedule's last slice
// (an open loop's backlog) are counted in it, so when the measurement ran
// on past it that slice spans to the end and its rate is over that time,
// not a burst ten times the offered rate in the last 100 ms.
func TestTimelineDrain(t *testing.T) {
	series := []results.Sample{{T: 0, Requests: 200}, {T: 0.1, Requests: 200}, {T: 0.2, Requests: 1200}}
	ts := timelineSeries(series, 0.1, 0.8) // the last slice took 0.6 s to drain
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }
	if !near(ts.end, 0.8) {
		t.Errorf("ends at %g s, want 0.8 (the measurement's end)", ts.end)
	}
	if got := ts.ok[2].Y; !near(got, 2000) {
		t.Errorf("last slice at %g req/s, want 2000 (1200 over 0.6 s)", got)
	}
	ts = timelineSeries(series, 0.1, 0.32) // within half a slice: one slice wide
	if !near(ts.end, 0.3) || !near(ts.ok[2].Y, 12000) {
		t.Errorf("a short drain: ends at %g s at %g req/s, want 0.3 s and 12000", ts.end, ts.ok[2].Y)
	}
}
