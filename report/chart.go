package report

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"github.com/corebench/corebench/assess"
	"github.com/corebench/corebench/report/internal/chart"
	"github.com/corebench/corebench/results"
)

// figure is one chart of the report, written as PNG and SVG and inlined
// into the HTML page.
type figure struct {
	name    string // file name without extension, e.g. "rps-cpu"
	alt     string // what it shows in one line
	fig     *chart.Fig
	flagged []*results.Case // flagged cases it draws hollow, for the caption
	cases   []*results.Case // every case it draws, for the caption's limits
}

// modelLine returns a model's line with its markers, in its colour and
// marker shape.
func modelLine(model string, xys plotter.XYs, dashed bool, width float64) (*plotter.Line, *plotter.Scatter) {
	return chart.Line(xys, modelColor(model), modelGlyph(model), dashed, width)
}

// hollowMarks returns the hollow markers of a model's flagged points, to
// add over its line and solid markers; nil when none is flagged.
func hollowMarks(model string, xys plotter.XYs, flagged []bool) *plotter.Scatter {
	return chart.Hollow(xys, flagged, modelColor(model), modelGlyph(model))
}

// addFlagKey adds the key to hollow markers to a legend, if any are
// drawn, in words: a slide has no caption.
func addFlagKey(leg *plot.Legend, flagged []*results.Case) {
	var sat, failed, short bool
	for _, c := range flagged {
		f := flagOf(c)
		sat, failed, short = sat || f.saturated, failed || f.failed > 0, short || f.underloaded
	}
	if short {
		leg.Add("hollow: too few", chart.HollowThumb{})
		leg.Add("  connections")
	}
	switch {
	case sat && failed:
		leg.Add("hollow: saturated", chart.HollowThumb{})
		leg.Add(fmt.Sprintf("  or over %g%% failed", 100*assess.FailedFlag))
	case sat:
		leg.Add("hollow: generator", chart.HollowThumb{})
		leg.Add("  saturated")
	case failed:
		leg.Add(fmt.Sprintf("hollow: over %g%%", 100*assess.FailedFlag), chart.HollowThumb{})
		leg.Add("  of requests failed")
	}
}
