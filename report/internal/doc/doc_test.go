package doc

import (
	"strings"
	"testing"
)

// TestBothForms: every block is in the Markdown and in the HTML page, the
// figure found where FigureDir says, headings with unique anchors.
func TestBothForms(t *testing.T) {
	d := &Doc{FigureDir: "charts"}
	d.H(1, "Run %s", "x")
	d.P("note", "a `code`, **bold**, *em* and [link](#run-x)")
	d.List("warn", []string{"one", "two"})
	d.List("", nil) // no items, no list
	d.Table(Table{Head: []string{"model", "req/s"}, Right: []bool{false, true}, Rows: [][]string{{"a|b", "1k"}}})
	d.Table(Table{Head: []string{"empty"}}) // no rows, no table
	d.Figure("rps-cpu", "Requests per second", "Bars are medians.")
	d.H(2, "Run x")
	md := d.Markdown()
	for _, want := range []string{"# Run x\n", "_a `code`, **bold**, *em* and [link](#run-x)_\n", "- one\n- two\n",
		"| model | req/s |\n|---|---:|\n| a\\|b | 1k |\n", "![Requests per second](charts/rps-cpu.png)\n\n_Bars are medians._\n"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Count(md, "|") != 10 || strings.Contains(md, "empty") {
		t.Errorf("an empty table or list was written:\n%s", md)
	}
	page := d.HTML("corebench <run>", "the end", func(name string) string { return "<svg>" + name + "</svg>" })
	for _, want := range []string{"<title>corebench &lt;run&gt;</title>", `<h1 id="run-x">`, `<h2 id="run-x-2">`,
		`<p class="note">a <code>code</code>, <strong>bold</strong>, <em>em</em> and <a href="#run-x">link</a></p>`,
		`<td class="num" data-label="req/s">1k</td>`, `<figure data-chart="rps-cpu">` + "\n<svg>rps-cpu</svg>", `<a href="charts/rps-cpu.svg">SVG</a>`,
		"<footer>the end</footer>"} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}
