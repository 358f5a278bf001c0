package report

import (
	"fmt"
	"image/color"
	"math"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/corebench/corebench/report/internal/chart"
	"github.com/corebench/corebench/report/internal/numfmt"
	"github.com/corebench/corebench/results"
)

// spectrum is one latency distribution as a percentile-spectrum chart
// draws it: a line from p50 to as far right as the histogram's count
// reaches (at most p99.99), and markers at the labelled percentiles.
// Latencies are log10 of milliseconds, for setLogY.
type spectrum struct {
	line, marks plotter.XYs
	lo, hi      float64 // in milliseconds, for the axis
}

// spectrumOf samples h for a spectrum; ok is false when h holds too few
// latencies to draw one.
func spectrumOf(h *results.Histogram) (s spectrum, ok bool) {
	if h == nil || h.Count() < 2 {
		return s, false
	}
	ms := func(x float64) float64 { return math.Max(results.Ms(h.Quantile(1-math.Pow(10, -x))), 1e-3) }
	// Beyond 1 − 1/count the histogram has no more to say.
	top := math.Min(4, math.Log10(float64(h.Count())))
	s.lo, s.hi = math.Inf(1), 0
	for x := chart.Nines(0.5); x <= top+1e-9; x += 0.02 {
		v := ms(x)
		s.lo, s.hi = math.Min(s.lo, v), math.Max(s.hi, v)
		s.line = append(s.line, plotter.XY{X: x, Y: math.Log10(v)})
	}
	for _, t := range chart.NinesTicks {
		if t.Value <= top+1e-9 {
			s.marks = append(s.marks, plotter.XY{X: t.Value, Y: math.Log10(ms(t.Value))})
		}
	}
	return s, true
}

// spectrumLine is one distribution on a spectraChart.
type spectrumLine struct {
	Label  string
	Detail string // a second, indented legend line, e.g. the p99
	Hist   *results.Histogram
	Color  color.Color
	Glyph  draw.GlyphDrawer // nil: a circle
	Dashed bool
}

// spectraChart overlays the percentile spectra of a few runs of one
// server: what a scenario measured two ways (a stall under an open and a
// closed loop), or with and without something.
type spectraChart struct {
	Title, Subtitle, Note string
	Lines                 []spectrumLine
}

// writeSpectra draws sc as dir/name.png and dir/name.svg. Lines whose
// histogram is too small to draw are left out; none at all is an error.
func writeSpectra(dir, name string, sc spectraChart) ([]string, error) {
	leg := chart.NewLegend()
	lo, hi := math.Inf(1), 0.0
	var plotters []plot.Plotter
	for _, l := range sc.Lines {
		s, ok := spectrumOf(l.Hist)
		if !ok {
			continue
		}
		lo, hi = math.Min(lo, s.lo), math.Max(hi, s.hi)
		line, err := plotter.NewLine(s.line)
		if err != nil {
			return nil, fmt.Errorf("spectra %s: %v", name, err)
		}
		line.Color, line.Width = l.Color, vg.Points(chart.LineWidth)
		if l.Dashed {
			line.Dashes = []vg.Length{vg.Points(10), vg.Points(6)}
		}
		marks, _ := plotter.NewScatter(s.marks)
		g := l.Glyph
		if g == nil {
			g = draw.CircleGlyph{}
		}
		marks.GlyphStyle = draw.GlyphStyle{Color: l.Color, Radius: vg.Points(chart.GlyphRadius), Shape: g}
		plotters = append(plotters, line, marks)
		leg.Add(l.Label, line, marks)
		if l.Detail != "" {
			leg.Add("  " + l.Detail)
		}
	}
	if len(plotters) == 0 {
		return nil, fmt.Errorf("spectra %s: no latencies to draw", name)
	}
	p := chart.SpectrumPlot(lo, hi)
	p.Add(plotters...)
	ch := &figure{name: name, fig: &chart.Fig{Title: sc.Title, Subtitle: sc.Subtitle, Note: sc.Note, Panels: []*plot.Plot{p}, Legend: leg}}
	return writeChart(dir, ch)
}

// RenderSpectra draws the latency spectra of runs of one scenario, each
// measured a different way, over each other as dir/spectrum.png and .svg,
// and returns the files written: for the stall scenario, the open loop's
// and the closed loop's, so the coordinated omission is one picture.
// Each line is named by its load and p99.
func RenderSpectra(runs []*results.Scenario, env results.Env, start time.Time, dir string) ([]string, error) {
	if len(runs) < 2 {
		return nil, fmt.Errorf("spectra: %d runs, want two or more to compare", len(runs))
	}
	first := runs[0]
	sc := spectraChart{
		Title:    fmt.Sprintf("%s · %s: latency by percentile", first.Scenario, first.Model),
		Subtitle: fmt.Sprintf("%s · %d CPUs · %s\nthe same %s on %s, measured by each load", env.CPUModel, env.CPUs, start.Format("2006-01-02"), actionWords(first), first.Path),
		Note:     "each step right is ten times rarer; latency counts from when a request was sent (closed loop) or due (open loop)",
	}
	colors := []color.Color{modelColor(first.Model), chart.Black, chart.Gray}
	for i, r := range runs {
		if r.Scenario != first.Scenario || r.Model != first.Model {
			return nil, fmt.Errorf("spectra: %s of %s against %s of %s: compare one scenario of one model", r.Scenario, r.Model, first.Scenario, first.Model)
		}
		if r.Load == nil || r.Load.Histogram == nil {
			return nil, fmt.Errorf("spectra: the %s run has no latency histogram", loadDesc(r))
		}
		detail := "p99 " + numfmt.Millis(r.Load.Latency.P99)
		if r.Interrupted != nil {
			detail += ", " + interruptedMark(*r.Interrupted)
		}
		sc.Lines = append(sc.Lines, spectrumLine{
			Label: loadDesc(r), Detail: detail,
			Hist: r.Load.Histogram, Color: colors[i%len(colors)], Dashed: i%2 == 1,
			Glyph: []draw.GlyphDrawer{circleGlyph, squareGlyph}[i%2],
		})
	}
	return writeSpectra(dir, "spectrum", sc)
}

// actionWords names what a scenario did, in a few words: its actions'
// labels, or its name.
func actionWords(r *results.Scenario) string {
	if len(r.Actions) > 0 {
		return r.Actions[0].Label
	}
	return r.Scenario
}
