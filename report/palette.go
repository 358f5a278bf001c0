package report

import (
	"image/color"

	"gonum.org/v1/plot/vg/draw"

	"github.com/corebench/corebench/report/internal/chart"
	"github.com/corebench/corebench/variant"
)

// style is how every chart draws a variant: its colour and its marker.
type style struct {
	color color.RGBA
	glyph draw.GlyphDrawer
}

// palette gives each built-in variant its style. The colours are the
// Okabe–Ito palette, which colour-blind readers and projectors both keep
// apart; a marker shape of its own per variant keeps lines apart in black
// and white. TestEveryVariantDrawn checks every variant has one.
var palette = map[string]style{
	variant.SingleCore.Name:       {rgb(0xD5, 0x5E, 0x00), circleGlyph},               // vermilion
	variant.Goroutines.Name:       {rgb(0x00, 0x72, 0xB2), squareGlyph},               // blue
	variant.PreforkRR.Name:        {rgb(0x00, 0x9E, 0x73), triangleGlyph},             // bluish green
	variant.PreforkOS.Name:        {rgb(0xE6, 0x9F, 0x00), diamondGlyph},              // orange
	variant.PreforkReusePort.Name: {rgb(0xCC, 0x79, 0xA7), triangleDownGlyph},         // reddish purple
	variant.PreforkSticky.Name:    {rgb(0x56, 0xB4, 0xE9), chart.RingGlyph{Width: 3}}, // sky blue
}

// otherColor draws what is no built-in variant: an external server.
var otherColor = rgb(0x55, 0x55, 0x55)

func rgb(r, g, b uint8) color.RGBA { return color.RGBA{r, g, b, 0xff} }

// The marker shapes, in units of the marker's radius.
var (
	circleGlyph       draw.GlyphDrawer = draw.CircleGlyph{}
	squareGlyph                        = chart.PolyGlyph{{-0.85, -0.85}, {0.85, -0.85}, {0.85, 0.85}, {-0.85, 0.85}}
	triangleGlyph                      = chart.PolyGlyph{{0, 1.15}, {-1.1, -0.75}, {1.1, -0.75}}
	diamondGlyph                       = chart.PolyGlyph{{0, 1.25}, {1.05, 0}, {0, -1.25}, {-1.05, 0}}
	triangleDownGlyph                  = chart.PolyGlyph{{0, -1.15}, {-1.1, 0.75}, {1.1, 0.75}}
)

// modelColor is the colour of the variant called m in every chart.
func modelColor(m string) color.RGBA {
	if s, ok := palette[m]; ok {
		return s.color
	}
	return otherColor
}

// modelGlyph is the marker of the variant called m in every chart.
func modelGlyph(m string) draw.GlyphDrawer {
	if s, ok := palette[m]; ok {
		return s.glyph
	}
	return circleGlyph
}
