package report

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/corebench/corebench/report/internal/chart"
	"github.com/corebench/corebench/report/internal/numfmt"
	"github.com/corebench/corebench/results"
)

// eventLoopColor is the colour of a run on an event loop: Okabe–Ito
// black, so "one at a time" reads apart from the model it runs in.
var eventLoopColor = color.RGBA{0x22, 0x22, 0x22, 0xff}

// blockChart draws the block scenario: one panel per server, each cheap
// request a dot at its send time and latency, the slow request's span
// shaded; one latency scale for all, so a stall is as tall as it was.
func blockChart(r *results.Scenario, dir, sub string) ([]string, error) {
	b := r.Block
	if len(b.Runs) == 0 {
		return nil, fmt.Errorf("scenario block: no server was measured")
	}
	top, end := 0.0, 0.0
	for _, run := range b.Runs {
		for _, s := range run.Requests {
			top, end = math.Max(top, s.Ms), math.Max(end, s.T)
		}
	}
	top = chart.NiceMax(math.Max(top, b.ThresholdMs) * 2) // room for the panel's label, above the stall
	var panels []*plot.Plot
	for _, run := range b.Runs {
		// Every panel alike, time labelled on each: plot.Align gives a
		// panel with more axis below it a taller data area, not the same.
		p := chart.NewPlot("", "latency", true)
		// Few ticks: short panels have room for three labels each.
		p.Y.Tick.Marker = plot.ConstantTicks{{Value: 0, Label: "0"}, {Value: top / 2, Label: chart.MsLabel(top / 2)}, {Value: top, Label: chart.MsLabel(top)}}
		p.Y.Min, p.Y.Max = 0, top
		p.X.Min, p.X.Max = 0, end
		var xt plot.ConstantTicks
		for t := 0.0; t <= end+1e-9; t += 0.5 {
			xt = append(xt, plot.Tick{Value: t, Label: strconv.FormatFloat(t, 'f', -1, 64) + " s"})
		}
		p.X.Tick.Marker = xt
		p.Add(span{from: run.BlockAt, to: run.BlockEnd, color: color.NRGBA{0xC0, 0x1C, 0x28, 0x30}})
		p.Add(chart.HLine{Y: b.ThresholdMs, Style: chart.Dotted(chart.Gray, 2)})
		var ok, failed plotter.XYs
		for _, s := range run.Requests {
			if s.Failed {
				failed = append(failed, plotter.XY{X: s.T, Y: s.Ms})
			} else {
				ok = append(ok, plotter.XY{X: s.T, Y: s.Ms})
			}
		}
		c := modelColor(run.Model)
		if run.EventLoop {
			c = eventLoopColor
		}
		if len(ok) > 0 {
			sc, _ := plotter.NewScatter(ok)
			sc.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
			p.Add(sc)
		}
		if len(failed) > 0 {
			sc, _ := plotter.NewScatter(failed)
			sc.GlyphStyle = draw.GlyphStyle{Color: errorRed, Radius: vg.Points(4), Shape: draw.CrossGlyph{}}
			p.Add(sc)
		}
		// Top right, on two lines so that half a slide's width holds it,
		// clear of the block (at a third of the run) and of its dots,
		// which lie low after it.
		text := fmt.Sprintf("%s\np99 %s, %d of %d over %s", run.Setup, numfmt.Millis(run.P99), run.Over, run.Due, numfmt.Millis(b.ThresholdMs))
		st := chart.TextStyle(chart.TickSize, true, c)
		st.XAlign, st.YAlign = draw.XRight, draw.YTop
		p.Add(chart.Label{X: end, Y: top, DX: -vg.Points(8), DY: -vg.Points(4), Text: text, Style: st})
		panels = append(panels, p)
	}
	return writeChart(dir, &figure{name: "timeline", fig: &chart.Fig{
		Title:    fmt.Sprintf("One %.0f ms request of CPU among %.0f req/s of %s", b.TargetMs, b.Rate, b.Path),
		Subtitle: fmt.Sprintf("%s\neach dot a cheap request, at its send time; shaded: the slow /cpu?n=%d, from its send to its answer", sub, b.Iters),
		Note:     fmt.Sprintf("latency from when each request was due (open loop); dotted: %s; the counts are of the requests due while the slow one ran", numfmt.Millis(b.ThresholdMs)),
		Panels:   panels, Stacked: true, Cols: blockCols(len(panels)),
	}})
}

// blockCols is how many columns the block chart's panels take: past
// three, two, so that each panel keeps a readable height on one slide.
func blockCols(panels int) int {
	if panels > 3 {
		return 2
	}
	return 1
}

// span shades the plot between two x values, top to bottom.
type span struct {
	from, to float64
	color    color.Color
}

func (s span) Plot(c draw.Canvas, p *plot.Plot) {
	tx, _ := p.Transforms(&c)
	x0, x1 := max(tx(s.from), c.Min.X), min(tx(s.to), c.Max.X)
	if x1 <= x0 {
		return
	}
	var path vg.Path
	path.Move(vg.Point{X: x0, Y: c.Min.Y})
	path.Line(vg.Point{X: x1, Y: c.Min.Y})
	path.Line(vg.Point{X: x1, Y: c.Max.Y})
	path.Line(vg.Point{X: x0, Y: c.Max.Y})
	path.Close()
	c.SetColor(s.color)
	c.Fill(path)
}

// blockText writes the block scenario's table.
func blockText(w io.Writer, b *results.BlockResult) {
	if b.CalibIters > 0 {
		fmt.Fprintf(w, "sized on the idle server: /cpu?n=%d took %.1f ms (best of 5), so n=%d for %.0f ms\n", b.CalibIters, b.CalibMs, b.Iters, b.TargetMs)
	} else {
		fmt.Fprintf(w, "slow request: /cpu?n=%d as given\n", b.Iters)
	}
	fmt.Fprintf(w, "cheap load: %.0f req/s of %s, open loop; counted: the cheap requests due while the slow one ran\n\n", b.Rate, b.Path)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "SERVER\tSLOW REQUEST\tDUE DURING\tP50\tP99\tMAX\tOVER %s\tHELD TO ITS END\tBEFORE: P50\tP99\tFAILED\t\n", numfmt.Millis(b.ThresholdMs))
	for _, r := range b.Runs {
		slow := numfmt.Millis(r.SlowMs)
		if r.SlowError != "" {
			slow = "failed"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%d\t\n", r.Setup, slow, r.Due, numfmt.Millis(r.P50), numfmt.Millis(r.P99), numfmt.Millis(r.Max), r.Over, r.AfterEnd, numfmt.Millis(r.BeforeP50), numfmt.Millis(r.BeforeP99), r.Failed)
	}
	tw.Flush()
}
