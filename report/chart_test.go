package report

import (
	"fmt"
	"image/color"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"

	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/variant"
)

// TestEveryVariantDrawn: every variant is drawn in its own colour and
// glyph, which an external server does not take.
func TestEveryVariantDrawn(t *testing.T) {
	colors, glyphs := map[color.RGBA]string{}, map[any]string{}
	for _, v := range variant.All() {
		s, ok := palette[v.Name]
		switch {
		case !ok:
			t.Errorf("%s: not in the palette", v)
			continue
		case s.color.A == 0 || colors[s.color] != "" || s.color == otherColor:
			t.Errorf("%s: colour %v missing, %s's, or an external server's", v, s.color, colors[s.color])
		case s.glyph == nil || glyphs[fmt.Sprint(s.glyph)] != "":
			t.Errorf("%s: glyph %v missing or %s's", v, s.glyph, glyphs[fmt.Sprint(s.glyph)])
		}
		colors[s.color], glyphs[fmt.Sprint(s.glyph)] = v.Name, v.Name
		if modelColor(v.Name) != s.color || modelGlyph(v.Name) == nil {
			t.Errorf("%s: drawn in %v, its colour %v", v, modelColor(v.Name), s.color)
		}
	}
	if modelColor("node-cluster") != otherColor {
		t.Errorf("an external server is drawn in %v, want %v", modelColor("node-cluster"), otherColor)
	}
}

// TestWrapText: a footer longer than the slide is broken at spaces into
// lines that each fit, keeping every word and the given line breaks.
func TestWrapText(t *testing.T) {
	st := textStyle(noteSize, false, gray)
	long := strings.Repeat("a footer that runs on ", 12) + "end\nsecond line"
	width := vg.Points(600)
	got := wrapText(st, long, width)
	lines := strings.Split(got, "\n")
	if len(lines) < 3 {
		t.Fatalf("%d lines, want the first broken: %q", len(lines), got)
	}
	for _, l := range lines {
		if w := st.Width(l); w > width {
			t.Errorf("line %q is %v wide, more than %v", l, w, width)
		}
	}
	if strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(long), " ") || lines[len(lines)-1] != "second line" {
		t.Errorf("words lost or reordered: %q", got)
	}
	if got := wrapText(st, "short", width); got != "short" {
		t.Errorf("a short line became %q", got)
	}
}

// TestScenarioTitle: the reload charts of a reuseport model say whether
// the sockets were handed over; others say nothing of it.
func TestScenarioTitle(t *testing.T) {
	for _, c := range []struct {
		r    results.Scenario
		want string
	}{
		{results.Scenario{Scenario: "reload", Model: "prefork-reuseport", Workers: 4}, "reload · prefork-reuseport, 4 workers, sockets handed over"},
		{results.Scenario{Scenario: "reload", Model: "prefork-reuseport", Workers: 4, NoHandover: true}, "reload · prefork-reuseport, 4 workers, no socket handover"},
		{results.Scenario{Scenario: "reload", Model: "prefork-rr", Workers: 4}, "reload · prefork-rr, 4 workers"},
		{results.Scenario{Scenario: "crash", Model: "singlecore", Workers: 1}, "crash · singlecore, 1 worker"},
	} {
		if got := scenarioTitle(&c.r); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}
