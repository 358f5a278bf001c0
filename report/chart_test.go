package report

import (
	"testing"

	"github.com/corebench/corebench/results"
)

// TestEveryVariantDrawn: every variant is drawn in its own colour and
// glyph, which an external server does not take.
func TestEveryVariantDrawn(t *testing.T) {
	for _, v := range results.Variants() {
		if _, ok := glyphs[v.Glyph]; !ok {
			t.Errorf("%s: no drawer for glyph %d", v, v.Glyph)
		}
		if modelColor(v.Name) != v.Color || v.Color == otherColor {
			t.Errorf("%s: drawn in %v, its colour %v; an external server's is %v", v, modelColor(v.Name), v.Color, otherColor)
		}
	}
	if modelColor("node-cluster") != otherColor {
		t.Errorf("an external server is drawn in %v, want %v", modelColor("node-cluster"), otherColor)
	}
}
