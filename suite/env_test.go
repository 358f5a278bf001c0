package suite

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/internal/topology"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/variant"
)

func readTopology(t *testing.T, fixture string) *topology.Topology {
	t.Helper()
	topo, err := topology.Read(filepath.Join("../internal/topology/testdata", fixture), nil)
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// flat is a machine that exposes no topology: each CPU its own core.
func flat(t *testing.T, n int) *topology.Topology {
	t.Helper()
	cpus := make([]int, n)
	for i := range cpus {
		cpus[i] = i
	}
	topo, err := topology.Read(t.TempDir(), cpus)
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// TestPlaceFixtures: on every fixture the generator gets whole cores,
// 15% to 50% of the CPUs, on one NUMA node, and the servers' list has
// each core's first thread before any second.
func TestPlaceFixtures(t *testing.T) {
	for _, tt := range []struct{ fixture, server, loadgen string }{
		{"2socket-smt", "0-20,32-52", "21-31,53-63"},
		{"neighbours", "0,2,4,6,8,1,3,5,7,9", "10-15"},
		{"laptop", "0,2", "1,3"},
		{"16core-nosmt", "0-10", "11-15"},
	} {
		topo := readTopology(t, tt.fixture)
		p := Place(topo, nil, nil)
		if got := affinity.Format(p.ServerCPUs); got != tt.server || affinity.Format(p.LoadgenCPUs) != tt.loadgen || p.Shared {
			t.Errorf("%s: servers %s, generator %s, shared %v; want %s, %s, not shared",
				tt.fixture, got, affinity.Format(p.LoadgenCPUs), p.Shared, tt.server, tt.loadgen)
		}
		if share := float64(len(p.LoadgenCPUs)) / float64(len(topo.CPUs)); share < 0.15 || share > 0.5 {
			t.Errorf("%s: generator has %.0f%% of the CPUs", tt.fixture, 100*share)
		}
		if split := splitCores(topo, p.ServerCPUs, p.LoadgenCPUs); len(split) > 0 {
			t.Errorf("%s: cores of CPUs %v split between servers and generator", tt.fixture, split)
		}
		nodes := map[int]bool{}
		for _, c := range p.LoadgenCPUs {
			nodes[topo.Node(c)] = true
		}
		if len(nodes) != 1 {
			t.Errorf("%s: generator on nodes %v", tt.fixture, nodes)
		}
		if !strings.Contains(p.Note, "docs/performance.md") || !strings.Contains(p.Note, "whole cores") {
			t.Errorf("%s: note does not say which rule decided: %s", tt.fixture, p.Note)
		}
	}
}

func TestPlace(t *testing.T) {
	// Without topology every CPU is a core: a third of 8 is 3 CPUs.
	p := Place(flat(t, 8), nil, nil)
	if !slices.Equal(p.ServerCPUs, []int{0, 1, 2, 3, 4}) || !slices.Equal(p.LoadgenCPUs, []int{5, 6, 7}) || p.Shared {
		t.Errorf("8 CPUs: %+v", p)
	}
	// A third of 4 rounds to 1 CPU, 25%; of 32 to 11, 34%.
	if p = Place(flat(t, 4), nil, nil); !slices.Equal(p.LoadgenCPUs, []int{3}) {
		t.Errorf("4 CPUs: %+v", p)
	}
	if p = Place(flat(t, 32), nil, nil); affinity.Format(p.LoadgenCPUs) != "21-31" {
		t.Errorf("32 CPUs: %+v", p)
	}
	p = Place(flat(t, 2), nil, nil)
	if !p.Shared || !strings.Contains(p.Note, "share") || !strings.Contains(p.Note, "fewer than 4") {
		t.Errorf("2 CPUs: %+v", p)
	}
	p = Place(flat(t, 4), []int{1, 2, 3}, nil)
	if !slices.Equal(p.LoadgenCPUs, []int{0}) || p.Shared || !strings.Contains(p.Note, "as given") {
		t.Errorf("--server-cpus 1-3: %+v", p)
	}
	if p = Place(flat(t, 2), nil, []int{0}); !slices.Equal(p.ServerCPUs, []int{1}) {
		t.Errorf("--loadgen-cpus 0: %+v", p)
	}
}

// TestPlaceOneCore: four threads of one core cannot be split without
// sharing it, so they are shared as two CPUs are.
func TestPlaceOneCore(t *testing.T) {
	topo := flat(t, 4)
	for i := range topo.CPUs {
		topo.CPUs[i].Siblings = []int{0, 1, 2, 3}
	}
	if p := Place(topo, nil, nil); !p.Shared || !strings.Contains(p.Note, "one physical core") {
		t.Errorf("one core of 4 threads: %+v", p)
	}
}

// TestPlaceExplicit: explicit lists win even when they split a core,
// and the note says so; the servers' list is still ordered cores first.
func TestPlaceExplicit(t *testing.T) {
	topo := readTopology(t, "neighbours")
	p := Place(topo, []int{0, 1, 2, 3, 4}, []int{5, 6, 7})
	if affinity.Format(p.ServerCPUs) != "0,2,4,1,3" || p.Shared || !strings.Contains(p.Note, "CPUs 4-5 are hardware threads of physical cores split") {
		t.Errorf("servers 0-4, generator 5-7: %+v", p)
	}
}

// TestPlaceAcrossNodes: when no node holds the generator's cores it is
// spread, and the note says why.
func TestPlaceAcrossNodes(t *testing.T) {
	topo := flat(t, 8)
	for i := range topo.CPUs {
		topo.CPUs[i].Node = i / 2 // four nodes of two CPUs
	}
	p := Place(topo, nil, nil)
	if !slices.Equal(p.LoadgenCPUs, []int{5, 6, 7}) || !strings.Contains(p.Note, "spread over NUMA nodes as no node has 3 cores") {
		t.Errorf("4 nodes of 2: %+v", p)
	}
}

func TestTopologyRecord(t *testing.T) {
	r := TopologyRecord(readTopology(t, "2socket-smt"))
	if r.CPUs != 64 || len(r.Cores) != 32 || !slices.Equal(r.Cores[0], []int{0, 32}) || r.Packages != 2 ||
		len(r.Nodes) != 2 || affinity.Format(r.Nodes[1].CPUs) != "16-31,48-63" || r.SMT != "on" {
		t.Errorf("2socket-smt: %+v", r)
	}
	if r := TopologyRecord(flat(t, 2)); r.SMT != "not exposed" || len(r.Notes) != 2 {
		t.Errorf("empty tree: %+v", r)
	}
}

// TestServersOf: the run records its external servers, as given, and no
// built-in variant.
func TestServersOf(t *testing.T) {
	node, _ := variant.ParseServer("node=node server.js --port {port}")
	py, _ := variant.ParseServer("py=python3 server.py --port {port}")
	py.Ready = "^listening on"
	rs := ServersOf(append(variant.All(), node, py))
	if len(rs) != 2 || rs[1] != (results.Server{Name: "py", Command: "python3 server.py --port {port}", Ready: "^listening on"}) {
		t.Errorf("ServersOf = %+v", rs)
	}
}
