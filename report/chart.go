package report

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

	"github.com/corebench/corebench/assess"
	"github.com/corebench/corebench/results"
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
	labelSize    = 21
	tickSize     = 18
	legendSize   = 18
	noteSize     = 18
	lineWidth    = 3.5
	glyphRadius  = 7
)

var (
	sans     = font.Font{Typeface: "Liberation", Variant: "Sans"}
	sansBold = font.Font{Typeface: "Liberation", Variant: "Sans", Weight: xfont.WeightBold}

	black     = color.RGBA{0x22, 0x22, 0x22, 0xff}
	gray      = color.RGBA{0x66, 0x66, 0x66, 0xff}
	lightGray = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
)

// polyGlyph is a filled polygon; its vertices are in units of the radius.
type polyGlyph [][2]float64

func (g polyGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
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

// ringGlyph is a circle outline thick enough to see on a projector
// (draw.RingGlyph draws it half a point wide).
type ringGlyph struct{ width float64 }

func (g ringGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(g.width)})
	var p vg.Path
	p.Move(vg.Point{X: pt.X + sty.Radius, Y: pt.Y})
	p.Arc(pt, sty.Radius, 0, 2*math.Pi)
	p.Close()
	c.Stroke(p)
}

func textStyle(size float64, bold bool, c color.Color) text.Style {
	f := sans
	if bold {
		f = sansBold
	}
	return text.Style{Color: c, Font: font.From(f, vg.Points(size)), Handler: plot.DefaultTextHandler}
}

// chart is one figure of the report, written as PNG and SVG and inlined
// into the HTML page.
type chart struct {
	name    string // file name without extension, e.g. "rps-cpu"
	alt     string // what it shows in one line
	fig     *fig
	flagged []*results.Case // flagged cases it draws hollow, for the caption
	cases   []*results.Case // every case it draws, for the caption's limits
}

// fig lays out a figure: a title and subtitle at the top, one or more
// plots side by side, the legend in a column of its own on the right (so
// it never hides data) and a note at the bottom.
type fig struct {
	title, subtitle string
	panels          []*plot.Plot
	legend          *plot.Legend
	note            string
	stacked         bool // panels one above the other (timelines), not side by side
	cols            int  // stacked: this many columns of them (0 is 1), filled row by row
}

func newLegend() *plot.Legend {
	l := plot.NewLegend()
	l.TextStyle = textStyle(legendSize, false, black)
	l.ThumbnailWidth = vg.Points(46)
	l.Padding = vg.Points(10)
	l.Top, l.Left = true, true
	return &l
}

func (f *fig) draw(c draw.Canvas) {
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())
	m := vg.Points(18)
	c = draw.Crop(c, m, -m, m/2, -m)

	width := c.Size().X
	title := textStyle(titleSize, true, black)
	title.YAlign = draw.YTop
	t := wrapText(title, f.title, width)
	c.FillText(title, vg.Point{X: c.Min.X, Y: c.Max.Y}, t)
	top := title.Height(t) + vg.Points(6)
	if f.subtitle != "" {
		sub := textStyle(subtitleSize, false, gray)
		sub.YAlign = draw.YTop
		t := wrapText(sub, f.subtitle, width)
		c.FillText(sub, vg.Point{X: c.Min.X, Y: c.Max.Y - top}, t)
		top += sub.Height(t)
	}
	top += vg.Points(14)
	bottom := vg.Length(0)
	if f.note != "" {
		note := textStyle(noteSize, false, gray)
		note.YAlign = draw.YBottom
		t := wrapText(note, f.note, width)
		c.FillText(note, vg.Point{X: c.Min.X, Y: c.Min.Y}, t)
		bottom = note.Height(t) + vg.Points(10)
	}
	area := draw.Crop(c, 0, 0, bottom, -top)
	if f.legend != nil {
		w := f.legend.Rectangle(area).Size().X + vg.Points(24)
		lc := draw.Crop(area, area.Size().X-w+vg.Points(24), 0, 0, -vg.Points(8))
		f.legend.Draw(lc)
		area = draw.Crop(area, 0, -w, 0, 0)
	}
	gap := vg.Points(36)
	n := vg.Length(len(f.panels))
	if f.stacked {
		// plot.Align lines the data areas up, so one x is one instant in
		// every panel whatever the width of each y axis's labels.
		cols := max(f.cols, 1)
		rows := make([][]*plot.Plot, (len(f.panels)+cols-1)/cols)
		for i := range rows {
			rows[i] = make([]*plot.Plot, cols) // a cell past the last panel stays nil: empty
		}
		for i, p := range f.panels {
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
	for i, p := range f.panels {
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

// svg renders the chart as an SVG document whose text falls back from
// Liberation Sans to the fonts drawn with the same metrics (Arial,
// Helvetica), so it reads right without embedding the font.
func (ch *chart) svg() ([]byte, error) {
	c := vgsvg.New(chartW, chartH)
	ch.fig.draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, err
	}
	s := strings.ReplaceAll(b.String(), "font-family:Liberation Sans;", "font-family:'Liberation Sans',Arimo,Arial,Helvetica,sans-serif;")
	return []byte(s), nil
}

// png renders the chart as a PNG image.
func (ch *chart) png() ([]byte, error) {
	c := vgimg.NewWith(vgimg.UseWH(chartW, chartH), vgimg.UseDPI(pngDPI))
	ch.fig.draw(draw.New(c))
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// newPlot returns a plot styled for the projector: large type, thick
// axes, a light grid under the data (horizontal lines only for bars).
func newPlot(xlabel, ylabel string, verticalGrid bool) *plot.Plot {
	p := plot.New()
	p.BackgroundColor = nil
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, vg.Points(labelSize))
		a.Label.TextStyle.Color = black
		a.Tick.Label.Font = font.From(sans, vg.Points(tickSize))
		a.Tick.Label.Color = black
		a.LineStyle.Width = vg.Points(1.5)
		a.LineStyle.Color = black
		a.Tick.LineStyle.Width = vg.Points(1.5)
		a.Tick.LineStyle.Color = black
		a.Tick.Length = vg.Points(7)
		a.Padding = vg.Points(4)
		a.Label.Padding = vg.Points(6)
	}
	p.X.Label.Text, p.Y.Label.Text = xlabel, ylabel
	p.Y.Tick.Marker = labelTicks(si)
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = lightGray, lightGray
	grid.Vertical.Width, grid.Horizontal.Width = vg.Points(1), vg.Points(1)
	if !verticalGrid {
		grid.Vertical.Color = nil
	}
	p.Add(grid)
	return p
}

// labelTicks marks a linear axis like the default and labels the major
// ticks with itself: labelTicks(si) gives 0, 10k, 20k instead of 0, 10000,
// 20000; labelTicks(msLabel) 0 ms, 5 ms, 10 ms.
type labelTicks func(float64) string

func (f labelTicks) Ticks(min, max float64) []plot.Tick {
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
// plot log10 of the values on a linear scale instead, with log10Ticks to
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
				t.Label = msLabel(v)
			}
			ts = append(ts, t)
		}
	}
	return ts
}

// msLabel labels a latency in milliseconds: 0.5 ms, 20 ms, 2 s.
func msLabel(v float64) string {
	if v >= 1000 {
		return sig(v/1000) + " s"
	}
	return sig(v) + " ms"
}

// setLogY makes p's Y axis show [lo, hi] (in original units) on a log10
// scale; the data plotted must be log10 of the values.
func setLogY(p *plot.Plot, lo, hi float64) {
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

// niceMax returns a round upper bound a little above x for a linear axis.
func niceMax(x float64) float64 {
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

// line returns a model's line with its markers.
// Points that are not finite are left out: gonum refuses them.
func modelLine(model string, xys plotter.XYs, dashed bool, width float64) (*plotter.Line, *plotter.Scatter) {
	ok := xys[:0:0]
	for _, p := range xys {
		if finite(p.X) && finite(p.Y) {
			ok = append(ok, p)
		}
	}
	l, err := plotter.NewLine(ok)
	if err != nil {
		panic(fmt.Sprintf("report: line for %s: %v", model, err)) // cannot happen with finite points
	}
	l.Color = modelColor(model)
	l.Width = vg.Points(width)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(10), vg.Points(6)}
	}
	s, _ := plotter.NewScatter(ok)
	s.GlyphStyle = draw.GlyphStyle{Color: modelColor(model), Radius: vg.Points(glyphRadius), Shape: modelGlyph(model)}
	return l, s
}

// hollowGlyph draws a flagged point: its model's shape as an outline on
// white with a cross inside, a little larger than the solid marker so it
// covers one drawn beneath it.
type hollowGlyph struct{ shape draw.GlyphDrawer }

func (g hollowGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	var p vg.Path
	r := sty.Radius
	if poly, ok := g.shape.(polyGlyph); ok {
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

// hollowMarks returns the hollow markers of a model's flagged points, to
// add over its line and solid markers; nil when none is flagged.
func hollowMarks(model string, xys plotter.XYs, flagged []bool) *plotter.Scatter {
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
	s.GlyphStyle = draw.GlyphStyle{Color: modelColor(model), Radius: vg.Points(glyphRadius * 1.45), Shape: hollowGlyph{modelGlyph(model)}}
	return s
}

// hollowThumb is the legend's key to hollow markers.
type hollowThumb struct{}

func (hollowThumb) Thumbnail(c *draw.Canvas) {
	c.DrawGlyphNoClip(draw.GlyphStyle{Color: black, Radius: vg.Points(glyphRadius * 1.45), Shape: hollowGlyph{draw.CircleGlyph{}}}, c.Center())
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
		leg.Add("hollow: too few", hollowThumb{})
		leg.Add("  connections")
	}
	switch {
	case sat && failed:
		leg.Add("hollow: saturated", hollowThumb{})
		leg.Add(fmt.Sprintf("  or over %g%% failed", 100*assess.FailedFlag))
	case sat:
		leg.Add("hollow: generator", hollowThumb{})
		leg.Add("  saturated")
	case failed:
		leg.Add(fmt.Sprintf("hollow: over %g%%", 100*assess.FailedFlag), hollowThumb{})
		leg.Add("  of requests failed")
	}
}

// styleThumb is a legend thumbnail for a line style alone ("dashed: p50").
type styleThumb struct{ draw.LineStyle }

func (t styleThumb) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(t.LineStyle, c.Min.X, y, c.Max.X, y)
}

// hline draws a horizontal reference line across the plot at y.
type hline struct {
	y     float64
	style draw.LineStyle
}

func (h hline) Plot(c draw.Canvas, p *plot.Plot) {
	_, ty := p.Transforms(&c)
	y := ty(h.y)
	if y < c.Min.Y || y > c.Max.Y {
		return
	}
	c.StrokeLine2(h.style, c.Min.X, y, c.Max.X, y)
}

func (h hline) Thumbnail(c *draw.Canvas) { styleThumb{h.style}.Thumbnail(c) }

// label writes text at a data point, offset in points.
type label struct {
	x, y   float64
	dx, dy vg.Length
	text   string
	style  text.Style
}

func (l label) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	c.FillText(l.style, vg.Point{X: tx(l.x) + l.dx, Y: ty(l.y) + l.dy}, l.text)
}

func dashed(c color.Color, width float64) draw.LineStyle {
	return draw.LineStyle{Color: c, Width: vg.Points(width), Dashes: []vg.Length{vg.Points(10), vg.Points(6)}}
}

func dotted(c color.Color, width float64) draw.LineStyle {
	return draw.LineStyle{Color: c, Width: vg.Points(width), Dashes: []vg.Length{vg.Points(2), vg.Points(5)}}
}
