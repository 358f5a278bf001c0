package report

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
)

// smallCase builds a measured case with one repeat per value of rps; p99
// is 1000/rps ms, so faster repeats have lower tails.
func smallCase(id string, sweep results.Sweep, model, workload string, workers, conns int, rps ...float64) results.Case {
	c := results.Case{ID: id, Sweep: sweep, Model: model, Workers: workers, Workload: workload,
		Path: "/" + workload, Mode: "closed", Connections: conns, KeepAlive: true}
	for _, x := range rps {
		var h results.Histogram
		for i := 1; i <= 200; i++ {
			h.Record(int64(float64(i) * 5e6 / x * 10))
		}
		per := map[string]int64{}
		for w := range workers {
			per[results.WorkerKey(w)] = int64(x) * 10 / int64(workers)
		}
		c.Repeats = append(c.Repeats, results.Repeat{
			Load: results.Summary{Requests: int64(x * 10), RPS: x, Latency: results.Latency{P50: 300 / x, P99: 1000 / x, P999: 1500 / x, Max: 2000 / x},
				Histogram: &h, PerWorker: per, Workers: workers, Fairness: stats.Jain(per, workers)},
			ServerCPU: x * 10 * 50e-6,
		})
	}
	stats.Summarize(&c)
	return c
}

func smallRun(id string, cases ...results.Case) *results.Run {
	return &results.Run{Schema: results.SchemaVersion, ID: id, Started: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC),
		Finished: time.Date(2026, 11, 22, 9, 2, 0, 0, time.UTC), Complete: true, Profile: "quick",
		Env:       results.Env{Host: "box", OS: "linux", Arch: "amd64", CPUModel: "Test CPU", CPUs: 2, GoVersion: "go1.24.4"},
		Placement: results.Placement{ServerCPUs: []int{0, 1}, LoadgenCPUs: []int{0, 1}, Shared: true, Note: "shared"},
		Settings:  results.Settings{Duration: 5, Warmup: 1, Repeat: 5, Engine: "fast"},
		Cases:     cases}
}

func TestCompare(t *testing.T) {
	failed := results.Case{ID: "prefork-os/cpu/closed-c100/w2", Sweep: "models", Model: "prefork-os", Workload: "cpu", Error: "listen: address in use"}
	a := smallRun("A",
		smallCase("singlecore/cpu/closed-c100/w1", "models", "singlecore", "cpu", 1, 100, 1000, 1010, 990, 1005, 995),
		smallCase("goroutines/cpu/closed-c100/w2", "models", "goroutines", "cpu", 2, 100, 1900, 1950, 1920, 1880, 1910),
		smallCase("prefork-rr/cpu/closed-c100/w2", "models", "prefork-rr", "cpu", 2, 100, 1800, 1820),
		smallCase("prefork-reuseport/cpu/closed-c100/w2", "models", "prefork-reuseport", "cpu", 2, 100, 1800),
		failed,
	)
	b := smallRun("B",
		// 10% faster, every repeat above every repeat of A: significant.
		smallCase("singlecore/cpu/closed-c100/w1", "models", "singlecore", "cpu", 1, 100, 1100, 1111, 1089, 1105, 1095),
		// Interleaved with A: no change.
		smallCase("goroutines/cpu/closed-c100/w2", "models", "goroutines", "cpu", 2, 100, 1905, 1945, 1915, 1885, 1925),
		// 20% faster but 2 repeats against 2: can never be significant.
		smallCase("prefork-rr/cpu/closed-c100/w2", "models", "prefork-rr", "cpu", 2, 100, 2160, 2184),
		smallCase("prefork-os/cpu/closed-c100/w2", "models", "prefork-os", "cpu", 2, 100, 1700, 1710, 1690),
		smallCase("goroutines/hello/closed-c100/w2", "models", "goroutines", "hello", 2, 100, 9000),
	)
	b.Env.GoVersion = "go1.25.0"
	cmp := Compare(a, b, Alpha)

	if !slices.Equal(cmp.OnlyA, []string{"prefork-reuseport/cpu/closed-c100/w2"}) ||
		!slices.Equal(cmp.OnlyB, []string{"goroutines/hello/closed-c100/w2"}) {
		t.Errorf("only in A %v, only in B %v", cmp.OnlyA, cmp.OnlyB)
	}
	if len(cmp.Rows) != 4 {
		t.Fatalf("%d rows, want 4 (the cases in both runs)", len(cmp.Rows))
	}
	single, gor, rr, os := cmp.Rows[0], cmp.Rows[1], cmp.Rows[2], cmp.Rows[3]
	if !single.RPS.Significant || rel(single.RPS.Delta, 0.1) > 1e-9 || rel(single.RPS.Test.P, 2.0/252) > 1e-9 || single.RPS.NA != 5 || single.RPS.NB != 5 {
		t.Errorf("singlecore: %+v, want +10%% with p = 2/252 over 5+5 repeats", single.RPS)
	}
	if !single.P99.Significant || single.P99.Delta >= 0 {
		t.Errorf("singlecore p99: %+v, want a significant drop", single.P99)
	}
	if gor.RPS.Significant || gor.RPS.Test.P < 0.5 {
		t.Errorf("goroutines: %+v, want no significant change", gor.RPS)
	}
	if rr.RPS.Significant || rel(rr.RPS.Delta, 0.2) > 1e-9 || rel(rr.RPS.Test.P, 1.0/3) > 1e-9 {
		t.Errorf("prefork-rr: %+v, want +20%% not significant with p = 1/3", rr.RPS)
	}
	if os.Failed != "failed in A: listen: address in use" {
		t.Errorf("prefork-os: failed %q", os.Failed)
	}

	var out strings.Builder
	if err := cmp.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"A: A (profile quick, 5 cases, 2026-11-22 09:00 UTC)",
		"go: go1.24.4 → go1.25.0",
		// The interval checked against the Hodges–Lehmann ratio computed
		// from its definition, outside Go.
		"+10% [+8.42% +11.6%] (p=0.008 n=5+5)",
		"~ (+0.262% [-1.82% +2.37%]) (p=0.841 n=5+5)",
		"~ (+20%) (p=0.333 n=2+2, too few to tell)",
		"Note: 1 of the 3 cases have too few repeats: 2 repeats cannot tell these apart; 4 or more per side can reach p<0.05 (the smallest p-value possible is 0.333, not below 0.05; run both with --repeat 4 or more).",
		"Failed (1):\n  prefork-os/cpu/closed-c100/w2: failed in A: listen: address in use",
		"Only in A (1): prefork-reuseport/cpu/closed-c100/w2",
		"Only in B (1): goroutines/hello/closed-c100/w2",
		"Note: 1 of the 3 cases have too few repeats",
		"smallest p-value possible is 0.333",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("comparison lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(text, "geomean of 3 cases") {
		t.Errorf("no geomean line:\n%s", text)
	}
}

// Two quick runs (2 repeats each) never reach significance, and the
// comparison says so once for all cases.
func TestCompareTooFewRepeats(t *testing.T) {
	a := smallRun("A", smallCase("x", "models", "singlecore", "hello", 1, 100, 100, 101))
	b := smallRun("B", smallCase("x", "models", "singlecore", "hello", 1, 100, 200, 201))
	var out strings.Builder
	Compare(a, b, 0).WriteText(&out)
	if !strings.Contains(out.String(), "Note: all cases have too few repeats") || !strings.Contains(out.String(), "~ (+99") {
		t.Errorf("comparison of 2 against 2 repeats:\n%s", out.String())
	}
}

// At a stricter level more repeats are needed: 4 against 4 can never go
// below p = 2/70 = 0.029, so at --alpha 0.01 they cannot tell even
// non-overlapping repeats apart, and 5 per side can.
func TestCompareRepeatsForAlpha(t *testing.T) {
	a := smallRun("A", smallCase("x", "models", "singlecore", "hello", 1, 100, 100, 101, 102, 103))
	b := smallRun("B", smallCase("x", "models", "singlecore", "hello", 1, 100, 200, 201, 202, 203))
	var out strings.Builder
	Compare(a, b, 0.01).WriteText(&out)
	for _, want := range []string{
		"(p=0.029 n=4+4, too few to tell)",
		"4 repeats cannot tell these apart; 5 or more per side can reach p<0.01",
		"run both with --repeat 5 or more",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("comparison at alpha 0.01 lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	Compare(a, b, 0.05).WriteText(&out)
	if strings.Contains(out.String(), "too few") || !strings.Contains(out.String(), "+98") {
		t.Errorf("4 against 4 repeats at 0.05 can be told apart:\n%s", out.String())
	}
	if stats.RepeatsFor(0.05) != 4 || stats.RepeatsFor(0.01) != 5 || stats.RepeatsFor(0.001) != 7 {
		t.Errorf("repeats for 0.05, 0.01, 0.001: %d %d %d, want 4 5 7", stats.RepeatsFor(0.05), stats.RepeatsFor(0.01), stats.RepeatsFor(0.001))
	}
}

// rel is the relative error of got against want.
func rel(got, want float64) float64 {
	if want == 0 {
		return math.Abs(got)
	}
	return math.Abs(got-want) / math.Abs(want)
}

// TestCompareConditions: what differs between the runs beyond the code,
// the profile, the repeats and how they were scheduled, and the machine
// noise each case met, is said before any delta, and a case that met
// noise is marked.
func TestCompareConditions(t *testing.T) {
	a := smallRun("A", smallCase("x", "models", "singlecore", "hello", 1, 100, 100, 101, 99, 100, 102, 98))
	b := interleavedRun("B", smallCase("x", "models", "singlecore", "hello", 1, 100, 200, 201, 199, 200, 202, 198))
	a.Settings.Repeat, b.Settings.Repeat = 2, 6
	b.Profile = "standard"
	other := 0.5
	b.Cases[0].Repeats[1].OtherCPU, b.Cases[0].Repeats[1].WallS = &other, 1
	var out strings.Builder
	Compare(a, b, 0).WriteText(&out)
	text := out.String()
	for _, want := range []string{
		"profile: quick → standard",
		"repeats: 2 → 6",
		"repeats interleaved across models: false → true",
		"machine noise (other processes' CPU or steal, ‡): 0 of the cases compared in A, 1 in B",
		"200 ‡",
		"‡ machine noise (other processes' CPU or steal) during that run's repeats of the case",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("comparison lacks %q:\n%s", want, text)
		}
	}
}
