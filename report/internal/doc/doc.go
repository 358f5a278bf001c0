// Package doc is the report's document model. A report is built once as a
// list of blocks (headings, paragraphs, lists, tables, figures), then
// written as Markdown and as one self-contained HTML page, so the two
// never say different things. Text in blocks uses a sliver of Markdown:
// `code`, **bold**, *emphasis* and [links](#anchor).
package doc

import (
	"fmt"
	"html"
	"regexp"
	"strings"
)

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

// Table is a table of text cells; Right marks the columns aligned right
// (numbers). A table whose Head cells are all empty is a key-value table,
// written without a header in HTML.
type Table struct {
	Head  []string
	Right []bool
	Rows  [][]string
}

type figure struct {
	name, alt, caption string
}

func (heading) isBlock() {}
func (para) isBlock()    {}
func (list) isBlock()    {}
func (Table) isBlock()   {}
func (figure) isBlock()  {}

// Doc is a document being built. Its figures are images in FigureDir,
// relative to the document: FigureDir/NAME.png and FigureDir/NAME.svg.
type Doc struct {
	FigureDir string
	blocks    []block
}

// H adds a heading of level 1 to 4.
func (d *Doc) H(level int, format string, args ...any) {
	d.blocks = append(d.blocks, heading{level, fmt.Sprintf(format, args...)})
}

// P adds a paragraph of kind "" (plain), "note", "warn" or "banner".
func (d *Doc) P(kind, format string, args ...any) {
	d.blocks = append(d.blocks, para{fmt.Sprintf(format, args...), kind})
}

// List adds a bulleted list of kind "" or "warn"; no items, no list.
func (d *Doc) List(kind string, items []string) {
	if len(items) > 0 {
		d.blocks = append(d.blocks, list{items, kind})
	}
}

// Table adds t; a table without rows is left out.
func (d *Doc) Table(t Table) {
	if len(t.Rows) > 0 {
		d.blocks = append(d.blocks, t)
	}
}

// Figure adds the chart called name (its files' name without extension),
// alt saying what it shows, with a caption under it.
func (d *Doc) Figure(name, alt, caption string) {
	d.blocks = append(d.blocks, figure{name, alt, caption})
}

// Markdown writes the document as GitHub-flavoured Markdown.
func (d *Doc) Markdown() string {
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
		case Table:
			row := func(cells []string) {
				b.WriteString("|")
				for _, c := range cells {
					fmt.Fprintf(&b, " %s |", strings.ReplaceAll(c, "|", `\|`))
				}
				b.WriteString("\n")
			}
			row(bl.Head)
			b.WriteString("|")
			for i := range bl.Head {
				if i < len(bl.Right) && bl.Right[i] {
					b.WriteString("---:|")
				} else {
					b.WriteString("---|")
				}
			}
			b.WriteString("\n")
			for _, r := range bl.Rows {
				row(r)
			}
		case figure:
			fmt.Fprintf(&b, "![%s](%s/%s.png)\n", bl.alt, d.FigureDir, bl.name)
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
	emRE   = regexp.MustCompile(`\*([^*\s][^*]*)\*`)
	linkRE = regexp.MustCompile(`\[([^\]]+)\]\((#[a-z0-9-]+)\)`)
)

// inline turns the document's sliver of Markdown into HTML.
func inline(s string) string {
	s = html.EscapeString(s)
	s = codeRE.ReplaceAllString(s, "<code>$1</code>")
	s = boldRE.ReplaceAllString(s, "<strong>$1</strong>")
	s = emRE.ReplaceAllString(s, "<em>$1</em>")
	return linkRE.ReplaceAllString(s, `<a href="$2">$1</a>`)
}

// body writes the document's blocks as HTML; svg returns the inline SVG
// of the figure called name.
func (d *Doc) body(svg func(name string) string) string {
	var b strings.Builder
	ids := map[string]int{}
	for _, bl := range d.blocks {
		switch bl := bl.(type) {
		case heading:
			id := Anchor(bl.text)
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
		case Table:
			// A narrow screen shows each row of a table as a card, every
			// cell under its column's name (data-label): see pageStyle.
			kv := strings.Join(bl.Head, "") == "" // a key-value table has no header
			if kv {
				b.WriteString("<div class=\"scroll\"><table class=\"kv\">\n")
			} else {
				b.WriteString("<div class=\"scroll\"><table class=\"data\">\n")
				b.WriteString("<thead><tr>")
				for i, h := range bl.Head {
					fmt.Fprintf(&b, "<th%s>%s</th>", alignAttr(bl.Right, i), inline(h))
				}
				b.WriteString("</tr></thead>\n")
			}
			b.WriteString("<tbody>\n")
			for _, r := range bl.Rows {
				b.WriteString("<tr>")
				for i, c := range r {
					label := ""
					if !kv && i < len(bl.Head) {
						label = fmt.Sprintf(" data-label=\"%s\"", html.EscapeString(bl.Head[i]))
					}
					align := alignAttr(bl.Right, i)
					if align != "" && strings.Count(c, " ") > 3 {
						align = ` class="num long"` // a sentence, such as why a fit failed: it may wrap
					}
					fmt.Fprintf(&b, "<td%s%s>%s</td>", align, label, inline(c))
				}
				b.WriteString("</tr>\n")
			}
			b.WriteString("</tbody>\n</table></div>\n")
		case figure:
			fmt.Fprintf(&b, "<figure data-chart=%q>\n%s", bl.name, svg(bl.name))
			fmt.Fprintf(&b, "<figcaption>%s <a href=\"%s/%s.png\">PNG</a> · <a href=\"%s/%s.svg\">SVG</a></figcaption>\n</figure>\n",
				inline(bl.caption), d.FigureDir, bl.name, d.FigureDir, bl.name)
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

// Anchor makes a heading's id from its text: lower case, a dash for
// anything else than letters and digits.
func Anchor(s string) string {
	return strings.Trim(nonWord.ReplaceAllString(strings.ToLower(s), "-"), "-")
}
