package report

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/corebench/corebench/report/internal/numfmt"
	"github.com/corebench/corebench/results"
)

// A quick run on a 2-core box: models side by side only, servers and
// generator sharing cores, interrupted before the end.
func TestRenderQuickSharedIncomplete(t *testing.T) {
	run := smallRun("20261122T090000Z-box",
		smallCase("singlecore/hello/closed-c100/w1", "models", "singlecore", "hello", 1, 100, 9000, 9100),
		smallCase("goroutines/hello/closed-c100/w2", "models", "goroutines", "hello", 2, 100, 15000, 15500),
		smallCase("prefork-rr/hello/closed-c100/w2", "models", "prefork-rr", "hello", 2, 100, 14000, 14100),
		smallCase("singlecore/cpu/closed-c100/w1", "models", "singlecore", "cpu", 1, 100, 3000, 3050),
	)
	run.Complete = false
	run.Cases[2].Summary.Saturated = true
	run.Cases[2].Repeats[1].Load.Saturated = true
	run.Cases[2].Repeats[1].Load.SaturatedWhy = "the generator used 1.98 of its 2 cores"

	dir := t.TempDir()
	files, err := Render(run, dir)
	if err != nil {
		t.Fatal(err)
	}
	var charts []string
	for _, c := range chartNames(run) {
		charts = append(charts, c)
	}
	want := []string{"rps-hello", "latency-hello", "cpu-hello", "fairness-hello", "rps-cpu", "latency-cpu", "cpu-cpu"}
	if !slices.Equal(charts, want) {
		t.Errorf("charts %q, want %q", charts, want)
	}
	if len(files) != 3+2*len(want) {
		t.Errorf("%d files written, want %d", len(files), 3+2*len(want))
	}
	b, err := os.ReadFile(filepath.Join(dir, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	for _, s := range []string{
		"> **Incomplete run.**",
		"**Servers and the load generator share cores.**",
		"| Shared cores | **yes: servers and generator share cores** |",
		"The load generator was saturated in `prefork-rr/hello/closed-c100/w2`: the generator used 1.98 of its 2 cores.",
		"| prefork-rr | 2 | 100 | 14.1k [14k–14.1k] ⚠ |",
		"## Not measured in this run",
		"- Scaling with connections: not measured in this profile (quick); the standard and full profiles measure it (`bench run --profile standard`).",
		"- Latency against offered load (open loop): not measured in this profile (quick); the standard and full profiles measure it",
		"- Scaling with workers: not measured in this profile (quick); the full profile measures it (`bench run --profile full`).",
		"![Requests per second by model, workload hello](charts/rps-hello.png)",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("report.md lacks %q", s)
		}
	}
	if strings.Contains(md, "## Failed cases") {
		t.Error("report.md has a Failed cases section with no failed case")
	}
}

// A run with nothing measured still renders: tables of failures, no
// charts, no crash.
func TestRenderAllFailed(t *testing.T) {
	run := smallRun("x", results.Case{ID: "singlecore/hello/closed-c100/w1", Sweep: "models", Model: "singlecore",
		Workload: "hello", Connections: 100, Workers: 1, Error: "bench serve: exec: not found"})
	dir := t.TempDir()
	files, err := Render(run, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Errorf("files %q, want only report.md, report.html and bench.txt", files)
	}
	md, _ := os.ReadFile(filepath.Join(dir, MarkdownFile))
	if !strings.Contains(string(md), "- `singlecore/hello/closed-c100/w1`: bench serve: exec: not found") {
		t.Errorf("report.md does not list the failed case:\n%s", md)
	}
}

func TestFormat(t *testing.T) {
	for _, tt := range []struct {
		got, want string
	}{
		{numfmt.Sig(0.012345), "0.0123"}, {numfmt.Sig(1.2345), "1.23"}, {numfmt.Sig(12.345), "12.3"}, {numfmt.Sig(123.45), "123"},
		{numfmt.Sig(12345), "12345"}, {numfmt.Sig(0), "0"}, {numfmt.Sig(2), "2"},
		{numfmt.SI(850), "850"}, {numfmt.SI(12345), "12.3k"}, {numfmt.SI(999.7), "1k"}, {numfmt.SI(1234567), "1.23M"},
		{numfmt.Count(1234567), "1,234,567"}, {numfmt.Count(12), "12"}, {numfmt.Count(-1234), "-1,234"},
		{numfmt.Percent(0.1234), "+12.3%"}, {numfmt.Percent(-0.05), "-5%"},
		{cpuList([]int{0, 1, 2, 3, 6, 8, 9}), "0-3,6,8-9"},
		{cpuModel("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz"), "Intel Xeon Gold 6248"},
		{num(21438.4), "21438.4"}, {num(0.901119), "0.901119"}, {num(1e9 / 3), "333333333"},
		{benchName(&results.Case{Model: "prefork-rr", Workload: "cpu", Mode: "open", Connections: 512, Rate: 5000, Workers: 2, KeepAlive: true}),
			"BenchmarkServe/model=prefork-rr/workload=cpu/mode=open/conns=512/rate=5000/workers=2/keepalive=on"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// bench.txt follows the Go benchmark data format (golang.org/design/14313):
// every line is blank, a comment, a "key: value" configuration line, or
// "BenchmarkName iterations value unit [value unit]...". benchstat reads
// exactly that (checked by hand with benchstat from golang.org/x/perf).
func TestBenchTextFormat(t *testing.T) {
	run := loadFixture(t)
	text := benchText(run)
	config := regexp.MustCompile(`^[a-z][^\s:]*: \S.*$`)
	name := regexp.MustCompile(`^Benchmark[A-Z][^\s]*$`)
	lines, benches := 0, 0
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		lines++
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case config.MatchString(l):
		case strings.HasPrefix(l, "Benchmark"):
			benches++
			f := strings.Fields(l)
			if !name.MatchString(f[0]) || regexp.MustCompile(`-\d+$`).MatchString(f[0]) {
				t.Fatalf("bad benchmark name %q", f[0])
			}
			if n, err := strconv.ParseInt(f[1], 10, 64); err != nil || n <= 0 {
				t.Fatalf("bad iteration count in %q", l)
			}
			if len(f)%2 != 0 || len(f) < 4 {
				t.Fatalf("values and units do not pair up in %q", l)
			}
			units := map[string]bool{}
			for i := 2; i < len(f); i += 2 {
				if _, err := strconv.ParseFloat(f[i], 64); err != nil {
					t.Fatalf("bad value %q in %q", f[i], l)
				}
				units[f[i+1]] = true
			}
			for _, u := range []string{"ns/op", "req/s", "p50-ms", "p99-ms", "p99.9-ms", "max-ms", "errors", "server-cpu-us/req"} {
				if !units[u] {
					t.Fatalf("no %s in %q", u, l)
				}
			}
		default:
			t.Fatalf("line %d is neither configuration nor a benchmark: %q", lines, l)
		}
	}
	// One line per measured repeat.
	want := 0
	for _, c := range run.Cases {
		for _, r := range c.Repeats {
			if r.Load.Requests > 0 {
				want++
			}
		}
	}
	if benches != want {
		t.Errorf("%d benchmark lines, want %d (one per measured repeat)", benches, want)
	}
	for _, k := range []string{"goos: linux\n", "goarch: amd64\n", "cpu: AMD EPYC 7B13 64-Core Processor\n", "pkg: github.com/corebench/corebench\n"} {
		if !strings.Contains(text, k) {
			t.Errorf("bench.txt lacks the configuration line %q", k)
		}
	}
}

// A worker sweep with singlecore's own case in it: COST and efficiency
// against that case, USL fitted to the multi-core models only.
func TestRenderWorkerSweep(t *testing.T) {
	run := smallRun("w", smallCase("singlecore/cpu/closed-c64/w1", "workers", "singlecore", "cpu", 1, 64, 1000, 1000))
	for _, m := range []struct {
		model string
		rps   []float64
	}{{"goroutines", []float64{900, 1800, 3400}}, {"prefork-rr", []float64{700, 900, 2400}}} {
		for i, w := range []int{1, 2, 4} {
			run.Cases = append(run.Cases, smallCase(m.model+"/cpu/closed-c64/w"+strconv.Itoa(w), "workers", m.model, "cpu", w, 64, m.rps[i], m.rps[i]))
		}
	}
	run.Profile = "full"
	serverCPUs(run, 4)
	var names []string
	for _, c := range chartNames(run) {
		names = append(names, c)
	}
	if !slices.Equal(names, []string{"scaling-workers-cpu", "cost-cpu"}) {
		t.Errorf("charts %q", names)
	}
	dir := t.TempDir()
	if _, err := Render(run, dir); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, MarkdownFile))
	md := string(b)
	for _, s := range []string{
		"| model | COST (workers) | efficiency at 1 | efficiency at 2 | efficiency at 4 |",
		"| singlecore (baseline: 1k req/s) | – | 1.00 |  |  |",
		"| goroutines | 2 | 0.90 | 0.90 | 0.85 |",
		"| prefork-rr | 4 | 0.70 | 0.45 | 0.60 |",
		"- Scaling with connections: not measured in this profile (full)",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("report.md lacks %q", s)
		}
	}
	// Three worker counts are too few for a law of three parameters.
	if strings.Contains(md, "| singlecore | 1 | not fitted") || !strings.Contains(md, "| goroutines | 6 | not fitted: 3 worker counts measured, a fit needs 4 or more (3 parameters) |") {
		t.Errorf("USL table: want goroutines and prefork-rr not fitted on 6 points each, singlecore left out:\n%s", md)
	}
}

// A run measured by a bench built from a modified tree says so: the
// commit keeps its +dirty, and the environment section and the warnings
// carry a warning.
func TestRenderDirtyBuild(t *testing.T) {
	for _, tt := range []struct{ version, commit, want string }{
		{"dev", "879d53e62544+dirty", "| bench | dev (879d53e62544+dirty) **not a clean commit** |"},
		{"v0.3.0", "3a14013c0ffee5e4d0b1a2f3c4d5e6f708192a3b+dirty", "| bench | v0.3.0 (3a14013c0ffe+dirty) **not a clean commit** |"},
		{"v0.3.0+dirty", "3a14013c0ffe", "| bench | v0.3.0+dirty (3a14013c0ffe) **not a clean commit** |"},
	} {
		run := smallRun("dirty", smallCase("singlecore/hello/closed-c100/w1", "models", "singlecore", "hello", 1, 100, 9000))
		run.Env.Version, run.Env.Commit = tt.version, tt.commit
		md := renderMarkdown(t, run)
		env := md[strings.Index(md, "## Environment"):]
		if !strings.Contains(md, tt.want) || !strings.HasPrefix(env, "## Environment\n\n> **Not a clean build.**") {
			t.Errorf("%s %s: report.md lacks %q or the warning atop its environment:\n%s", tt.version, tt.commit, tt.want, md)
		}
		if w := md[strings.Index(md, "## Warnings"):strings.Index(md, "## Environment")]; !strings.Contains(w, "\n- **Not a clean build.**") {
			t.Errorf("%s: the warnings do not say the build was not clean", tt.commit)
		}
	}
	clean := smallRun("clean", smallCase("singlecore/hello/closed-c100/w1", "models", "singlecore", "hello", 1, 100, 9000))
	clean.Env.Version, clean.Env.Commit = "v0.3.0", "3a14013c0ffee5e4d0b1a2f3c4d5e6f708192a3b"
	if md := renderMarkdown(t, clean); strings.Contains(md, "not a clean") || strings.Contains(md, "Not a clean") || !strings.Contains(md, "| bench | v0.3.0 (3a14013c0ffe) |") {
		t.Errorf("a clean build:\n%s", md)
	}
	// bench compare keeps the +dirty when the commits differ.
	a, b := smallRun("A"), smallRun("B")
	a.Env.Commit, b.Env.Commit = "3a14013c0ffee5e4d0b1a2f3c4d5e6f708192a3b", "3a14013c0ffee5e4d0b1a2f3c4d5e6f708192a3b+dirty"
	var out strings.Builder
	Compare(a, b, Alpha).WriteText(&out)
	if !strings.Contains(out.String(), "commit: 3a14013c0ffe → 3a14013c0ffe+dirty") {
		t.Errorf("bench compare of a clean and a dirty build:\n%s", out.String())
	}
}

// renderMarkdown renders run and returns its report.md.
func renderMarkdown(t *testing.T, run *results.Run) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := Render(run, dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRenderIncompleteSaysSo: a run that stopped early (interrupted,
// killed, out of disk) never reads "every case ran": with no other
// warning it warns of the cases it lacks, and with none measured it says
// that, instead of "the 0 cases measured until then".
func TestRenderIncompleteSaysSo(t *testing.T) {
	one := smallRun("20261122T090000Z-box", smallCase("singlecore/hello/closed-c100/w1", "models", "singlecore", "hello", 1, 100, 9000, 9100))
	empty := smallRun("20261122T090000Z-box")
	for _, r := range []*results.Run{one, empty} {
		r.Complete, r.Planned = false, 10
		r.Placement.Shared = false
	}
	for _, tt := range []struct {
		run  *results.Run
		want []string
	}{
		{one, []string{"> **Incomplete run.** It stopped after 1 of its 10 cases", "**Incomplete run:** 9 of the 10 cases planned were not measured"}},
		{empty, []string{"> **Incomplete run.** It stopped before any case finished", "**Nothing was measured:** the run stopped before its first case finished"}},
	} {
		dir := t.TempDir()
		if _, err := Render(tt.run, dir); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, MarkdownFile))
		if err != nil {
			t.Fatal(err)
		}
		md := string(b)
		if strings.Contains(md, "every case ran") || strings.Contains(md, "the 0 cases") {
			t.Errorf("%d cases, incomplete: the report says every case ran:\n%s", len(tt.run.Cases), md)
		}
		for _, s := range tt.want {
			if !strings.Contains(md, s) {
				t.Errorf("%d cases, incomplete: the report lacks %q:\n%s", len(tt.run.Cases), s, md)
			}
		}
	}
}
