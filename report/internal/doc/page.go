package doc

import (
	"fmt"
	"html"
	"regexp"
	"strings"
)

var (
	svgProlog = regexp.MustCompile(`(?s)^.*?<svg `)
	svgSize   = regexp.MustCompile(`^<svg width="[^"]*" height="[^"]*"`)
)

// InlineSVG turns a chart's SVG document into an element for the page:
// no XML prolog, and a width that follows the page; alt says what it
// shows.
func InlineSVG(svg []byte, alt string) string {
	s := svgProlog.ReplaceAllString(string(svg), "<svg ")
	s = svgSize.ReplaceAllString(s, fmt.Sprintf(`<svg width="100%%" role="img" aria-label="%s"`, html.EscapeString(alt)))
	return s
}

// checkScript runs when the page loads and records on the <html> element
// whether every chart drew (data-charts="ok N", or "missing: NAMES") and
// any script error (data-errors). The tests read both from a headless
// browser; a reader never notices them.
const checkScript = `<script>
(function () {
  var root = document.documentElement, errors = [];
  window.addEventListener('error', function (e) {
    errors.push(e.message || (e.target && (e.target.src || e.target.href)) || 'error');
    root.setAttribute('data-errors', errors.join(' | '));
  }, true);
  window.addEventListener('load', function () {
    var figs = document.querySelectorAll('figure[data-chart]'), bad = [];
    for (var i = 0; i < figs.length; i++) {
      var svg = figs[i].querySelector('svg'), ok = false;
      if (svg) {
        var r = svg.getBoundingClientRect(), b = svg.getBBox();
        ok = r.width > 0 && r.height > 0 && b.width > 0 && b.height > 0 &&
          svg.querySelectorAll('path').length > 10 && svg.querySelectorAll('text').length > 3;
      }
      if (!ok) bad.push(figs[i].getAttribute('data-chart'));
    }
    root.setAttribute('data-charts', bad.length ? 'missing: ' + bad.join(' ') : 'ok ' + figs.length);
  });
})();
</script>`

// pageStyle lays the page out for a laptop and, under 40em, a phone.
// Tables fit the page at 1280 px: headers and text cells wrap, numbers
// do not (a sentence in a column of numbers does: "long"). On a phone each row of a table with a header becomes a card of
// its cells, each under its column's name, the first (the model) on top;
// a chart keeps a width at which its smallest type (chart.SmallestType,
// 18 pt of a 960 pt slide) is 11 px or more and scrolls in its own box.
const pageStyle = `<style>
:root { color-scheme: light; }
body { margin: 0; background: #fafafa; color: #222; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 1.5em 2em 4em; background: #fff; overflow-wrap: break-word; }
h1 { font-size: 1.9em; margin: 0.3em 0 0.4em; }
h2 { font-size: 1.5em; margin-top: 2.2em; border-bottom: 2px solid #ddd; padding-bottom: 0.2em; }
h3 { font-size: 1.2em; margin-top: 1.8em; }
h4 { font-size: 1.05em; margin-top: 1.4em; }
code { font: 0.9em/1.4 ui-monospace, "Liberation Mono", Menlo, Consolas, monospace; background: #f1f1f1; padding: 0.05em 0.3em; border-radius: 3px; }
.banner { background: #fde2e1; border-left: 6px solid #c62828; padding: 0.7em 1em; font-size: 1.1em; }
p.warn { background: #fff6d6; border-left: 6px solid #e0a800; padding: 0.5em 1em; }
ul.warn { background: #fff6d6; border-left: 6px solid #e0a800; padding: 0.7em 1em 0.7em 2.2em; }
ul.warn li { margin: 0.3em 0; }
p.note { color: #555; font-style: italic; }
.scroll { overflow-x: auto; margin: 1em 0; }
table { border-collapse: collapse; font-size: 0.88em; }
th, td { padding: 0.3em 0.5em; border-bottom: 1px solid #e3e3e3; text-align: left; vertical-align: top; }
th { background: #f3f3f3; font-weight: 600; vertical-align: bottom; }
td.num { white-space: nowrap; }
td.long { white-space: normal; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.kv td:first-child { white-space: nowrap; }
tbody tr:nth-child(even) { background: #fbfbfb; }
figure { margin: 1.5em 0; overflow-x: auto; }
figure svg { display: block; width: 100%; min-width: 590px; height: auto; border: 1px solid #e3e3e3; box-sizing: border-box; }
figcaption { color: #555; font-size: 0.95em; margin-top: 0.4em; }
figcaption a { color: #0072b2; }
footer { margin-top: 3em; color: #777; font-size: 0.9em; }
@media (max-width: 40em) {
  main { padding: 1em 0.8em 3em; }
  h1 { font-size: 1.5em; }
  table.data, table.data tbody, table.kv, table.kv tbody, table.kv tr, table.kv td { display: block; }
  table.data thead { display: none; }
  table.data tr { display: grid; grid-template-columns: 1fr 1fr; gap: 0.1em 1em; margin: 0 0 0.7em; padding: 0.4em 0.6em; border: 1px solid #ddd; border-radius: 4px; }
  table.data td, table.data td.num { display: block; padding: 0; border: 0; text-align: left; white-space: normal; }
  table.data td::before { content: attr(data-label); display: block; color: #666; font-size: 0.85em; }
  table.data td:first-child { grid-column: 1 / -1; font-weight: 600; }
  table.data td:first-child::before { content: none; }
  table.kv td { border: 0; padding: 0; }
  table.kv tr { padding: 0.3em 0; border-bottom: 1px solid #e3e3e3; }
  table.kv td:first-child { color: #666; font-size: 0.85em; }
}
</style>`

// HTML writes the document as one page that needs nothing else: the
// style and the check script inline, each figure as svg(name) gives it
// (InlineSVG), and footer, HTML itself, at the end.
func (d *Doc) HTML(title, footer string, svg func(name string) string) string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	fmt.Fprintf(&b, "<title>%s</title>\n", html.EscapeString(title))
	b.WriteString(checkScript + "\n" + pageStyle + "\n</head>\n<body>\n<main>\n")
	b.WriteString(d.body(svg))
	fmt.Fprintf(&b, "<footer>%s</footer>\n", footer)
	b.WriteString("</main>\n</body>\n</html>\n")
	return b.String()
}
