package report

import (
	"strings"
	"testing"

	"github.com/corebench/corebench/results"
)

func TestTopologyText(t *testing.T) {
	topo := &results.Topology{Source: "testdata/box", CPUs: 6, Cores: [][]int{{0, 3}, {1, 4}, {2}}, Packages: 1,
		Nodes: []results.Node{{ID: 0, CPUs: []int{0, 1, 3, 4}}, {ID: 1, CPUs: []int{2}}}, SMT: "on",
		Notes: []string{"no core topology for CPUs 2"}}
	want := "6 CPUs on 3 physical cores (1 to 2 threads each), 1 package, SMT on; NUMA nodes 0: 0-1,3-4, 1: 2; " +
		"read from testdata/box; no core topology for CPUs 2"
	if got := TopologyText(topo); got != want {
		t.Errorf("TopologyText =\n%s\nwant\n%s", got, want)
	}
	topo.SMT = "notsupported"
	if got := TopologyText(topo); !strings.Contains(got, "1 package, no SMT;") {
		t.Errorf("smt notsupported: %s", got)
	}
	if TopologyText(nil) != "" {
		t.Error("no topology described")
	}
}

// TestRenderTopology: the environment section shows the topology and the
// placement policy of runs that recorded one, and not of older runs,
// which were placed by another rule.
func TestRenderTopology(t *testing.T) {
	run := simulatedRun()
	run.Topology = &results.Topology{Source: "/sys", CPUs: 8, Cores: [][]int{{0, 4}, {1, 5}, {2, 6}, {3, 7}},
		Packages: 1, Nodes: []results.Node{{ID: 0, CPUs: []int{0, 1, 2, 3, 4, 5, 6, 7}}}, SMT: "on"}
	md := renderMarkdown(t, run)
	env := md[strings.Index(md, "## Environment"):]
	if !strings.Contains(env, "| Topology | 8 CPUs on 4 physical cores (2 threads each), 1 package, SMT on; NUMA node 0: 0-7 |") ||
		!strings.Contains(env, "| Placement policy | Unless `--server-cpus`") {
		t.Errorf("environment lacks the topology or the policy:\n%s", env)
	}
	run.Topology = nil
	if md := renderMarkdown(t, run); strings.Contains(md, "Placement policy") {
		t.Error("a run without topology shows today's placement policy")
	}
}

// TestGeneratorShareChecked: the placement's share of CPUs for the
// generator is checked against the run's own costs on its cheapest case,
// and a share smaller than that case needed is said in bold; a shared
// placement, where the question does not arise, has no such row.
func TestGeneratorShareChecked(t *testing.T) {
	one := func(v float64) results.Spread { return results.Spread{N: 1, Median: v, Min: v, Max: v} }
	mk := func(id string, rps, genCores, srvUs float64) results.Case {
		return results.Case{ID: id, Sweep: results.SweepModels, Model: "goroutines", Workload: "hello", KeepAlive: true,
			Summary: &results.CaseSummary{RPS: one(rps), LoadgenCores: one(genCores), ServerCPUPerReq: one(srvUs)}}
	}
	run := &results.Run{
		Placement: results.Placement{ServerCPUs: []int{0, 1, 2}, LoadgenCPUs: []int{3}},
		// The cheapest: 0.9 cores for 100k req/s is 9 µs a request
		// against the server's 13: it needed 9/22 = 40.9%, it had 25%.
		Cases: []results.Case{mk("dear", 10000, 0.1, 300), mk("cheap", 100000, 0.9, 13)},
	}
	got := generatorShareText(run)
	for _, want := range []string{"(cheap)", "9 µs", "13 µs", "40.9% of the CPUs", "had 25%", "**less than it needed"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	run.Placement.LoadgenCPUs = []int{3, 4, 5}
	if got := generatorShareText(run); strings.Contains(got, "less than") || !strings.Contains(got, "had 50%") {
		t.Errorf("with half the CPUs: %q", got)
	}
	run.Placement.Shared = true
	if got := generatorShareText(run); got != "" {
		t.Errorf("shared cores: %q", got)
	}
}
