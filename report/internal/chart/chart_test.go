package chart

import (
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
)

// TestWrapText: a footer longer than the slide is broken at spaces into
// lines that each fit, keeping every word and the given line breaks.
func TestWrapText(t *testing.T) {
	st := TextStyle(NoteSize, false, Gray)
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

// TestWholeTicks: an axis of counts labels no fractions.
func TestWholeTicks(t *testing.T) {
	var labels []string
	for _, tk := range (WholeTicks{}).Ticks(0, 1) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if strings.Join(labels, " ") != "0 1" {
		t.Errorf("labels %q, want 0 and 1", labels)
	}
}

// TestSmallestType: no type size is below SmallestType, which the page
// test takes for the smallest text of every chart.
func TestSmallestType(t *testing.T) {
	for name, size := range map[string]float64{"title": titleSize, "subtitle": subtitleSize, "label": LabelSize,
		"tick": TickSize, "legend": legendSize, "note": NoteSize} {
		if size < SmallestType {
			t.Errorf("%s type is %g pt, under SmallestType (%d pt)", name, size, SmallestType)
		}
	}
}
