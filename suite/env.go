package suite

import (
	"bufio"
	"cmp"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/corebench/corebench/assess"
	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/internal/topology"
	"github.com/corebench/corebench/internal/virt"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/variant"
)

// Environment describes this machine for the results.
func Environment(version, commit, commandLine string) results.Env {
	host, _ := os.Hostname()
	return results.Env{
		Host: host, OS: runtime.GOOS, Arch: runtime.GOARCH, Kernel: kernel(),
		CPUModel: cpuModel(), CPUs: runtime.NumCPU(), MemoryMB: memTotalKB() / 1024,
		GoVersion: runtime.Version(), Version: version, Commit: commit, CommandLine: commandLine,
		Virtualization: VirtualizationOf("/"),
	}
}

// VirtualizationOf is the record of whether the machine whose /proc and
// /sys lie under root ("/" for this one; a fake tree in tests) is
// virtual (see virt.Detect); nil off Linux, where they do not exist.
// Its steal during the repeats is the run's, set by Run after each case.
func VirtualizationOf(root string) *results.Virtualization {
	if runtime.GOOS != "linux" {
		return nil
	}
	v := virt.Detect(root)
	r := &results.Virtualization{Virtualized: v.Virtualized, Hypervisor: v.Hypervisor, Emulated: v.Emulated,
		OnlineCPUs: v.OnlineCPUs, Evidence: v.Evidence}
	if v.StealOK {
		r.StealSinceBoot = &v.StealSinceBoot
	}
	return r
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func cpuModel() string {
	return procField("/proc/cpuinfo", "model name", "unknown")
}

func memTotalKB() int64 {
	v, _ := strconv.ParseInt(strings.Fields(procField("/proc/meminfo", "MemTotal", "0 kB"))[0], 10, 64)
	return v
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(path, key, def string) string {
	f, err := os.Open(path)
	if err != nil {
		return def
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return def
}

// TopologyRecord is t as results.json records it.
func TopologyRecord(t *topology.Topology) *results.Topology {
	r := &results.Topology{Source: t.Root, CPUs: len(t.CPUs), Cores: t.Cores(), Packages: t.Packages(),
		SMT: cmp.Or(t.SMT, results.SMTNotExposed), Notes: t.Notes}
	for _, n := range t.Nodes() {
		var cpus []int
		for _, c := range t.CPUs {
			if c.Node == n {
				cpus = append(cpus, c.ID)
			}
		}
		r.Nodes = append(r.Nodes, results.Node{ID: n, CPUs: cpus})
	}
	return r
}

// ServersOf is the record of the external servers among vs.
func ServersOf(vs []variant.Variant) []results.Server {
	var out []results.Server
	for _, v := range vs {
		if v.External() {
			out = append(out, results.Server{Name: v.Name, Command: v.Command, Ready: v.Ready})
		}
	}
	return out
}

// Place decides which CPUs the servers and the load generator use.
// Explicit lists win; given one, the other gets the rest. Given neither,
// on 4 or more CPUs and 2 or more physical cores:
//   - the generator gets whole physical cores, so it never shares one
//     with a server through hardware threads;
//   - as many as it needs to keep up with the cheapest workload, from the
//     measured costs above: gen/(gen+server) of the CPUs, rounded to
//     whole cores and kept within 15% to 50%;
//   - on one NUMA node when they fit in one (the highest-numbered that
//     can hold them, and its highest-numbered cores), so its memory and
//     caches stay on one socket;
//   - the servers get the rest.
//
// Either way the servers' list is in CoresFirst order: the first thread
// of every core before any second, so workers pinned round-robin from it
// get whole cores first.
//
// On fewer CPUs, or one core, the servers and the generator share every
// CPU, and the note says what that means for the figures.
func Place(t *topology.Topology, server, loadgen []int) results.Placement {
	allowed := t.IDs()
	minus := func(a, b []int) []int {
		var out []int
		for _, c := range a {
			if !slices.Contains(b, c) {
				out = append(out, c)
			}
		}
		return out
	}
	why := "as given"
	switch {
	case len(server) > 0 && len(loadgen) > 0:
	case len(server) > 0:
		if loadgen = minus(allowed, server); len(loadgen) == 0 {
			loadgen = allowed
		}
	case len(loadgen) > 0:
		if server = minus(allowed, loadgen); len(server) == 0 {
			server = allowed
		}
	case len(allowed) >= 4 && len(t.Cores()) >= 2:
		server, loadgen, why = split(t)
	default:
		server, loadgen = allowed, allowed
	}
	p := results.Placement{ServerCPUs: t.CoresFirst(server), LoadgenCPUs: loadgen}
	for _, c := range server {
		if slices.Contains(loadgen, c) {
			p.Shared = true
		}
	}
	if p.Shared {
		p.Note = "servers and the load generator share CPUs " + affinity.Format(allowed) +
			": the generator's work takes CPU from the servers, so compare ratios between models, not absolute figures across machines"
		switch {
		case len(allowed) < 4:
			p.Note += " (with fewer than 4 CPUs there is none to spare for the generator)"
		case len(t.Cores()) < 2:
			p.Note += " (with one physical core the generator cannot have one of its own)"
		}
		return p
	}
	p.Note = fmt.Sprintf("servers on CPUs %s (%s), load generator on CPUs %s (%s, %.0f%% of the CPUs): %s",
		affinity.Format(p.ServerCPUs), coresOf(t, server), affinity.Format(loadgen), coresOf(t, loadgen),
		100*float64(len(loadgen))/float64(len(allowed)), why)
	if split := splitCores(t, server, loadgen); len(split) > 0 {
		p.Note += "; CPUs " + affinity.Format(split) + " are hardware threads of physical cores split between the servers and the generator, " +
			"which then compete for those cores' execution units"
	}
	return p
}

// split gives the generator whole cores on one node, as Place says.
func split(t *topology.Topology) (server, loadgen []int, why string) {
	cores := t.Cores()
	n := len(t.CPUs)
	share := assess.GeneratorMicros / (assess.GeneratorMicros + assess.ServerMicros)
	perCore := float64(n) / float64(len(cores))
	k := int(math.Round(share * float64(n) / perCore))
	bound := ""
	switch {
	case float64(k)*perCore < assess.MinLoadgenShare*float64(n):
		k, bound = int(math.Ceil(assess.MinLoadgenShare*float64(n)/perCore)), fmt.Sprintf(", raised to the %g%% floor", 100*assess.MinLoadgenShare)
	case float64(k)*perCore > assess.MaxLoadgenShare*float64(n):
		k, bound = int(math.Floor(assess.MaxLoadgenShare*float64(n)/perCore)), fmt.Sprintf(", cut to the %g%% ceiling", 100*assess.MaxLoadgenShare)
	}
	k = min(max(k, 1), len(cores)-1)

	// Candidates: the highest-numbered node with k cores, its highest
	// cores first; failing that, every node from the highest down.
	var pick [][]int
	nodes := t.Nodes()
	where := ""
	for i := len(nodes) - 1; i >= 0 && pick == nil; i-- {
		var on [][]int
		for _, c := range cores {
			if t.Node(c[0]) == nodes[i] {
				on = append(on, c)
			}
		}
		if len(on) >= k {
			pick = on[len(on)-k:]
			if len(nodes) > 1 {
				where = fmt.Sprintf(", all on NUMA node %d", nodes[i])
			}
		}
	}
	if pick == nil {
		slices.SortStableFunc(cores, func(a, b []int) int { return t.Node(a[0]) - t.Node(b[0]) })
		pick = cores[len(cores)-k:]
		where = fmt.Sprintf(", spread over NUMA nodes as no node has %d cores", k)
	}
	for _, c := range pick {
		loadgen = append(loadgen, c...)
	}
	slices.Sort(loadgen)
	for _, c := range t.IDs() {
		if !slices.Contains(loadgen, c) {
			server = append(server, c)
		}
	}
	why = fmt.Sprintf("whole cores each, so no physical core is split between them%s; "+
		"the generator's share is from measured costs: about %.1f µs of generator CPU per hello request against %.0f µs for a Go server "+
		"(docs/performance.md), so it needs %.0f%% of the CPUs to keep up with the cheapest workload, rounded to whole cores%s; "+
		"the servers' list puts the first thread of every core before any second, so workers get whole cores first",
		where, assess.GeneratorMicros, assess.ServerMicros, 100*share, bound)
	return server, loadgen, why
}

// coresOf says how many physical cores cpus are on.
func coresOf(t *topology.Topology, cpus []int) string {
	n := 0
	for _, c := range t.Cores() {
		if slices.ContainsFunc(c, func(id int) bool { return slices.Contains(cpus, id) }) {
			n++
		}
	}
	if n == 1 {
		return "1 core"
	}
	return fmt.Sprintf("%d cores", n)
}

// splitCores returns the CPUs of physical cores that have threads in
// both a and b, where neither CPU is in both.
func splitCores(t *topology.Topology, a, b []int) []int {
	var out []int
	for _, c := range t.Cores() {
		inA := slices.ContainsFunc(c, func(id int) bool { return slices.Contains(a, id) && !slices.Contains(b, id) })
		inB := slices.ContainsFunc(c, func(id int) bool { return slices.Contains(b, id) && !slices.Contains(a, id) })
		if inA && inB {
			out = append(out, c...)
		}
	}
	slices.Sort(out)
	return out
}
