package report

import (
	"fmt"
	"image/color"
	"testing"

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
