// Package topology reads which CPUs share a physical core, a package
// (socket) and a NUMA node, from a tree laid out like Linux's /sys.
//
// The root is a parameter so tests, and users planning for another
// machine, can read a fake tree. Nothing here is Linux-only code: off
// Linux, or where the kernel exposes nothing, every CPU is taken as its
// own core on one node, and Notes say so.
package topology

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/corebench/corebench/internal/affinity"
)

// DefaultRoot is where Linux mounts sysfs.
const DefaultRoot = "/sys"

// CPU is one logical CPU: a hardware thread.
type CPU struct {
	ID      int
	Core    int // core_id: unique within a package only
	Package int // physical_package_id
	Node    int // NUMA node
	// Siblings are the CPUs of the same physical core, this one
	// included, whether or not this process may use them.
	Siblings []int
}

// Topology is the CPUs a process may use, with their cores and nodes.
type Topology struct {
	Root  string
	CPUs  []CPU  // ascending by ID
	SMT   string // devices/system/cpu/smt/control; "" where not exposed
	Notes []string
}

// Read reads the topology under root of the CPUs in allowed; with no
// allowed, of every online CPU of the tree. A tree that says nothing is
// an error only when allowed is empty, as there is then nothing to read.
func Read(root string, allowed []int) (*Topology, error) {
	t := &Topology{Root: root}
	cpuDir := filepath.Join(root, "devices/system/cpu")
	if len(allowed) == 0 {
		var err error
		if allowed, err = online(cpuDir); err != nil {
			return nil, fmt.Errorf("no CPUs in %s: %v (want a tree laid out like /sys)", root, err)
		}
	}
	var missing []int
	for _, id := range allowed {
		c, ok := readCPU(cpuDir, id)
		if !ok {
			missing = append(missing, id)
		}
		t.CPUs = append(t.CPUs, c)
	}
	slices.SortFunc(t.CPUs, func(a, b CPU) int { return a.ID - b.ID })
	if len(missing) > 0 {
		t.note("no core topology for CPUs %s in %s: each taken as its own core", affinity.Format(missing), cpuDir)
	}
	t.readNodes(filepath.Join(root, "devices/system/node"))
	if b, err := os.ReadFile(filepath.Join(cpuDir, "smt/control")); err == nil {
		t.SMT = strings.TrimSpace(string(b))
	}
	return t, nil
}

func (t *Topology) note(format string, args ...any) {
	t.Notes = append(t.Notes, fmt.Sprintf(format, args...))
}

// online lists the tree's online CPUs, or its cpuN directories when it
// has no online file.
func online(cpuDir string) ([]int, error) {
	if b, err := os.ReadFile(filepath.Join(cpuDir, "online")); err == nil {
		return affinity.ParseList(string(b))
	}
	entries, err := os.ReadDir(cpuDir)
	if err != nil {
		return nil, err
	}
	var ids []int
	for _, e := range entries {
		if m := cpuName.FindStringSubmatch(e.Name()); m != nil && e.IsDir() {
			id, _ := strconv.Atoi(m[1])
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, errors.New("no online file and no cpuN directory")
	}
	slices.Sort(ids)
	return ids, nil
}

var cpuName = regexp.MustCompile(`^cpu([0-9]+)$`)

// readCPU reads one CPU's topology directory; ok is false when it is
// missing, and the CPU is then its own core on package 0.
func readCPU(cpuDir string, id int) (CPU, bool) {
	c := CPU{ID: id, Core: id, Siblings: []int{id}}
	dir := filepath.Join(cpuDir, fmt.Sprintf("cpu%d", id), "topology")
	core, err1 := readInt(filepath.Join(dir, "core_id"))
	pkg, err2 := readInt(filepath.Join(dir, "physical_package_id"))
	// core_cpus_list is the current name; thread_siblings_list the old
	// one, still present on current kernels.
	sib, err3 := readList(filepath.Join(dir, "core_cpus_list"))
	if err3 != nil {
		sib, err3 = readList(filepath.Join(dir, "thread_siblings_list"))
	}
	if err1 != nil && err3 != nil {
		return c, false
	}
	if err1 == nil {
		c.Core = core
	}
	if err2 == nil && pkg >= 0 { // -1 where the firmware does not say
		c.Package = pkg
	}
	if err3 == nil && slices.Contains(sib, id) {
		c.Siblings = sib
	}
	return c, true
}

// readNodes assigns each CPU its NUMA node; without node information
// every CPU is on node 0.
func (t *Topology) readNodes(nodeDir string) {
	entries, err := os.ReadDir(nodeDir)
	node := map[int]int{}
	for _, e := range entries {
		id, ok := strings.CutPrefix(e.Name(), "node")
		n, err := strconv.Atoi(id)
		if !ok || err != nil {
			continue
		}
		cpus, err := readList(filepath.Join(nodeDir, e.Name(), "cpulist"))
		if err != nil {
			continue // a memory-only node has an empty cpulist
		}
		for _, c := range cpus {
			node[c] = n
		}
	}
	if err != nil || len(node) == 0 {
		t.note("no NUMA nodes in %s: all CPUs taken as one node", nodeDir)
		return
	}
	var missing []int
	for i := range t.CPUs {
		n, ok := node[t.CPUs[i].ID]
		if !ok {
			missing = append(missing, t.CPUs[i].ID)
		}
		t.CPUs[i].Node = n
	}
	if len(missing) > 0 {
		t.note("CPUs %s are on no NUMA node in %s: taken as node 0", affinity.Format(missing), nodeDir)
	}
}

func readInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func readList(path string) ([]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return affinity.ParseList(string(b))
}

// IDs returns the CPU numbers, ascending.
func (t *Topology) IDs() []int {
	ids := make([]int, len(t.CPUs))
	for i, c := range t.CPUs {
		ids[i] = c.ID
	}
	return ids
}

// Cores returns the physical cores: the CPUs of t on each, ascending,
// the cores in order of their first CPU. Two CPUs are on one core when
// their sibling lists say so.
func (t *Topology) Cores() [][]int {
	var cores [][]int
	index := map[string]int{}
	for _, c := range t.CPUs {
		key := affinity.Format(c.Siblings)
		i, ok := index[key]
		if !ok {
			i = len(cores)
			index[key] = i
			cores = append(cores, nil)
		}
		cores[i] = append(cores[i], c.ID)
	}
	return cores
}

// Node returns the NUMA node of cpu, or -1 when cpu is not in t.
func (t *Topology) Node(cpu int) int {
	if c, ok := t.cpu(cpu); ok {
		return c.Node
	}
	return -1
}

func (t *Topology) cpu(id int) (CPU, bool) {
	i, ok := slices.BinarySearchFunc(t.CPUs, id, func(c CPU, id int) int { return c.ID - id })
	if !ok {
		return CPU{}, false
	}
	return t.CPUs[i], true
}

// Nodes returns the NUMA node numbers, ascending.
func (t *Topology) Nodes() []int {
	var ns []int
	for _, c := range t.CPUs {
		if !slices.Contains(ns, c.Node) {
			ns = append(ns, c.Node)
		}
	}
	slices.Sort(ns)
	return ns
}

// Packages returns how many packages (sockets) the CPUs are on.
func (t *Topology) Packages() int {
	var ps []int
	for _, c := range t.CPUs {
		if !slices.Contains(ps, c.Package) {
			ps = append(ps, c.Package)
		}
	}
	return len(ps)
}

// CoresFirst orders cpus so that the first CPU of every physical core
// comes before any core's second, and so on: a list that workers are
// pinned to round-robin then gives each worker a core of its own before
// any two share one. Within a round CPUs keep ascending order; CPUs not
// in t count as cores of their own.
func (t *Topology) CoresFirst(cpus []int) []int {
	rank := map[int]int{} // how many CPUs of the same core precede it
	seen := map[string]int{}
	sorted := slices.Compact(slices.Sorted(slices.Values(cpus)))
	for _, id := range sorted {
		key := strconv.Itoa(id)
		if c, ok := t.cpu(id); ok {
			key = affinity.Format(c.Siblings)
		}
		rank[id] = seen[key]
		seen[key]++
	}
	slices.SortStableFunc(sorted, func(a, b int) int { return rank[a] - rank[b] })
	return sorted
}
