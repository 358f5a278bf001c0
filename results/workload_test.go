package results

import (
	"strings"
	"testing"
)

// TestWorkloads: every workload parses back to itself, ranks in table
// order, and an unknown one is refused with the valid names.
func TestWorkloads(t *testing.T) {
	for i, w := range Workloads() {
		got, err := ParseWorkload(w.Name)
		if err != nil || got != w || WorkloadRank(w.Name) != i || !strings.HasPrefix(w.Path, "/") {
			t.Errorf("%+v: parsed %+v, %v; rank %d", w, got, err, WorkloadRank(w.Name))
		}
	}
	_, err := ParseWorkload("nope")
	if err == nil || !strings.Contains(err.Error(), "hello, json, cpu, io") {
		t.Errorf("unknown workload: %v", err)
	}
}
