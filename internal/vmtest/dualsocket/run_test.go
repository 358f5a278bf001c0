// Package dualsocket boots a 16-CPU VM (2 sockets × 4 cores × 2 threads,
// 2 NUMA nodes) and runs the whole suite there.
package dualsocket

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

// TestRun16CPUs: the smoke profile with every model, every workload and
// a --server that forks workers measures every case; every process runs
// where the placement says, and the placement is the dry run's.
func TestRun16CPUs(t *testing.T) {
	shape := vmtest.Shape{Sockets: 2, Cores: 4, Threads: 2, Nodes: 2}
	r := vmtest.Boot(t, shape, vmtest.RunScript("run", "--profile smoke --models "+vmtest.EveryModel+
		" --workloads hello,json,cpu,io --server "+vmtest.Quote(vmtest.ExtServer)))
	if r.Status != 0 {
		t.Fatalf("bench run: exit %d", r.Status)
	}
	run := vmtest.CheckRun(t, r.Dir, shape, "run", 7*4)
	vmtest.CheckVirtual(t, r, run, vmtest.File(t, r.Dir, "run/report.md"))
	vmtest.CheckFixture(t, r.Dir, "qemu-16cpu-2socket")
}
