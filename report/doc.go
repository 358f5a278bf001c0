// Package report turns a suite run (results.Run) into what people read:
// report.md, a self-contained report.html, every chart as PNG and SVG,
// and bench.txt for benchstat. It also renders the other results people
// read: a scenario's charts and summary (RenderScenario, ScenarioText) and
// `bench attack`'s table (AttackTable), with the same formatters and
// palette. The statistics it rests on (the Universal Scalability Law fit,
// COST, the Mann–Whitney U test) are package stats'.
//
// A report is a pure function of results.json: rendering never measures
// anything, so `bench report` can redraw an old run with a newer bench.
// It imports nothing of the module but results and stats.
//
// It claims no more than was measured:
//   - A case with over assess.FailedFlag (1%) of its requests failed, or
//     where the generator saturated, is flagged: marked in every table (†,
//     ⚠) with a note saying what the mark means, drawn hollow in every
//     chart with a caption saying so, and left out of the USL fit, COST,
//     knees, rankings and the geomean of `bench compare`.
//   - Per-worker bars and fairness come from the same merged counts, over
//     every worker the server runs, an idle one at 0; where the server did
//     not say how many it runs, the report says so.
//   - The USL is fitted to worker sweeps only, over the worker counts up
//     to the server CPUs (past them workers take turns and bring no
//     capacity: what that costs is shown as measured), and shown only with
//     4 or more worker counts and R² of 0.98 or more; elsewhere the report
//     says why not.
//   - Models are ranked only where their repeats tell them apart (min–max
//     apart and p < 0.05); neighbours within noise are marked ≈, and with
//     too few repeats nothing is ranked. `bench compare` says when the
//     repeats cannot tell A from B.
//   - Timelines break the p99 line at a slice where nothing succeeded.
//   - Figures that timed-out or unsent requests can move are marked ≥ in
//     the attack table: they are lower bounds.
//   - A bench built from a modified tree (+dirty) is shown as such, with a
//     warning.
package report

import (
	"fmt"
	"html"
	"regexp"
	"strings"
)

// The report is built once as a list of blocks, then written as Markdown
// and as HTML, so the two never say different things. Text in blocks uses
// a sliver of Markdown: `code` and **bold**.

type block interface{ isBlock() }

type heading struct {
	level int
	text  string
}

// para is a paragraph; kind "warn" and "banner" stand out, "note" is
// quieter.
type para struct {
	text string
	kind string
}

type list struct {
	items []string
	kind  string
}

type table struct {
	head  []string
	right []bool // right-aligned columns (numbers)
	rows  [][]string
}

type figure struct {
	chart   *chart
	caption string
}

func (heading) isBlock() {}
func (para) isBlock()    {}
func (list) isBlock()    {}
func (table) isBlock()   {}
func (figure) isBlock()  {}

type doc struct{ blocks []block }

func (d *doc) h(level int, format string, args ...any) {
	d.blocks = append(d.blocks, heading{level, fmt.Sprintf(format, args...)})
}

func (d *doc) p(kind, format string, args ...any) {
	d.blocks = append(d.blocks, para{fmt.Sprintf(format, args...), kind})
}

func (d *doc) list(kind string, items []string) {
	if len(items) > 0 {
		d.blocks = append(d.blocks, list{items, kind})
	}
}

func (d *doc) table(t table) {
	if len(t.rows) > 0 {
		d.blocks = append(d.blocks, t)
	}
}

func (d *doc) figure(c *chart, caption string) {
	d.blocks = append(d.blocks, figure{c, caption})
}

// markdown writes the document as GitHub-flavoured Markdown.
func (d *doc) markdown() string {
	var b strings.Builder
	for i, bl := range d.blocks {
		if i > 0 {
			b.WriteString("\n")
		}
		switch bl := bl.(type) {
		case heading:
			fmt.Fprintf(&b, "%s %s\n", strings.Repeat("#", bl.level), bl.text)
		case para:
			switch bl.kind {
			case "warn", "banner":
				fmt.Fprintf(&b, "> %s\n", bl.text)
			case "note":
				fmt.Fprintf(&b, "_%s_\n", bl.text)
			default:
				fmt.Fprintf(&b, "%s\n", bl.text)
			}
		case list:
			for _, it := range bl.items {
				fmt.Fprintf(&b, "- %s\n", it)
			}
		case table:
			row := func(cells []string) {
				b.WriteString("|")
				for _, c := range cells {
					fmt.Fprintf(&b, " %s |", strings.ReplaceAll(c, "|", `\|`))
				}
				b.WriteString("\n")
			}
			row(bl.head)
			b.WriteString("|")
			for i := range bl.head {
				if i < len(bl.right) && bl.right[i] {
					b.WriteString("---:|")
				} else {
					b.WriteString("---|")
				}
			}
			b.WriteString("\n")
			for _, r := range bl.rows {
				row(r)
			}
		case figure:
			fmt.Fprintf(&b, "![%s](charts/%s.png)\n", bl.chart.alt, bl.chart.name)
			if bl.caption != "" {
				fmt.Fprintf(&b, "\n_%s_\n", bl.caption)
			}
		}
	}
	return b.String()
}

var (
	codeRE = regexp.MustCompile("`([^`]*)`")
	boldRE = regexp.MustCompile(`\*\*([^*]*)\*\*`)
	linkRE = regexp.MustCompile(`\[([^\]]+)\]\((#[a-z0-9-]+)\)`)
)

// inline turns the document's sliver of Markdown into HTML.
func inline(s string) string {
	s = html.EscapeString(s)
	s = codeRE.ReplaceAllString(s, "<code>$1</code>")
	s = boldRE.ReplaceAllString(s, "<strong>$1</strong>")
	return linkRE.ReplaceAllString(s, `<a href="$2">$1</a>`)
}

// htmlBody writes the document's blocks as HTML; svg returns a chart's
// inline SVG.
func (d *doc) htmlBody(svg func(*chart) string) string {
	var b strings.Builder
	ids := map[string]int{}
	for _, bl := range d.blocks {
		switch bl := bl.(type) {
		case heading:
			id := anchor(bl.text)
			if ids[id]++; ids[id] > 1 {
				id = fmt.Sprintf("%s-%d", id, ids[id])
			}
			fmt.Fprintf(&b, "<h%d id=%q>%s</h%d>\n", bl.level, id, inline(bl.text), bl.level)
		case para:
			if bl.kind != "" {
				fmt.Fprintf(&b, "<p class=%q>%s</p>\n", bl.kind, inline(bl.text))
			} else {
				fmt.Fprintf(&b, "<p>%s</p>\n", inline(bl.text))
			}
		case list:
			if bl.kind != "" {
				fmt.Fprintf(&b, "<ul class=%q>\n", bl.kind)
			} else {
				b.WriteString("<ul>\n")
			}
			for _, it := range bl.items {
				fmt.Fprintf(&b, "<li>%s</li>\n", inline(it))
			}
			b.WriteString("</ul>\n")
		case table:
			b.WriteString("<div class=\"scroll\"><table>\n")
			if strings.Join(bl.head, "") != "" { // a key-value table has no header
				b.WriteString("<thead><tr>")
				for i, h := range bl.head {
					fmt.Fprintf(&b, "<th%s>%s</th>", alignAttr(bl.right, i), inline(h))
				}
				b.WriteString("</tr></thead>\n")
			}
			b.WriteString("<tbody>\n")
			for _, r := range bl.rows {
				b.WriteString("<tr>")
				for i, c := range r {
					fmt.Fprintf(&b, "<td%s>%s</td>", alignAttr(bl.right, i), inline(c))
				}
				b.WriteString("</tr>\n")
			}
			b.WriteString("</tbody>\n</table></div>\n")
		case figure:
			fmt.Fprintf(&b, "<figure data-chart=%q>\n%s", bl.chart.name, svg(bl.chart))
			fmt.Fprintf(&b, "<figcaption>%s <a href=\"charts/%s.png\">PNG</a> · <a href=\"charts/%s.svg\">SVG</a></figcaption>\n</figure>\n",
				inline(bl.caption), bl.chart.name, bl.chart.name)
		}
	}
	return b.String()
}

func alignAttr(right []bool, i int) string {
	if i < len(right) && right[i] {
		return ` class="num"`
	}
	return ""
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// anchor makes a heading's id from its text.
func anchor(s string) string {
	return strings.Trim(nonWord.ReplaceAllString(strings.ToLower(s), "-"), "-")
}
