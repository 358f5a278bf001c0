package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corebench/corebench/models/modeltest"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
)

// oneLine reports whether s is one non-empty line.
func isOneLine(s string) bool {
	s = strings.TrimSuffix(s, "\n")
	return s != "" && !strings.Contains(s, "\n")
}

// testRun is a small measured run: one case per model given, with the
// given req/s per repeat.
func testRun(id string, rps map[string][]float64) *results.Run {
	r := &results.Run{ID: id, Started: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC), Complete: true, Profile: "quick",
		Env:      results.Env{OS: "linux", Arch: "amd64", CPUModel: "Test CPU", CPUs: 2},
		Settings: results.Settings{Repeat: 2, Duration: 1, Engine: "fast"}}
	for _, m := range []string{"singlecore", "goroutines", "prefork-rr"} {
		xs, ok := rps[m]
		if !ok {
			continue
		}
		w := 2
		if m == "singlecore" {
			w = 1
		}
		c := results.Case{ID: m + "/hello/closed-c10/w" + itoa(w), Sweep: "models", Model: m, Workers: w,
			Workload: "hello", Path: "/", Mode: "closed", Connections: 10, KeepAlive: true}
		for _, x := range xs {
			var h results.Histogram
			for i := 1; i <= 100; i++ {
				h.Record(int64(i) * 10000)
			}
			c.Repeats = append(c.Repeats, results.Repeat{Load: results.Summary{Requests: int64(x), RPS: x,
				Latency: stats.LatencyOf(&h), Histogram: &h, PerWorker: map[string]int64{"0": int64(x)}, Fairness: 1}})
		}
		stats.Summarize(&c)
		r.Cases = append(r.Cases, c)
	}
	return r
}

func saveRun(t *testing.T, r *results.Run) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), r.ID)
	if err := r.Save(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestReportRendersRun: bench report DIR writes the report beside
// results.json and prints every file it wrote; --out puts it elsewhere.
func TestReportRendersRun(t *testing.T) {
	dir := saveRun(t, testRun("run1", map[string][]float64{"singlecore": {1000, 1100}, "goroutines": {1900, 2000}, "prefork-rr": {1800, 1850}}))
	st, stdout, stderr := modeltest.RunToExit(t, bench("report", dir))
	if st != 0 {
		t.Fatalf("bench report %s: status %d, stderr %q", dir, st, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	for _, want := range []string{"report.md", "report.html", "bench.txt", filepath.Join("charts", "rps-hello.png"), filepath.Join("charts", "rps-hello.svg")} {
		p := filepath.Join(dir, want)
		if !slices.Contains(lines, p) {
			t.Errorf("stdout does not list %s:\n%s", p, stdout)
		}
	}
	for _, l := range lines {
		if fi, err := os.Stat(l); err != nil || fi.Size() == 0 {
			t.Errorf("listed file %s: %v", l, err)
		}
	}

	out := filepath.Join(t.TempDir(), "elsewhere")
	st, stdout, stderr = modeltest.RunToExit(t, bench("report", filepath.Join(dir, "results.json"), "--out", out))
	if st != 0 || !strings.HasPrefix(stdout, filepath.Join(out, "report.md")+"\n") {
		t.Fatalf("bench report FILE --out: status %d, stdout %q, stderr %q", st, stdout, stderr)
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil || !strings.Contains(string(md), "# corebench run run1") {
		t.Errorf("report.md in --out: %v\n%s", err, md)
	}
}

// TestReportDamagedAndForeign: a damaged file, a file of another schema
// version, a foreign JSON file and a missing run are each status 1 with
// one clear line on stderr.
func TestReportDamagedAndForeign(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := saveRun(t, testRun("run1", map[string][]float64{"singlecore": {1000}}))
	b, err := os.ReadFile(filepath.Join(good, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path, want string
	}{
		{write("truncated.json", string(b[:len(b)/2])), "is damaged"},
		{write("schema99.json", `{"schema": 99, "id": "x", "cases": []}`), "has results schema version 99"},
		{write("foreign.json", `{"requests": 10, "rps": 5}`), "is not a corebench results file"},
		{write("text.json", "hello\n"), "is damaged"},
		{filepath.Join(dir, "no-such-run"), "no such results file"},
	} {
		st, stdout, stderr := modeltest.RunToExit(t, bench("report", tt.path))
		if st != 1 || stdout != "" || !isOneLine(stderr) || !strings.HasPrefix(stderr, "bench report: ") || !strings.Contains(stderr, tt.want) {
			t.Errorf("bench report %s: status %d, stdout %q, stderr %q; want status 1 and one line saying %q",
				filepath.Base(tt.path), st, stdout, stderr, tt.want)
		}
	}
	for _, args := range [][]string{{"report"}, {"report", "a", "b"}, {"report", "--bogus", good}} {
		st, _, stderr := modeltest.RunToExit(t, bench(args...))
		if st != 2 || !isOneLine(stderr) {
			t.Errorf("bench %s: status %d, stderr %q; want status 2 and one line", strings.Join(args, " "), st, stderr)
		}
	}
}

// TestCompareRuns: bench compare A B prints a case-by-case table; bad
// input is status 1 or 2 with one line.
func TestCompareRuns(t *testing.T) {
	a := saveRun(t, testRun("runA", map[string][]float64{"singlecore": {1000, 1010}, "goroutines": {1900, 1950}}))
	b := saveRun(t, testRun("runB", map[string][]float64{"singlecore": {1200, 1210}, "prefork-rr": {1800, 1850}}))
	st, stdout, stderr := modeltest.RunToExit(t, bench("compare", a, filepath.Join(b, "results.json")))
	if st != 0 {
		t.Fatalf("bench compare: status %d, stderr %q", st, stderr)
	}
	for _, want := range []string{
		"A: " + a,
		"singlecore/hello/closed-c10/w1",
		"~ (+19.9%) (p=0.333 n=2+2, too few to tell)",
		"2 repeats cannot tell these apart; 4 or more per side can reach p<0.05",
		"Only in A (1): goroutines/hello/closed-c10/w2",
		"Only in B (1): prefork-rr/hello/closed-c10/w2",
		"too few repeats",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("bench compare output lacks %q:\n%s", want, stdout)
		}
	}

	damaged := filepath.Join(t.TempDir(), "results.json")
	os.WriteFile(damaged, []byte(`{"schema": 1, "cases": [`), 0o644)
	for _, tt := range []struct {
		args   []string
		status int
	}{
		{[]string{"compare", a, damaged}, 1},
		{[]string{"compare", a, filepath.Join(t.TempDir(), "missing")}, 1},
		{[]string{"compare", a}, 2},
		{[]string{"compare", a, b, b}, 2},
		{[]string{"compare", a, b, "--alpha", "2"}, 2},
	} {
		st, _, stderr := modeltest.RunToExit(t, bench(tt.args...))
		if st != tt.status || !isOneLine(stderr) || !strings.HasPrefix(stderr, "bench compare: ") {
			t.Errorf("bench %s: status %d, stderr %q; want status %d and one line", strings.Join(tt.args, " "), st, stderr, tt.status)
		}
	}
}
