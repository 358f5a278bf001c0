package report

import (
	"strings"
	"testing"

	"github.com/corebench/corebench/assess"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
)

// TestRenderLimitsAndNoise: every case table has a "limited by" column,
// a case with too few connections is drawn hollow and said so in the
// captions, and machine noise is a warning, in the run-wide governor and
// on the one case where other processes took CPU.
func TestRenderLimitsAndNoise(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	run := smallRun("20261202T020000Z-box",
		smallCase("singlecore/hello/closed-c100/w1", "models", "singlecore", "hello", 1, 100, 9000, 9100),
		smallCase("goroutines/hello/closed-c100/w2", "models", "goroutines", "hello", 2, 100, 15000, 15500),
	)
	run.Env.Noise = results.Noise{Governor: "powersave", Boost: "on"}
	run.Topology = &results.Topology{Source: "/sys", CPUs: 2, Cores: [][]int{{0}, {1}}, Packages: 1,
		Nodes: []results.Node{{ID: 0, CPUs: []int{0, 1}}}, SMT: results.SMTNotExposed}
	noisy := &run.Cases[1]
	noisy.Repeats[0].OtherCPU, noisy.Repeats[0].WallS = f(1.5), 10
	noisy.Repeats[1].OtherCPU, noisy.Repeats[1].WallS = f(0.1), 10
	stats.Summarize(noisy)
	run.Cases[0].Summary.LimitedBy = results.LimitServer
	noisy.Summary.LimitedBy = results.LimitConnections
	assess.Run(run) // the noise; the limits set above stay

	md := renderMarkdown(t, run)
	for _, want := range []string{
		"| errors | server CPU µs/req | server MB | fairness | limited by |",
		"| 0 | 50 | – | – | server cores ‡ |", // the governor is on every case
		"| goroutines | 2 | 100 | 15.2k [15k–15.5k] ↓ |",
		"too few connections ‡ |",
		"Drawn hollow, as flagged: 1 case with too few connections to load the server (↓). Limited by: server cores (1 case), too few connections (1 case)._",
		"_↓ too few connections: neither the server nor the generator was near its CPU",
		"*server cores*: the server used 85% or more of its cores",
		"**Machine noise on every case:** CPU frequency governor powersave, not performance",
		"**Machine noise** (‡ in the tables) in 1 case: `goroutines/hello/closed-c100/w2` (other processes took up to 0.15 of a CPU (over 0.05))",
		"| CPU governor | powersave |",
		"| Turbo/boost | on |",
		"SMT control not exposed; NUMA node 0", // SMT is the topology's
		"| Other processes | at most 0.15 of a CPU during a case (a warning over 0.05, if also over /proc/stat's sampling error) |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if strings.Contains(md, "**Ranking** of the models") {
		t.Errorf("ranked models side by side though one was short of load")
	}

	// A quiet machine on the performance governor: no noise warning.
	run.Env.Noise.Governor = "performance"
	for i := range run.Cases {
		run.Cases[i].Summary.Noise = nil
		run.Cases[i].Repeats[0].OtherCPU = f(0)
	}
	assess.Run(run)
	if md := renderMarkdown(t, run); strings.Contains(md, "Machine noise") || strings.Contains(md, "‡") {
		t.Errorf("noise warned on a quiet machine")
	}
}
