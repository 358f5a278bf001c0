package topology

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/corebench/corebench/internal/affinity"
)

func TestReadFixtures(t *testing.T) {
	tests := []struct {
		name                string
		cpus, cores, pkgs   int
		nodes               []int
		core0, node1, order string // first core's CPUs, node 1's CPUs, CoresFirst of all
		smt                 string
	}{
		{"2socket-smt", 64, 32, 2, []int{0, 1}, "0,32", "16-31,48-63", "0-63", "on"},
		{"neighbours", 16, 8, 1, []int{0}, "0-1", "", "0,2,4,6,8,10,12,14,1,3,5,7,9,11,13,15", "on"},
		{"laptop", 4, 2, 1, []int{0}, "0,2", "", "0-3", "on"},
		{"16core-nosmt", 16, 16, 1, []int{0}, "0", "", "0-15", "notsupported"},
		// As Linux 6.1 wrote them in QEMU guests (internal/vmtest): a
		// core's threads numbered next to each other.
		{"qemu-16cpu-2socket", 16, 8, 2, []int{0, 1}, "0-1", "8-15", "0,2,4,6,8,10,12,14,1,3,5,7,9,11,13,15", "on"},
		{"qemu-64cpu-2socket", 64, 32, 2, []int{0, 1}, "0-1", "32-63",
			"0,2,4,6,8,10,12,14,16,18,20,22,24,26,28,30,32,34,36,38,40,42,44,46,48,50,52,54,56,58,60,62," +
				"1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31,33,35,37,39,41,43,45,47,49,51,53,55,57,59,61,63", "on"},
	}
	for _, tt := range tests {
		topo, err := Read(filepath.Join("testdata", tt.name), nil)
		if err != nil {
			t.Fatal(err)
		}
		cores := topo.Cores()
		if len(topo.CPUs) != tt.cpus || len(cores) != tt.cores || topo.Packages() != tt.pkgs ||
			!slices.Equal(topo.Nodes(), tt.nodes) || topo.SMT != tt.smt || len(topo.Notes) != 0 {
			t.Errorf("%s: %d CPUs, %d cores, %d packages, nodes %v, smt %q, notes %q; want %d, %d, %d, %v, %q, none",
				tt.name, len(topo.CPUs), len(cores), topo.Packages(), topo.Nodes(), topo.SMT, topo.Notes,
				tt.cpus, tt.cores, tt.pkgs, tt.nodes, tt.smt)
		}
		if got := affinity.Format(cores[0]); got != tt.core0 {
			t.Errorf("%s: first core has CPUs %s, want %s", tt.name, got, tt.core0)
		}
		var node1 []int
		for _, c := range topo.CPUs {
			if c.Node == 1 {
				node1 = append(node1, c.ID)
			}
		}
		if got := affinity.Format(node1); got != tt.node1 {
			t.Errorf("%s: node 1 has CPUs %q, want %q", tt.name, got, tt.node1)
		}
		if got := affinity.Format(topo.CoresFirst(topo.IDs())); got != tt.order {
			t.Errorf("%s: CoresFirst = %s, want %s", tt.name, got, tt.order)
		}
	}
}

// TestReadAllowed reads only the CPUs the process may use: a core with
// one allowed thread is a core of one CPU, and the order puts it with
// the first threads.
func TestReadAllowed(t *testing.T) {
	topo, err := Read("testdata/neighbours", []int{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range topo.Cores() {
		got = append(got, affinity.Format(c))
	}
	if strings.Join(got, " ") != "1 2-3 4" {
		t.Errorf("cores %q, want [1 2-3 4]", got)
	}
	if o := affinity.Format(topo.CoresFirst([]int{4, 3, 2, 1, 2})); o != "1-2,4,3" {
		t.Errorf("CoresFirst = %s, want 1,2,4,3", o)
	}
}

// TestReadDegrades: a tree with nothing in it (a VM, another OS) gives
// every allowed CPU a core of its own on one node and says so; with no
// allowed CPUs there is nothing to read, which is an error.
func TestReadDegrades(t *testing.T) {
	dir := t.TempDir()
	topo, err := Read(dir, []int{0, 1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(topo.Cores()) != 3 || !slices.Equal(topo.Nodes(), []int{0}) || topo.SMT != "" || len(topo.Notes) != 2 {
		t.Errorf("empty tree: cores %v, nodes %v, smt %q, notes %q", topo.Cores(), topo.Nodes(), topo.SMT, topo.Notes)
	}
	if _, err := Read(dir, nil); err == nil || !strings.Contains(err.Error(), "no CPUs in "+dir) {
		t.Errorf("empty tree, no allowed CPUs: err %v, want one saying there are no CPUs", err)
	}
	if _, err := Read(filepath.Join(dir, "nonexistent"), nil); err == nil {
		t.Error("a missing root read without error")
	}

	// Without an online file the cpuN directories say which CPUs exist;
	// a CPU on no node is put on node 0 with a note.
	for _, p := range []string{"devices/system/cpu/cpu0/topology", "devices/system/cpu/cpu1", "devices/system/node/node1"} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("devices/system/cpu/cpu0/topology/core_id", "7\n")
	write("devices/system/cpu/cpu0/topology/physical_package_id", "-1\n")
	write("devices/system/node/node1/cpulist", "0\n")
	topo, err = Read(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(topo.IDs(), []int{0, 1}) || topo.CPUs[0].Core != 7 || topo.CPUs[0].Package != 0 ||
		topo.Node(0) != 1 || topo.Node(1) != 0 || topo.Node(5) != -1 || len(topo.Notes) != 2 {
		t.Errorf("partial tree: %+v, notes %q", topo.CPUs, topo.Notes)
	}
}
