package results

// Topology is the CPU layout a run was planned for: which CPUs share a
// physical core and a NUMA node. It is optional in results.json (runs
// before it have none), so adding it did not change SchemaVersion.
type Topology struct {
	Source   string   `json:"source"`   // the sysfs tree read: /sys, or bench run --sysfs DIR
	CPUs     int      `json:"cpus"`     // CPUs the run could use
	Cores    [][]int  `json:"cores"`    // each physical core's usable CPUs, by first CPU
	Packages int      `json:"packages"` // sockets
	Nodes    []Node   `json:"nodes"`
	SMT      string   `json:"smt"`             // devices/system/cpu/smt/control, or "not exposed"
	Notes    []string `json:"notes,omitempty"` // what the tree did not say, and what was assumed
}

// Node is one NUMA node: the usable CPUs nearest one bank of memory.
type Node struct {
	ID   int   `json:"id"`
	CPUs []int `json:"cpus"`
}

// SMTNotExposed is Topology.SMT where the kernel has no SMT control.
const SMTNotExposed = NotExposed
