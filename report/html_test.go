package report

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/corebench/corebench/report/internal/chart"
	"github.com/corebench/corebench/report/internal/numfmt"
)

// chromium returns the headless browser to open the page with. Without
// one the test is skipped, except in CI (CI set), where .ci/run installs
// Debian's chromium and the test must run.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium on PATH, and CI is set: .ci/run should have installed it (apt-get install chromium)")
	}
	t.Skip("no chromium on PATH: install it (apt-get install chromium) to open report.html in a browser; CI always does")
	return ""
}

// runChromium runs a headless browser with its own profile and no
// network chatter, and returns its stdout.
func runChromium(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, tail(stderr.String(), 2000))
	}
	return string(out)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

var (
	chartsAttr = regexp.MustCompile(`<html[^>]*\sdata-charts="([^"]*)"`)
	errorsAttr = regexp.MustCompile(`<html[^>]*\sdata-errors="([^"]*)"`)
)

// TestRenderHTMLInChromium opens report.html in headless Chromium: the
// page's own check script must report every chart drawn with a non-empty
// box and no script error, and a screenshot must not be blank.
func TestRenderHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	dir, _ := renderFixture(t)
	page := filepath.Join(dir, HTMLFile)

	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	// Self-contained: nothing to fetch, so it reads the same offline.
	for _, bad := range []string{`src="http`, `src='http`, "url(http", "<link ", "@import", "<img "} {
		if strings.Contains(html, bad) {
			t.Errorf("report.html contains %q: it must not load anything from outside", bad)
		}
	}
	if n := strings.Count(html, "<figure data-chart="); n != len(fixtureCharts) {
		t.Errorf("report.html has %d charts, want %d", n, len(fixtureCharts))
	}

	dom := runChromium(t, bin, "--dump-dom", "file://"+page)
	m := chartsAttr.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page's check script did not run: no data-charts on <html>; the DOM starts:\n%s", tail(dom[:min(len(dom), 600)], 600))
	}
	if want := "ok " + itoa(len(fixtureCharts)); m[1] != want {
		t.Errorf("charts in the browser: %q, want %q", m[1], want)
	}
	if e := errorsAttr.FindStringSubmatch(dom); e != nil {
		t.Errorf("script errors on the page: %s", e[1])
	}

	shot := filepath.Join(t.TempDir(), "page.png")
	runChromium(t, bin, "--window-size=1280,2400", "--screenshot="+shot, "file://"+page)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if share := inkShare(img); share < 0.05 {
		t.Errorf("the screenshot is nearly blank: %.1f%% of its pixels are not white", 100*share)
	}
	// The first chart's bars are in the models' colours: find singlecore's.
	want := modelColor("singlecore")
	found := false
	bd := img.Bounds()
	for y := bd.Min.Y; y < bd.Max.Y && !found; y += 3 {
		for x := bd.Min.X; x < bd.Max.X; x += 3 {
			r, g, b, _ := img.At(x, y).RGBA()
			if near(r>>8, want.R) && near(g>>8, want.G) && near(b>>8, want.B) {
				found = true
				break
			}
		}
	}
	if !found {
		t.Errorf("no pixel of singlecore's colour %v in the screenshot: the first chart did not draw", want)
	}
}

func near(a uint32, b uint8) bool { return a+6 >= uint32(b) && a <= uint32(b)+6 }

func itoa(i int) string { return numfmt.Count(int64(i)) }

// A viewport the page is laid out in for TestPageLayoutInChromium: a
// laptop's and a phone's (CSS px).
type viewport struct{ w, h int }

var (
	desktop = viewport{1280, 800}
	phone   = viewport{390, 844}
)

// layout is what layoutScript measures of a page in one viewport.
type layout struct {
	Width, Height int      // the viewport, less any scroll bar
	ScrollWidth   int      // the document's
	Charts        string   // the page's own check: "ok N"
	WideTables    []string // tables wider than their box or the viewport
	VerdictTop    *float64
	ResultsTop    *float64 // the first workload's heading
	Figures       []struct {
		Name           string
		Shown, Natural float64 // width on the page (px), width of the SVG (pt)
	}
	RPS []struct { // the first row's req/s cell of each table that has one
		Table       string
		Left, Right float64
		Visible     bool
	}
}

// layoutScript measures the page in the frame win: the test reads the
// JSON it leaves on the outer page's <html data-layout>.
const layoutScript = `
function measure(win) {
  var doc = win.document, root = doc.documentElement, vw = root.clientWidth;
  var out = {Width: vw, Height: win.innerHeight, ScrollWidth: doc.scrollingElement.scrollWidth,
    Charts: root.getAttribute('data-charts') || '', WideTables: [], Figures: [], RPS: []};
  var top = function (el) { return el ? el.getBoundingClientRect().top : null; };
  out.VerdictTop = top(doc.getElementById('verdict'));
  out.ResultsTop = top(doc.querySelector('h2[id^="workload-"]'));
  var name = function (t) { // the heading above a table
    for (var el = t.parentElement; el; el = el.previousElementSibling || el.parentElement.previousElementSibling) {
      if (/^H[1-4]$/.test(el.tagName)) return el.id;
    }
    return '';
  };
  var tables = doc.querySelectorAll('table');
  for (var i = 0; i < tables.length; i++) {
    var t = tables[i], r = t.getBoundingClientRect(), box = t.parentElement.getBoundingClientRect();
    if (r.right > Math.min(vw, box.right) + 0.5 || r.left < -0.5) out.WideTables.push(name(t) + ' (' + Math.round(r.width) + ' px)');
    var th = t.querySelectorAll('thead th'), row = t.querySelector('tbody tr');
    for (var j = 0; j < th.length && row; j++) {
      if (th[j].textContent.indexOf('req/s') != 0) continue;
      var c = row.children[j].getBoundingClientRect();
      out.RPS.push({Table: name(t), Left: c.left, Right: c.right,
        Visible: c.width > 0 && c.height > 0 && c.left >= -0.5 && c.right <= Math.min(vw, box.right) + 0.5});
    }
  }
  var figs = doc.querySelectorAll('figure[data-chart]');
  for (var i = 0; i < figs.length; i++) {
    var svg = figs[i].querySelector('svg');
    out.Figures.push({Name: figs[i].getAttribute('data-chart'), Shown: svg.getBoundingClientRect().width,
      Natural: svg.viewBox.baseVal.width});
  }
  return out;
}
window.addEventListener('load', function () {
  var frames = document.querySelectorAll('iframe'), all = [];
  for (var i = 0; i < frames.length; i++) all.push(measure(frames[i].contentWindow));
  document.documentElement.setAttribute('data-layout', JSON.stringify(all));
});`

var layoutAttr = regexp.MustCompile(`<html[^>]*\sdata-layout="([^"]*)"`)

// measureLayout lays page out in each viewport, in iframes of those
// sizes (headless Chromium will not make a window narrower than 500 px),
// and returns what layoutScript measured in each.
func measureLayout(t *testing.T, bin, page string, vps ...viewport) []layout {
	t.Helper()
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	var w strings.Builder
	w.WriteString("<!DOCTYPE html>\n<html><body style=\"margin:0\">\n")
	for _, vp := range vps {
		// srcdoc: the frame shares the outer page's origin, so its script
		// reads the frame's DOM.
		fmt.Fprintf(&w, "<iframe width=\"%d\" height=\"%d\" style=\"border:0;display:block\" srcdoc=\"%s\"></iframe>\n",
			vp.w, vp.h, html.EscapeString(string(b)))
	}
	w.WriteString("<script>" + layoutScript + "</script>\n</body></html>\n")
	outer := filepath.Join(t.TempDir(), "layout.html")
	if err := os.WriteFile(outer, []byte(w.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := runChromium(t, bin, "--window-size=1400,1000", "--dump-dom", "file://"+outer)
	m := layoutAttr.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the layout script did not run: no data-layout on <html>")
	}
	var out []layout
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != len(vps) {
		t.Fatalf("%d layouts measured, want %d", len(out), len(vps))
	}
	return out
}

// minChartText is the smallest chart text on the page in CSS px, and the
// chart that has it: the charts' smallest type scaled as each is shown.
func (l layout) minChartText() (float64, string) {
	least, which := math.Inf(1), ""
	for _, f := range l.Figures {
		if px := chart.SmallestType * f.Shown / f.Natural; px < least {
			least, which = px, f.Name
		}
	}
	return least, which
}

// TestPageLayoutInChromium lays the fixture's report and the committed
// reference report out at 1280 and 390 px: nothing wider than the
// viewport, the verdict and the first results above the fold, chart text
// of 11 px or more, and the req/s of every table on screen.
func TestPageLayoutInChromium(t *testing.T) {
	bin := chromium(t)
	dir, _ := renderFixture(t)
	pages := []string{filepath.Join(dir, HTMLFile)}
	refs, _ := filepath.Glob("../results/reference-*/" + HTMLFile)
	pages = append(pages, refs...)
	for _, page := range pages {
		ls := measureLayout(t, bin, page, desktop, phone)
		for i, vp := range []viewport{desktop, phone} {
			l := ls[i]
			at := fmt.Sprintf("%s at %d px", page, vp.w)
			if l.Width > vp.w || l.Width < vp.w-20 || l.Height != vp.h {
				t.Fatalf("%s: laid out in %d×%d, not the frame's %d×%d", at, l.Width, l.Height, vp.w, vp.h)
			}
			if !strings.HasPrefix(l.Charts, "ok ") {
				t.Errorf("%s: charts %q", at, l.Charts)
			}
			if l.ScrollWidth > l.Width {
				t.Errorf("%s: the page scrolls sideways: %d px wide in a %d px viewport", at, l.ScrollWidth, l.Width)
			}
			if len(l.WideTables) > 0 {
				t.Errorf("%s: %d tables wider than the page, cut or scrolled sideways: %s", at, len(l.WideTables), strings.Join(l.WideTables, ", "))
			}
			// The verdict, where there is one, and the first results start
			// on the first screen; on a phone the first of them.
			var tops []float64
			if l.VerdictTop != nil {
				tops = append(tops, *l.VerdictTop)
			}
			if l.ResultsTop == nil {
				t.Errorf("%s: no workload's results", at)
			} else if vp == desktop || len(tops) == 0 {
				tops = append(tops, *l.ResultsTop)
			}
			for _, top := range tops {
				if top >= float64(l.Height) {
					t.Errorf("%s: the verdict or first results start at %.0f px, below the fold at %d px", at, top, l.Height)
				}
			}
			if len(l.Figures) == 0 {
				t.Errorf("%s: no charts measured", at)
			}
			if px, name := l.minChartText(); px < 11 {
				t.Errorf("%s: chart %s's smallest text is %.1f px, under 11", at, name, px)
			}
			if len(l.RPS) == 0 {
				t.Errorf("%s: no table with a req/s column", at)
			}
			for _, c := range l.RPS {
				if !c.Visible {
					t.Errorf("%s: req/s of %s's table is off screen (%.0f to %.0f px)", at, c.Table, c.Left, c.Right)
				}
			}
		}
	}
}
