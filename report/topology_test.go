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
