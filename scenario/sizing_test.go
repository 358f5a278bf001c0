package scenario

import (
	"testing"
	"time"

	"github.com/corebench/corebench/internal/affinity"
)

// TestSizing: max and max-1 workers are measured, the neighbour beside
// the two runs that have it, and only there.
func TestSizing(t *testing.T) {
	t.Parallel()
	if cpus, _ := affinity.Allowed(); len(cpus) < 2 {
		t.Skip("the sizing scenario needs 2 CPUs")
	}
	r, _ := mustRun(t, Sizing{Duration: time.Second, Connections: 8})
	sz := r.Sizing
	if sz == nil || len(sz.Runs) != 3 || sz.NeighborQPS <= 0 || sz.NeighborCPU < 1 || sz.Path != SizingPath || r.Model != DefaultModel.Name {
		t.Fatalf("sizing of %s: %+v", r.Model, sz)
	}
	for i, run := range sz.Runs {
		want := sz.CPUs
		if i == 2 {
			want = sz.CPUs - 1
		}
		if run.Workers != want || run.RPS <= 0 || run.Neighbor != (i > 0) || (run.NeighborQPS > 0) != run.Neighbor {
			t.Errorf("%s: %+v, want %d workers", run.Setup, run, want)
		}
	}
}
