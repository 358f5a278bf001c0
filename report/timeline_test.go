package report

import (
	"image/png"
	"os"
	"path/filepath"
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
	files, err := WriteTimeline(dir, "timeline", Timeline{Title: "crash · singlecore", Model: "singlecore", Rate: 2000, Interval: 0.1,
		Series: series, Marks: []Mark{{At: 2, Label: "SIGKILL"}, {At: 2.4, Label: "back"}}})
	if err != nil {
		t.Fatal(err)
	}
	more, err := WriteBars(dir, "bars", Bars{Title: "per-process counters", YLabel: "count", Labels: []string{"0", "1", "2", "3"},
		Values: []float64{250, 251, 249, 250}, Models: []string{"prefork-rr"}, Ref: 1000, RefLabel: "requests sent"})
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
	if _, err := WriteTimeline(dir, "empty", Timeline{}); err == nil {
		t.Error("a timeline without samples was drawn")
	}
}
