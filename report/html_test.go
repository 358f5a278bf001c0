package report

import (
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

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
