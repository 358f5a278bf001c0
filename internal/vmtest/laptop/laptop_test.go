// Package laptop boots a 4-CPU VM (one socket, four cores) and runs what
// a newcomer runs there first.
package laptop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corebench/corebench/internal/vmtest"
	"github.com/corebench/corebench/results"
)

func TestMain(m *testing.M) {
	st := m.Run()
	vmtest.Cleanup()
	os.Exit(st)
}

// TestQuick4CPUs: on a 4-CPU machine a newcomer's `go run ./cmd/bench`,
// which is `bench` alone (bench run --profile quick into
// results/<time>-<host>), measures every case. Before the servers were
// started pinned, and checked their CPUs against their cpuset, every
// case failed here ("CPU 0 is not available here").
func TestQuick4CPUs(t *testing.T) {
	r := vmtest.Boot(t, vmtest.Shape{Sockets: 1, Cores: 4, Threads: 1}, `
bench
st=$?
ls results >dirs.txt
exit $st
`)
	if r.Status != 0 {
		t.Fatalf("bench: exit %d", r.Status)
	}
	dir := strings.TrimSpace(vmtest.File(t, r.Dir, "dirs.txt"))
	run, err := results.Load(filepath.Join(r.Dir, "results", dir))
	if err != nil {
		t.Fatal(err)
	}
	if !run.Complete || run.Profile != "quick" || len(run.Cases) != 10 {
		t.Errorf("run of profile %q complete %v with %d cases, want quick's 10", run.Profile, run.Complete, len(run.Cases))
	}
	for _, c := range run.Cases {
		if c.Error != "" || c.Summary == nil || c.Summary.Requests == 0 {
			t.Errorf("case %s: error %q", c.ID, c.Error)
		}
	}
	if pl := run.Placement; pl.Shared || len(pl.ServerCPUs) != 3 || len(pl.LoadgenCPUs) != 1 {
		t.Errorf("placement on 4 CPUs: %+v", pl)
	}
}
