package report

import (
	"regexp"
	"strings"
	"testing"

	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
)

// withFailures makes share of every repeat's requests failures (RPS,
// successes, unchanged) and summarises the case again.
func withFailures(c results.Case, share float64) results.Case {
	for i := range c.Repeats {
		l := &c.Repeats[i].Load
		l.Errors = int64(share * float64(l.Requests))
	}
	stats.Summarize(&c)
	return c
}

// saturated marks the case's last repeat as one where the generator was
// the bottleneck.
func saturated(c results.Case) results.Case {
	l := &c.Repeats[len(c.Repeats)-1].Load
	l.Saturated, l.SaturatedWhy = true, "the generator used 1.98 of its 2 cores"
	stats.Summarize(&c)
	return c
}

// flaggedRun has a case with 5% failed requests and one where the
// generator saturated, side by side and in a worker sweep.
func flaggedRun() *results.Run {
	run := smallRun("flags",
		smallCase("singlecore/hello/closed-c100/w1", "models", "singlecore", "hello", 1, 100, 9000, 9100),
		withFailures(smallCase("goroutines/hello/closed-c100/w2", "models", "goroutines", "hello", 2, 100, 15000, 15100), 0.05),
		saturated(smallCase("prefork-rr/hello/closed-c100/w2", "models", "prefork-rr", "hello", 2, 100, 14000, 14100)),
		smallCase("singlecore/cpu/closed-c64/w1", "workers", "singlecore", "cpu", 1, 64, 1000, 1000),
	)
	// goroutines beats singlecore at 2 workers only by failing 5% of its
	// requests: its COST is 3, not 2.
	for i, x := range []float64{900, 1200, 2500, 3400} {
		c := smallCase("goroutines/cpu/closed-c64/w"+itoa(i+1), "workers", "goroutines", "cpu", i+1, 64, x, x)
		if i == 1 {
			c = withFailures(c, 0.05)
		}
		run.Cases = append(run.Cases, c)
	}
	run.Profile = "full"
	serverCPUs(run, 4) // the worker sweep stays within them
	return run
}

// TestFlaggedCases: a case with more than 1% failed requests, or where
// the generator saturated, is marked in every table with a note saying
// what the mark means, drawn hollow in every chart with a caption saying
// so, and left out of the USL fit and COST.
func TestFlaggedCases(t *testing.T) {
	run := flaggedRun()
	md := renderMarkdown(t, run)
	for _, want := range []string{
		"| goroutines | 2 | 100 | 15.1k [15k–15.1k] † |",
		"| prefork-rr | 2 | 100 | 14.1k [14k–14.1k] ⚠ |",
		"_† more than 1% of its requests failed: req/s counts successful responses only, so it is not the server's capacity.",
		"_⚠ the load generator was saturated: that server may have more to give.",
		"| goroutines | 2 | 64 | 1.2k † |",
		// The fit and COST leave the flagged case out; its efficiency is
		// shown, marked.
		"| goroutines | 6 (1 flagged left out) |",
		"| goroutines | 3 | 0.90 | 0.60 † | 0.83 | 0.85 |",
		"_Requests per second by model: bars are medians over repeats, whiskers min and max. Drawn hollow, as flagged: " +
			"1 case where the generator saturated (⚠ in the tables); 1 case with over 1% of requests failed (†)._",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	// Every figure that draws a flagged case says so in its caption.
	figs := regexp.MustCompile(`!\[[^\]]*\]\(charts/([a-z0-9-]+)\.png\)\n\n_([^\n]*)_`).FindAllStringSubmatch(md, -1)
	if len(figs) < 6 {
		t.Fatalf("%d figures in report.md, want every chart", len(figs))
	}
	for _, f := range figs {
		if !strings.Contains(f[2], "Drawn hollow, as flagged") {
			t.Errorf("chart %s draws a flagged case and its caption does not say so: %q", f[1], f[2])
		}
	}

	// In the charts: the flagged bars are hollow (no bar filled in their
	// model's colour), and the line charts' legends explain hollow.
	_, charts := view{run: run}.document()
	for _, c := range charts {
		svg, err := c.fig.SVG()
		if err != nil {
			t.Fatal(err)
		}
		texts := svgTexts(string(svg))
		switch c.name {
		case "rps-hello", "cpu-hello":
			for model, filled := range map[string]bool{"singlecore": true, "goroutines": false, "prefork-rr": false} {
				fill := "fill:#" + strings.ToUpper(hexColor(modelColor(model)))
				if got := strings.Contains(string(svg), fill); got != filled {
					t.Errorf("%s: a bar filled in %s's colour: %v, want %v", c.name, model, got, filled)
				}
			}
			for _, w := range []string{"5% failed", "generator saturated"} {
				if !containsText(texts, w) {
					t.Errorf("%s: no label %q under the flagged bar; texts %q", c.name, w, texts)
				}
			}
		case "latency-hello", "scaling-workers-cpu", "cost-cpu":
			if !containsText(texts, "hollow:") {
				t.Errorf("%s: no legend key for hollow markers; texts %q", c.name, texts)
			}
		}
	}
}

var svgText = regexp.MustCompile(`>([^<]*)</text>`)

// svgTexts returns the text of every <text> element of an SVG document.
func svgTexts(svg string) []string {
	var out []string
	for _, m := range svgText.FindAllStringSubmatch(svg, -1) {
		out = append(out, m[1])
	}
	return out
}

func containsText(texts []string, s string) bool {
	for _, t := range texts {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}

// TestCompareFlagged: bench compare marks a case whose requests failed
// over 1% in one run, explains the mark, and leaves it out of the
// geomean; its req/s are successes.
func TestCompareFlagged(t *testing.T) {
	a := smallRun("A",
		smallCase("singlecore/cpu/closed-c100/w1", "models", "singlecore", "cpu", 1, 100, 1000, 1010, 990, 1005),
		smallCase("goroutines/cpu/closed-c100/w2", "models", "goroutines", "cpu", 2, 100, 1900, 1950, 1920, 1880))
	b := smallRun("B",
		smallCase("singlecore/cpu/closed-c100/w1", "models", "singlecore", "cpu", 1, 100, 1100, 1111, 1089, 1105),
		withFailures(smallCase("goroutines/cpu/closed-c100/w2", "models", "goroutines", "cpu", 2, 100, 500, 510, 490, 505), 0.6))
	for i := range b.Cases[1].Repeats {
		b.Cases[1].Repeats[i].Load.RPSAll = 4 * b.Cases[1].Repeats[i].Load.RPS // failures are not in rps
	}
	cmp := Compare(a, b, Alpha)
	if r := cmp.Rows[1]; r.Flagged != "B: 60% failed" || r.RPS.B != 502.5 {
		t.Errorf("goroutines row: flagged %q, req/s B %v; want B: 60%% failed and the median of successes 502.5", r.Flagged, r.RPS.B)
	}
	if g, n := cmp.Geomean(func(r CompareRow) Change { return r.RPS }); n != 1 || rel(g, 0.1) > 0.01 {
		t.Errorf("geomean %v over %d rows, want +10%% over singlecore alone", g, n)
	}
	var out strings.Builder
	cmp.WriteText(&out)
	for _, want := range []string{"502 †", "† more than 1% of the case's requests failed in that run: its req/s counts successful responses only. Flagged cases are left out of the geomean."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("comparison lacks %q:\n%s", want, out.String())
		}
	}
}

func hexColor(c interface{ RGBA() (r, g, b, a uint32) }) string {
	r, g, b, _ := c.RGBA()
	const digits = "0123456789abcdef"
	out := []byte{}
	for _, v := range []uint32{r >> 8, g >> 8, b >> 8} {
		out = append(out, digits[v>>4], digits[v&15])
	}
	return string(out)
}

// TestFixtureFlagged: in the fixture's open loop, the knee steps over the
// point where the generator saturated (goroutines at 16k), marks the
// rate where singlecore fell behind by failing 2% of requests, and the
// latency-vs-load chart says which points it draws hollow.
func TestFixtureFlagged(t *testing.T) {
	md := renderMarkdown(t, loadFixture(t))
	for _, want := range []string{
		"| singlecore | 2.9k | 54.7 | 3.4k † |",
		"| goroutines | 13.5k | 14 | 18.5k |",
		"the ring marks the last rate each model kept up with. Drawn hollow, as flagged: 1 case where the generator saturated (⚠ in the tables); 1 case with over 1% of requests failed (†). Limited by: failures (1 case), generator (1 case), offered rate (14 cases), server cores (3 cases), unknown (1 case)._",
		"| singlecore | 1 | 3.4k | 3.03k [2.99k–3.07k] † |",
		"| goroutines | 6 | 16k | 16k [15.9k–16k] ⚠ |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the fixture's report.md lacks %q", want)
		}
	}
}
