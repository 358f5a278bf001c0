// Package chart holds the report's chart primitives on gonum/plot: a
// figure laid out as a 16:9 slide (Fig, written as SVG and PNG), plots
// styled for a projector (NewPlot, NewLegend, TextStyle), axes (log
// scales, percentile "nines", tick labels), marker shapes, lines with
// hollow markers for flagged points, reference lines, labels and bars.
// What the charts show, and in which colour each model is drawn, is the
// report's.
package chart

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strings"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/corebench/corebench/report/internal/numfmt"
)

// Every chart is a 16:9 slide: 13.33 × 7.5 inches, 1600 × 900 pixels as
// PNG, with type sized to be read from the back of a room, and at the
// ~880 px GitHub shows a README image at (55%): the smallest type, 18 pt,
// is 30 px in the PNG and about 16 px there, GitHub's body text.
const (
	chartW = 13.333 * vg.Inch
	chartH = 7.5 * vg.Inch
	pngDPI = 120

	titleSize    = 28
	subtitleSize = 18
	LabelSize    = 21
	TickSize     = 18
	legendSize   = 18
	NoteSize     = 18
	LineWidth    = 3.5
	GlyphRadius  = 7

	// SmallestType is the smallest type any chart uses, in points, and
	// Width a chart's width in points, its SVG's viewBox width: a chart
	// shown W pixels wide has its smallest text SmallestType*W/Width
	// pixels tall. The page keeps that at 11 px or more.
	SmallestType = 18
	Width        = float64(chartW)
)

var (
	sans     = font.Font{Typeface: "Liberation", Variant: "Sans"}
	sansBold = font.Font{Typeface: "Liberation", Variant: "Sans", Weight: xfont.WeightBold}

	// Black and Gray are the type's and the keys' colours.
	Black     = color.RGBA{0x22, 0x22, 0x22, 0xff}
	Gray      = color.RGBA{0x66, 0x66, 0x66, 0xff}
	lightGray = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
)

// PolyGlyph is a filled polygon; its vertices are in units of the radius.
type PolyGlyph [][2]float64

func (g PolyGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	var p vg.Path
	for i, v := range g {
		q := vg.Point{X: pt.X + vg.Length(v[0])*sty.Radius, Y: pt.Y + vg.Length(v[1])*sty.Radius}
		if i == 0 {
			p.Move(q)
		} else {
			p.Line(q)
		}
	}
	p.Close()
	c.Fill(p)
}

// RingGlyph is a circle outline thick enough to see on a projector
// (draw.RingGlyph draws it half a point wide).
type RingGlyph struct{ Width float64 }

func (g RingGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(g.Width)})
	var p vg.Path
	p.Move(vg.Point{X: pt.X + sty.Radius, Y: pt.Y})
	p.Arc(pt, sty.Radius, 0, 2*math.Pi)
	p.Close()
	c.Stroke(p)
}

// TextStyle is the slides' type, Liberation Sans, at size points.
func TextStyle(size float64, bold bool, c color.Color) text.Style {
	f := sans
	if bold {
		f = sansBold
	}
	return text.Style{Color: c, Font: font.From(f, vg.Points(size)), Handler: plot.DefaultTextHandler}
}

// Fig lays out a figure: a title and subtitle at the top, one or more
// plots side by side, the legend in a column of its own on the right (so
// it never hides data) and a note at the bottom.
type Fig struct {
	Title, Subtitle string
	Panels          []*plot.Plot
	Legend          *plot.Legend
	Note            string
	Stacked         bool // panels one above the other (timelines), not side by side
	Cols            int  // stacked: this many columns of them (0 is 1), filled row by row
}

// NewLegend returns a legend styled for the slides, for Fig.Legend.
func NewLegend() *plot.Legend {
	l := plot.NewLegend()
	l.TextStyle = TextStyle(legendSize, false, Black)
	l.ThumbnailWidth = vg.Points(46)
	l.Padding = vg.Points(10)
	l.Top, l.Left = true, true
	return &l
}

func (f *Fig) draw(c draw.Canvas) {
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())
	m := vg.Points(18)
	c = draw.Crop(c, m, -m, m/2, -m)

	width := c.Size().X
	title := TextStyle(titleSize, true, Black)
	title.YAlign = draw.YTop
	t := wrapText(title, f.Title, width)
	c.FillText(title, vg.Point{X: c.Min.X, Y: c.Max.Y}, t)
	top := title.Height(t) + vg.Points(6)
	if f.Subtitle != "" {
		sub := TextStyle(subtitleSize, false, Gray)
		sub.YAlign = draw.YTop
		t := wrapText(sub, f.Subtitle, width)
		c.FillText(sub, vg.Point{X: c.Min.X, Y: c.Max.Y - top}, t)
		top += sub.Height(t)
	}
	top += vg.Points(14)
	bottom := vg.Length(0)
	if f.Note != "" {
		note := TextStyle(NoteSize, false, Gray)
		note.YAlign = draw.YBottom
		t := wrapText(note, f.Note, width)
		c.FillText(note, vg.Point{X: c.Min.X, Y: c.Min.Y}, t)
		bottom = note.Height(t) + vg.Points(10)
	}
	area := draw.Crop(c, 0, 0, bottom, -top)
	if f.Legend != nil {
		w := f.Legend.Rectangle(area).Size().X + vg.Points(24)
		lc := draw.Crop(area, area.Size().X-w+vg.Points(24), 0, 0, -vg.Points(8))
		f.Legend.Draw(lc)
		area = draw.Crop(area, 0, -w, 0, 0)
	}
	gap := vg.Points(36)
	n := vg.Length(len(f.Panels))
	if f.Stacked {
		// plot.Align lines the data areas up, so one x is one instant in
		// every panel whatever the width of each y axis's labels.
		cols := max(f.Cols, 1)
		rows := make([][]*plot.Plot, (len(f.Panels)+cols-1)/cols)
		for i := range rows {
			rows[i] = make([]*plot.Plot, cols) // a cell past the last panel stays nil: empty
		}
		for i, p := range f.Panels {
			rows[i/cols][i%cols] = p
		}
		tiles := draw.Tiles{Rows: len(rows), Cols: cols, PadY: vg.Points(14), PadX: gap}
		for i, cs := range plot.Align(rows, tiles, area) {
			for j, c := range cs {
				if p := rows[i][j]; p != nil {
					p.Draw(c)
				}
			}
		}
		return
	}
	pw := (area.Size().X - gap*(n-1)) / n
	for i, p := range f.Panels {
		x := area.Min.X + vg.Length(i)*(pw+gap)
		p.Draw(draw.Crop(area, x-area.Min.X, -(area.Max.X - x - pw), 0, 0))
	}
}

// wrapText breaks each line of s at spaces so that none is wider than
// width in style st: a footer or subtitle too long for the slide wraps
// instead of running off its edge. A word wider than width stays whole.
func wrapText(st text.Style, s string, width vg.Length) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		cur := ""
		for _, w := range strings.Fields(line) {
			if cur != "" && st.Width(cur+" "+w) > width {
				out = append(out, cur)
				cur = w
				continue
			}
			if cur != "" {
				cur += " "
			}
			cur += w
		}
		out = append(out, cur)
	}
	return strings.Join(out, "\n")
}

// SVG renders the figure as an SVG document whose text falls back from
// Liberation Sans to the fonts drawn with the same metrics (Arial,
// Helvetica), so it reads right without embedding the font.
func (f *Fig) SVG() ([]byte, error) {
	c := vgsvg.New(chartW, chartH)
	f.draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, err
	}
	s := strings.ReplaceAll(b.String(), "font-family:Liberation Sans;", "font-family:'Liberation Sans',Arimo,Arial,Helvetica,sans-serif;")
	return []byte(s), nil
}

// PNG renders the figure as a PNG image.
func (f *Fig) PNG() ([]byte, error) {
	c := vgimg.NewWith(vgimg.UseWH(chartW, chartH), vgimg.UseDPI(pngDPI))
	f.draw(draw.New(c))
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// NewPlot returns a plot styled for the projector: large type, thick
// axes, a light grid under the data (horizontal lines only for bars).
func NewPlot(xlabel, ylabel string, verticalGrid bool) *plot.Plot {
	p := plot.New()
	p.BackgroundColor = nil
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, vg.Points(LabelSize))
		a.Label.TextStyle.Color = Black
		a.Tick.Label.Font = font.From(sans, vg.Points(TickSize))
		a.Tick.Label.Color = Black
		a.LineStyle.Width = vg.Points(1.5)
		a.LineStyle.Color = Black
		a.Tick.LineStyle.Width = vg.Points(1.5)
		a.Tick.LineStyle.Color = Black
		a.Tick.Length = vg.Points(7)
		a.Padding = vg.Points(4)
		a.Label.Padding = vg.Points(6)
	}
	p.X.Label.Text, p.Y.Label.Text = xlabel, ylabel
	p.Y.Tick.Marker = LabelTicks(numfmt.SI)
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = lightGray, lightGray
	grid.Vertical.Width, grid.Horizontal.Width = vg.Points(1), vg.Points(1)
	if !verticalGrid {
		grid.Vertical.Color = nil
	}
	p.Add(grid)
	return p
}

// LabelTicks marks a linear axis like the default and labels the major
// ticks with itself: LabelTicks(numfmt.SI) gives 0, 10k, 20k instead of 0, 10000,
// 20000; LabelTicks(MsLabel) 0 ms, 5 ms, 10 ms.
type LabelTicks func(float64) string

func (f LabelTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = f(ts[i].Value)
		}
	}
	return ts
}

// gonum's plot.LogScale misplaces the axis label (it centres it on the
// arithmetic mean of the range) and panics on values <= 0. Log axes here
// plot log10 of the values on a linear scale instead (SetLogY), with log10Ticks to
// label them in the original units.

// log10Ticks marks a log10-transformed latency axis at 1, 2 and 5 times each
// power of ten, labelling all three over a short range and only the
// powers of ten over a long one.
type log10Ticks struct{}

func (log10Ticks) Ticks(min, max float64) []plot.Tick {
	lo, hi := math.Pow(10, min), math.Pow(10, max)
	e0, e1 := math.Floor(min), math.Ceil(max)
	all := e1-e0 <= 3
	var ts []plot.Tick
	for e := e0; e <= e1; e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v < lo*0.999 || v > hi*1.001 {
				continue
			}
			t := plot.Tick{Value: math.Log10(v)}
			if m == 1 || all {
				t.Label = MsLabel(v)
			}
			ts = append(ts, t)
		}
	}
	return ts
}

// MsLabel labels a latency in milliseconds: 0.5 ms, 20 ms, 2 s.
func MsLabel(v float64) string {
	if v >= 1000 {
		return numfmt.Sig(v/1000) + " s"
	}
	return numfmt.Sig(v) + " ms"
}

// SetLogY makes p's Y axis show [lo, hi] (in original units) on a log10
// scale; the data plotted must be log10 of the values.
func SetLogY(p *plot.Plot, lo, hi float64) {
	lo, hi = logRange(lo, hi)
	p.Y.Min, p.Y.Max = math.Log10(lo), math.Log10(hi)
	p.Y.Tick.Marker = log10Ticks{}
}

// logRange pads [lo, hi] out to the nearest 1-2-5 steps for a log axis.
func logRange(lo, hi float64) (float64, float64) {
	down := func(x float64) float64 {
		e := math.Pow(10, math.Floor(math.Log10(x)))
		for _, m := range []float64{5, 2, 1} {
			if m*e <= x {
				return m * e
			}
		}
		return e
	}
	up := func(x float64) float64 {
		e := math.Pow(10, math.Floor(math.Log10(x)))
		for _, m := range []float64{1, 2, 5, 10} {
			if m*e >= x {
				return m * e
			}
		}
		return 10 * e
	}
	if lo <= 0 {
		lo = hi / 1000
	}
	return down(lo), up(hi)
}

// NiceMax returns a round upper bound a little above x for a linear axis.
func NiceMax(x float64) float64 {
	if x <= 0 {
		return 1
	}
	x *= 1.08
	e := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if m*e >= x {
			return m * e
		}
	}
	return 10 * e
}

// Line returns a line through xys in colour c, and its markers in glyph:
// dashed or solid, width points wide. Points that are not finite are
// left out: gonum refuses them.
func Line(xys plotter.XYs, c color.Color, glyph draw.GlyphDrawer, dashed bool, width float64) (*plotter.Line, *plotter.Scatter) {
	ok := xys[:0:0]
	for _, p := range xys {
		if finite(p.X) && finite(p.Y) {
			ok = append(ok, p)
		}
	}
	l, err := plotter.NewLine(ok)
	if err != nil {
		panic(fmt.Sprintf("chart: line: %v", err)) // cannot happen with finite points
	}
	l.Color = c
	l.Width = vg.Points(width)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(10), vg.Points(6)}
	}
	s, _ := plotter.NewScatter(ok)
	s.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(GlyphRadius), Shape: glyph}
	return l, s
}

// Hollow returns hollow markers (glyph's shape in outline, crossed) of
// the points of xys that flagged marks, to add over a line and its solid
// markers; nil when none is flagged.
func Hollow(xys plotter.XYs, flagged []bool, c color.Color, glyph draw.GlyphDrawer) *plotter.Scatter {
	var pts plotter.XYs
	for i, p := range xys {
		if i < len(flagged) && flagged[i] && finite(p.X) && finite(p.Y) {
			pts = append(pts, p)
		}
	}
	if len(pts) == 0 {
		return nil
	}
	s, _ := plotter.NewScatter(pts)
	s.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(GlyphRadius * 1.45), Shape: hollowGlyph{glyph}}
	return s
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// hollowGlyph draws a flagged point: its model's shape as an outline on
// white with a cross inside, a little larger than the solid marker so it
// covers one drawn beneath it.
type hollowGlyph struct{ shape draw.GlyphDrawer }

func (g hollowGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	var p vg.Path
	r := sty.Radius
	if poly, ok := g.shape.(PolyGlyph); ok {
		for i, v := range poly {
			q := vg.Point{X: pt.X + vg.Length(v[0])*r, Y: pt.Y + vg.Length(v[1])*r}
			if i == 0 {
				p.Move(q)
			} else {
				p.Line(q)
			}
		}
	} else { // circles and rings
		p.Move(vg.Point{X: pt.X + r, Y: pt.Y})
		p.Arc(pt, r, 0, 2*math.Pi)
	}
	p.Close()
	c.SetColor(color.White)
	c.Fill(p)
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(2.5)})
	c.Stroke(p)
	d := r * 0.38
	c.StrokeLine2(draw.LineStyle{Color: sty.Color, Width: vg.Points(2)}, pt.X-d, pt.Y-d, pt.X+d, pt.Y+d)
	c.StrokeLine2(draw.LineStyle{Color: sty.Color, Width: vg.Points(2)}, pt.X-d, pt.Y+d, pt.X+d, pt.Y-d)
}

// HollowThumb is the legend's key to hollow markers.
type HollowThumb struct{}

func (HollowThumb) Thumbnail(c *draw.Canvas) {
	c.DrawGlyphNoClip(draw.GlyphStyle{Color: Black, Radius: vg.Points(GlyphRadius * 1.45), Shape: hollowGlyph{draw.CircleGlyph{}}}, c.Center())
}

// StyleThumb is a legend thumbnail for a line style alone ("dashed: p50").
type StyleThumb struct{ draw.LineStyle }

func (t StyleThumb) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(t.LineStyle, c.Min.X, y, c.Max.X, y)
}

// HLine draws a horizontal reference line across the plot at Y.
type HLine struct {
	Y     float64
	Style draw.LineStyle
}

func (h HLine) Plot(c draw.Canvas, p *plot.Plot) {
	_, ty := p.Transforms(&c)
	y := ty(h.Y)
	if y < c.Min.Y || y > c.Max.Y {
		return
	}
	c.StrokeLine2(h.Style, c.Min.X, y, c.Max.X, y)
}

func (h HLine) Thumbnail(c *draw.Canvas) { StyleThumb{h.Style}.Thumbnail(c) }

// Label writes Text at a data point, offset by DX and DY.
type Label struct {
	X, Y   float64
	DX, DY vg.Length
	Text   string
	Style  text.Style
}

func (l Label) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	c.FillText(l.Style, vg.Point{X: tx(l.X) + l.DX, Y: ty(l.Y) + l.DY}, l.Text)
}

// Dashed is a dashed line style.
func Dashed(c color.Color, width float64) draw.LineStyle {
	return draw.LineStyle{Color: c, Width: vg.Points(width), Dashes: []vg.Length{vg.Points(10), vg.Points(6)}}
}

// Dotted is a dotted line style.
func Dotted(c color.Color, width float64) draw.LineStyle {
	return draw.LineStyle{Color: c, Width: vg.Points(width), Dashes: []vg.Length{vg.Points(2), vg.Points(5)}}
}

// Unlabeled marks an axis like the default but without labels.
type Unlabeled struct{}

func (Unlabeled) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		ts[i].Label = ""
	}
	return ts
}

// WholeTicks labels only whole numbers, as numfmt.SI does: an axis of counts.
type WholeTicks struct{}

func (WholeTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			if ts[i].Value != math.Trunc(ts[i].Value) {
				ts[i].Label = ""
			} else {
				ts[i].Label = numfmt.SI(ts[i].Value)
			}
		}
	}
	return ts
}

// VLine draws a vertical line across the plot at X.
type VLine struct {
	X     float64
	Style draw.LineStyle
}

func (v VLine) Plot(c draw.Canvas, p *plot.Plot) {
	tx, _ := p.Transforms(&c)
	x := tx(v.X)
	if x < c.Min.X || x > c.Max.X {
		return
	}
	c.StrokeLine2(v.Style, x, c.Min.Y, x, c.Max.Y)
}

// AutoBars sizes a bar chart when it is drawn, from the space one
// category gets: Share of it for a group of Group bars, of which this
// chart is bar Index. Fixed widths would crowd or starve bars depending on
// the number of categories and the legend beside the plot.
type AutoBars struct {
	*plotter.BarChart
	Share        float64
	Group, Index int
	Idle         []int // categories whose bar is 0 because a worker served nothing: labelled, as a 0 draws no bar
}

func (b AutoBars) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	slot := tx(1) - tx(0)
	b.Width = vg.Length(math.Min(float64(slot)*b.Share/float64(b.Group), float64(2*vg.Inch)))
	b.Offset = vg.Length(float64(b.Index)-float64(b.Group-1)/2) * b.Width
	b.BarChart.Plot(c, p)
	st := TextStyle(NoteSize, true, b.LineStyle.Color)
	st.XAlign, st.YAlign = draw.XCenter, draw.YBottom
	for _, i := range b.Idle {
		x := tx(b.XMin+float64(i)) + b.Offset
		c.StrokeLine2(draw.LineStyle{Color: b.LineStyle.Color, Width: vg.Points(4)}, x-b.Width/2, ty(0), x+b.Width/2, ty(0))
		c.FillText(st, vg.Point{X: x, Y: ty(0) + vg.Points(4)}, "0%")
	}
}

// ErrPoint is one point with asymmetric Y errors, for
// plotter.NewYErrorBars: from Y−Lo to Y+Hi.
type ErrPoint struct{ X, Y, Lo, Hi float64 }

func (e ErrPoint) Len() int                      { return 1 }
func (e ErrPoint) XY(int) (float64, float64)     { return e.X, e.Y }
func (e ErrPoint) YError(int) (float64, float64) { return e.Lo, e.Hi }

// Nines maps a quantile to the "nines" axis: 0.9 → 1, 0.99 → 2.
func Nines(q float64) float64 { return -math.Log10(1 - q) }

// NinesTicks marks the percentiles of a spectrum.
var NinesTicks = plot.ConstantTicks{
	{Value: Nines(0.5), Label: "p50"},
	{Value: Nines(0.9), Label: "p90"},
	{Value: Nines(0.99), Label: "p99"},
	{Value: Nines(0.999), Label: "p99.9"},
	{Value: Nines(0.9999), Label: "p99.99"},
}

// SpectrumPlot is the plot every spectrum is drawn on: percentiles
// from p50 to p99.99 across, latency on a log scale up.
func SpectrumPlot(lo, hi float64) *plot.Plot {
	p := NewPlot("percentile", "latency (log scale)", true)
	p.X.Min, p.X.Max = Nines(0.5), 4
	p.X.Tick.Marker = NinesTicks
	SetLogY(p, lo, hi)
	return p
}

// RingThumb is the legend's key to a ring drawn around a point.
type RingThumb struct{}

func (RingThumb) Thumbnail(c *draw.Canvas) {
	c.DrawGlyphNoClip(draw.GlyphStyle{Color: Black, Radius: vg.Points(9), Shape: RingGlyph{Width: 2.5}}, c.Center())
}
