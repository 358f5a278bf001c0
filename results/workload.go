package results

import (
	"fmt"
	"slices"
	"strings"
)

// Workload is a request a run measures: the name results, flags and the
// report call it, and the path of the shared handler it asks for.
type Workload struct {
	Name string // "hello", "json", ...
	Path string // "/", "/json", ...
}

// workloads is the table, in the order the report's sections come.
var workloads = []Workload{
	{Name: "hello", Path: "/"},
	{Name: "json", Path: "/json"},
	{Name: "cpu", Path: "/cpu"},
	{Name: "io", Path: "/io"},
}

// Workloads returns every workload in report order.
func Workloads() []Workload { return slices.Clone(workloads) }

// ParseWorkload returns the workload called name, or an error that lists
// the valid names.
func ParseWorkload(name string) (Workload, error) {
	if i := WorkloadRank(name); i < len(workloads) {
		return workloads[i], nil
	}
	names := make([]string, len(workloads))
	for i, w := range workloads {
		names[i] = w.Name
	}
	return Workload{}, fmt.Errorf("unknown workload %q: want %s", name, strings.Join(names, ", "))
}

// WorkloadRank is where the workload called name comes in report order;
// any other comes after them all.
func WorkloadRank(name string) int {
	if i := slices.IndexFunc(workloads, func(w Workload) bool { return w.Name == name }); i >= 0 {
		return i
	}
	return len(workloads)
}
