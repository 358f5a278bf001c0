package report

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/corebench/corebench/report/internal/chart"
	"github.com/corebench/corebench/report/internal/numfmt"
	"github.com/corebench/corebench/results"
)

// timelineChart is a scenario's chart: a run slice by slice, and the
// moments something was done to the server.
type timelineChart struct {
	Title, Subtitle, Note string
	Model                 string  // colours the lines
	Rate                  float64 // offered req/s, drawn as a reference
	Interval              float64 // width of a slice in seconds
	// End is when the measurement ended, in seconds: responses that came
	// after the last slice of the schedule (an open loop's backlog
	// draining) are counted in that slice, so it spans to End and its
	// rate is over that time. 0: the last slice is one Interval wide.
	End    float64
	Series []results.Sample
	Marks  []mark
}

// mark is a moment on a timeline.
type mark struct {
	At    float64 // seconds since the start of measurement
	Label string
}

var (
	errorRed  = color.RGBA{0xC0, 0x1C, 0x28, 0xff}
	markColor = color.RGBA{0x44, 0x44, 0x44, 0xff}
)

// writeTimeline draws tl as dir/name.png and dir/name.svg, three panels
// over one time axis: served req/s, failed requests, and p99 latency, each
// slice of the series drawn flat across its width, with the marks as
// vertical lines. A slice where nothing succeeded has no p99: the line
// stops there and starts again after, rather than drawing a level or a
// ramp across the outage that nobody measured.
func writeTimeline(dir, name string, tl timelineChart) ([]string, error) {
	if len(tl.Series) == 0 {
		return nil, fmt.Errorf("timeline %s: no samples", name)
	}
	iv := tl.Interval
	if iv <= 0 {
		iv = 0.1
	}
	ts := timelineSeries(tl.Series, iv, tl.End)
	maxY := math.Max(tl.Rate, maxOf(ts.ok))

	rps := chart.NewPlot("", "req/s ok", true)
	line, _ := modelLine(tl.Model, ts.ok, false, chart.LineWidth)
	line.StepStyle = plotter.PostStep
	rps.Add(line)
	if tl.Rate > 0 {
		rps.Add(chart.HLine{Y: tl.Rate, Style: chart.Dashed(chart.Gray, 2)})
	}
	rps.Y.Min, rps.Y.Max = 0, chart.NiceMax(maxY*1.45) // room for the marks' labels

	errs := chart.NewPlot("", "failed", true)
	fl, _ := plotter.NewLine(ts.failed)
	fl.Color, fl.Width = errorRed, vg.Points(chart.LineWidth)
	fl.FillColor = color.NRGBA{0xC0, 0x1C, 0x28, 0x55}
	fl.StepStyle = plotter.PostStep
	errs.Add(fl)
	errs.Y.Min = 0
	errs.Y.Max = math.Max(1, chart.NiceMax(maxOf(ts.failed)*1.1))
	errs.Y.Tick.Marker = chart.WholeTicks{} // a count: no 0.5 failed

	lat := chart.NewPlot("seconds", "p99", true)
	lat.Y.Tick.Marker = chart.LabelTicks(chart.MsLabel)
	top := 0.0
	for _, seg := range ts.p99 {
		l, _ := modelLine(tl.Model, seg, false, chart.LineWidth)
		l.StepStyle = plotter.PostStep
		lat.Add(l)
		top = math.Max(top, maxOf(seg))
	}
	if top > 0 {
		lat.Y.Min, lat.Y.Max = 0, chart.NiceMax(top*1.1)
	}

	panels := []*plot.Plot{rps, errs, lat}
	rps.X.Tick.Marker, errs.X.Tick.Marker = chart.Unlabeled{}, chart.Unlabeled{} // one time axis, labelled at the bottom
	lat.X.Tick.Marker = chart.LabelTicks(numfmt.Sig)                             // 2.5, not 2.50
	for _, p := range panels {
		p.X.Min, p.X.Max = ts.start, ts.end
		for _, m := range tl.Marks {
			p.Add(chart.VLine{X: m.At, Style: chart.Dashed(markColor, 2.5)})
		}
	}
	for i, m := range tl.Marks {
		// Staggered, so the labels of close marks do not overlap.
		rps.Add(chart.Label{X: m.At, Y: rps.Y.Max, DX: vg.Points(6), DY: -vg.Points(22 + 22*float64(i%2)), Text: m.Label, Style: chart.TextStyle(chart.TickSize, true, markColor)})
	}
	note := tl.Note
	if drained := ts.end - (tl.Series[len(tl.Series)-1].T + iv); drained > iv/2 {
		if note != "" {
			note += "; "
		}
		note += fmt.Sprintf("the last step spans the %.1f s the backlog took to be answered", drained+iv)
	}
	if len(ts.p99) > 1 {
		if note != "" {
			note += "; "
		}
		note += "p99 breaks off where nothing succeeded"
	}
	ch := &figure{name: name, fig: &chart.Fig{Title: tl.Title, Subtitle: tl.Subtitle, Note: note, Panels: panels, Stacked: true}}
	return writeChart(dir, ch)
}

// timeline is what a timeline's panels draw, as step lines: a point at
// the start of every slice and one at the end of the last.
type timeline struct {
	ok, failed plotter.XYs   // successful req/s and failed requests per slice
	p99        []plotter.XYs // runs of slices with a successful response
	start, end float64
}

// timelineSeries lays the samples out slice by slice. A slice missing
// from the series (a merged file can have holes) is one where nothing
// completed: 0 served and 0 failed, which is what was measured then, and
// no p99, which was not.
func timelineSeries(series []results.Sample, iv, end float64) timeline {
	first := int(math.Round(series[0].T / iv))
	last := first
	bins := map[int]results.Sample{}
	for _, s := range series {
		i := int(math.Round(s.T / iv))
		bins[i] = s
		first, last = min(first, i), max(last, i)
	}
	t := timeline{start: float64(first) * iv, end: float64(last+1) * iv}
	// A drain longer than half a slice widens the last one (see End): drawn
	// one slice wide, 2 s of backlog read as a burst at ten times the rate.
	lastW := iv
	if end > t.end+iv/2 {
		lastW, t.end = end-float64(last)*iv, end
	}
	var seg plotter.XYs
	endSeg := func(at float64) {
		if len(seg) > 0 {
			seg = append(seg, plotter.XY{X: at, Y: seg[len(seg)-1].Y})
			t.p99 = append(t.p99, seg)
			seg = nil
		}
	}
	for i := first; i <= last; i++ {
		s, x, w := bins[i], float64(i)*iv, iv
		if i == last {
			w = lastW
		}
		t.ok = append(t.ok, plotter.XY{X: x, Y: float64(s.Requests-s.Errors) / w})
		t.failed = append(t.failed, plotter.XY{X: x, Y: float64(s.Errors)})
		if s.Requests > s.Errors && s.P99 > 0 {
			seg = append(seg, plotter.XY{X: x, Y: s.P99})
		} else {
			endSeg(x)
		}
	}
	endSeg(t.end)
	// The step lines' last level runs to the end of the last slice.
	t.ok = append(t.ok, plotter.XY{X: t.end, Y: t.ok[len(t.ok)-1].Y})
	t.failed = append(t.failed, plotter.XY{X: t.end, Y: t.failed[len(t.failed)-1].Y})
	return t
}

func maxOf(xys plotter.XYs) float64 {
	m := 0.0
	for _, p := range xys {
		m = math.Max(m, p.Y)
	}
	return m
}

// barChart is a simple bar chart: one bar per label.
type barChart struct {
	Title, Subtitle, Note, YLabel string
	Labels                        []string
	Values                        []float64
	Colors                        []color.Color // of each bar; gray where missing
	Format                        func(float64) string
	Ref                           float64 // a dashed reference line, if not 0
	RefLabel                      string
}

// writeBars draws b as dir/name.png and dir/name.svg.
func writeBars(dir, name string, b barChart) ([]string, error) {
	if len(b.Values) == 0 || len(b.Values) != len(b.Labels) {
		return nil, fmt.Errorf("bars %s: %d values for %d labels", name, len(b.Values), len(b.Labels))
	}
	format := b.Format
	if format == nil {
		format = numfmt.SI
	}
	p := chart.NewPlot("", b.YLabel, false)
	top := b.Ref
	for i, v := range b.Values {
		bar, err := plotter.NewBarChart(plotter.Values{v}, vg.Points(90))
		if err != nil {
			return nil, err
		}
		bar.Color = chart.Gray
		if i < len(b.Colors) {
			bar.Color = b.Colors[i]
		}
		bar.LineStyle.Width = 0
		bar.XMin = float64(i)
		p.Add(bar)
		st := chart.TextStyle(chart.TickSize, true, chart.Black)
		st.XAlign = draw.XCenter
		p.Add(chart.Label{X: float64(i), Y: v, DY: vg.Points(6), Text: format(v), Style: st})
		top = math.Max(top, v)
	}
	if b.Ref != 0 {
		p.Add(chart.HLine{Y: b.Ref, Style: chart.Dashed(chart.Gray, 2.5)})
		if b.RefLabel != "" {
			p.Add(chart.Label{X: -0.55, Y: b.Ref, DY: vg.Points(6), Text: b.RefLabel, Style: chart.TextStyle(chart.NoteSize, false, chart.Gray)})
		}
	}
	p.NominalX(wrapLabels(b.Labels)...)
	p.X.Min, p.X.Max = -0.6, float64(len(b.Values))-0.4
	p.X.Tick.Label.Font = chart.TextStyle(chart.TickSize, false, chart.Black).Font
	// Room above the tallest bar for its value label, and no more: rounded
	// up to a tick (niceMax), 100% of lookups drew an axis to 150%.
	p.Y.Min, p.Y.Max = 0, top*1.12
	ch := &figure{name: name, fig: &chart.Fig{Title: b.Title, Subtitle: b.Subtitle, Note: b.Note, Panels: []*plot.Plot{p}}}
	return writeChart(dir, ch)
}

// wrapLabels breaks bar labels in two lines, after a comma if they have
// one, else at the space nearest the middle, when one of them is longer
// than a bar's slot holds ("sticky, sessions in worker memory" ran into
// its neighbours); all of them, so they read alike.
func wrapLabels(labels []string) []string {
	// Characters of tick type under each bar: about 26 under each of three,
	// fewer the more bars share the width ("/counter/shared" and "shared in
	// Redis" ran into each other under six).
	fits := 78 / max(len(labels), 3)
	if !slices.ContainsFunc(labels, func(l string) bool { return len(l) > fits }) {
		return labels
	}
	out := make([]string, len(labels))
	for i, l := range labels {
		out[i] = l
		if j := strings.Index(l, ", "); j > 0 {
			out[i] = l[:j+1] + "\n" + l[j+2:]
			continue
		}
		dist := func(i int) int { return max(i-len(l)/2, len(l)/2-i) }
		best := -1
		for j, r := range l {
			if r == ' ' && (best < 0 || dist(j) < dist(best)) {
				best = j
			}
		}
		if best > 0 {
			out[i] = l[:best] + "\n" + l[best+1:]
		}
	}
	return out
}

// writeChart writes a chart's PNG and SVG into dir.
func writeChart(dir string, ch *figure) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	svg, err := ch.fig.SVG()
	if err != nil {
		return nil, err
	}
	png, err := ch.fig.PNG()
	if err != nil {
		return nil, err
	}
	var files []string
	for _, f := range []struct {
		ext string
		b   []byte
	}{{".png", png}, {".svg", svg}} {
		p := filepath.Join(dir, ch.name+f.ext)
		if err := writeFile(p, f.b); err != nil {
			return nil, err
		}
		files = append(files, p)
	}
	return files, nil
}
