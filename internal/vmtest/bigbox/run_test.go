// Package bigbox boots a 64-CPU VM (2 sockets × 16 cores × 2 threads,
// 2 NUMA nodes) and runs the suite there, with a worker sweep past the
// CPUs.
package bigbox

import (
	"os"
	"testing"

	"github.com/corebench/corebench/internal/vmtest"
)

func TestMain(m *testing.M) {
	st := m.Run()
	vmtest.Cleanup()
	os.Exit(st)
}

// TestRun64CPUs: every model and a --server that forks workers on /,
// then prefork-rr's worker sweep on /cpu to 2× the server CPUs, each
// case measured, each process where the placement says. (Every workload
// is run on 16 CPUs: here a case costs about ten seconds of emulation.)
func TestRun64CPUs(t *testing.T) {
	shape := vmtest.Shape{Sockets: 2, Cores: 16, Threads: 2, Nodes: 2, MemoryMB: 4096}
	r := vmtest.Boot(t, shape, vmtest.RunScript("run", "--profile smoke --models "+vmtest.EveryModel+
		" --workloads hello --server "+vmtest.Quote(vmtest.ExtServer))+
		vmtest.RunScript("sweep", "--profile smoke --models prefork-rr --workloads cpu --worker-sweep"))
	if r.Status != 0 {
		t.Fatalf("bench run: exit %d", r.Status)
	}
	vmtest.CheckRun(t, r.Dir, shape, "run", 7)
	run := vmtest.CheckRun(t, r.Dir, shape, "sweep", 9)
	most := 0
	for _, c := range run.Cases {
		most = max(most, c.Workers)
	}
	if want := 2 * len(run.Placement.ServerCPUs); most != want {
		t.Errorf("the sweep went to %d workers, want 2 × %d server CPUs", most, len(run.Placement.ServerCPUs))
	}
	vmtest.CheckFixture(t, r.Dir, "qemu-64cpu-2socket")
}
