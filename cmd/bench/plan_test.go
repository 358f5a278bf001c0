package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/results"
)

// fixtureDirs are the hand-made trees and those a real kernel wrote in
// the many-core VM tests (internal/vmtest).
var fixtureDirs = []string{"2socket-smt", "neighbours", "laptop", "16core-nosmt", "qemu-16cpu-2socket", "qemu-64cpu-2socket"}

func fixtureDir(name string) string { return filepath.Join("../../internal/topology/testdata", name) }

// mainOut runs bench in this process, as a dry run starts nothing.
func mainOut(args ...string) (status int, stdout, stderr string) {
	var out, errb strings.Builder
	status = Main(args, &out, &errb)
	return status, out.String(), errb.String()
}

func dryRun(t *testing.T, args ...string) plan {
	t.Helper()
	st, out, errs := mainOut(append([]string{"run", "--dry-run", "--json"}, args...)...)
	if st != 0 {
		t.Fatalf("bench run --dry-run --json %s: status %d\n%s", strings.Join(args, " "), st, errs)
	}
	var p plan
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return p
}

// TestDryRunFixtures: on every fixture machine the plan gives the
// generator whole cores, 15% to 50% of the CPUs, on one NUMA node; the
// servers the rest, first threads of every core before any second; and
// the multi-worker models one worker per server CPU.
func TestDryRunFixtures(t *testing.T) {
	for _, name := range fixtureDirs {
		for _, profile := range []string{"quick", "full"} {
			p := dryRun(t, "--sysfs", fixtureDir(name), "--profile", profile)
			pl, topo := p.Placement, p.Topology
			if topo == nil || pl.Shared || len(pl.ServerCPUs)+len(pl.LoadgenCPUs) != topo.CPUs {
				t.Fatalf("%s: placement %+v on topology %+v", name, pl, topo)
			}
			for _, core := range topo.Cores {
				srv := slices.ContainsFunc(core, func(c int) bool { return slices.Contains(pl.ServerCPUs, c) })
				gen := slices.ContainsFunc(core, func(c int) bool { return slices.Contains(pl.LoadgenCPUs, c) })
				if srv && gen {
					t.Errorf("%s: core %v split between servers %v and generator %v", name, core, pl.ServerCPUs, pl.LoadgenCPUs)
				}
			}
			if share := float64(len(pl.LoadgenCPUs)) / float64(topo.CPUs); share < 0.15 || share > 0.5 {
				t.Errorf("%s: generator has %d of %d CPUs", name, len(pl.LoadgenCPUs), topo.CPUs)
			}
			if !slices.ContainsFunc(topo.Nodes, func(n results.Node) bool {
				return !slices.ContainsFunc(pl.LoadgenCPUs, func(c int) bool { return !slices.Contains(n.CPUs, c) })
			}) {
				t.Errorf("%s: generator CPUs %v are on more than one of the nodes %+v", name, pl.LoadgenCPUs, topo.Nodes)
			}
			// A CPU's rank is how many threads of its core come before it
			// in the servers' list; ranks must never go down.
			seen, last := map[int]int{}, 0
			for _, c := range pl.ServerCPUs {
				core := slices.IndexFunc(topo.Cores, func(k []int) bool { return slices.Contains(k, c) })
				if rank := seen[core]; rank < last {
					t.Errorf("%s: server CPUs %v put a core's second thread before another core's first", name, pl.ServerCPUs)
					break
				} else {
					last, seen[core] = rank, rank+1
				}
			}
			if len(p.Cases) == 0 || p.EstimateS <= 0 {
				t.Errorf("%s %s: %d cases, estimate %v s", name, profile, len(p.Cases), p.EstimateS)
			}
			for _, c := range p.Cases {
				if c.ID == "" || c.Sweep == "" || c.Workload == "" || c.Mode == "" || c.Connections <= 0 || c.Workers <= 0 {
					t.Errorf("%s: case %+v", name, c)
				}
				if c.Sweep == results.SweepModels && c.Model != "singlecore" && c.Workers != len(pl.ServerCPUs) {
					t.Errorf("%s: %s has %d workers for %d server CPUs", name, c.ID, c.Workers, len(pl.ServerCPUs))
				}
				// Enough load for every server CPU on the cheap workloads.
				if c.Sweep == results.SweepModels && (c.Workload == "hello" || c.Workload == "json") && c.Connections < 4*len(pl.ServerCPUs) {
					t.Errorf("%s: %s has %d connections for %d server CPUs", name, c.ID, c.Connections, len(pl.ServerCPUs))
				}
			}
			// The full profile measures oversubscription: its worker
			// sweep goes past one worker per server CPU.
			if profile == "full" && !slices.ContainsFunc(p.Cases, func(c planCase) bool {
				return c.Sweep == results.SweepWorkers && c.Workers > len(pl.ServerCPUs)
			}) {
				t.Errorf("%s: the full profile's worker sweep stops at the %d server CPUs", name, len(pl.ServerCPUs))
			}
		}
	}
}

// TestDryRunShared: a 2-CPU machine keeps today's placement, both CPUs
// shared, and says so; explicit CPUs of the planned machine still win.
func TestDryRunShared(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "devices/system/cpu"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "devices/system/cpu/online"), []byte("0-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := dryRun(t, "--sysfs", dir)
	if !p.Placement.Shared || !slices.Equal(p.Placement.ServerCPUs, []int{0, 1}) || !strings.Contains(p.Placement.Note, "fewer than 4 CPUs") ||
		p.Topology.SMT != results.SMTNotExposed || len(p.Topology.Notes) == 0 {
		t.Errorf("2 CPUs: %+v, %+v", p.Placement, p.Topology)
	}
	p = dryRun(t, "--sysfs", fixtureDir("2socket-smt"), "--server-cpus", "0-3", "--loadgen-cpus", "60-63")
	if affinity.Format(p.Placement.ServerCPUs) != "0-3" || affinity.Format(p.Placement.LoadgenCPUs) != "60-63" {
		t.Errorf("explicit CPUs: %+v", p.Placement)
	}
	for _, c := range p.Cases {
		if c.Sweep == results.SweepModels && c.Model == "goroutines" && c.Workers != 4 {
			t.Errorf("%s: %d workers on 4 server CPUs", c.ID, c.Workers)
		}
	}
}

// TestDryRunText prints the topology, the placement and every case.
func TestDryRunText(t *testing.T) {
	st, out, errs := mainOut("run", "--dry-run", "--sysfs", fixtureDir("neighbours"))
	if st != 0 {
		t.Fatalf("status %d: %s", st, errs)
	}
	for _, want := range []string{"nothing was run", "Topology:  16 CPUs on 8 physical cores (2 threads each), 1 package, SMT on",
		"Placement: servers on CPUs 0,2,4,6,8,1,3,5,7,9 (5 cores), load generator on CPUs 10-15 (3 cores",
		"prefork-rr/hello/closed-c100/w10", "singlecore/cpu/closed-c100/w1"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
}

func TestDryRunErrors(t *testing.T) {
	for _, tt := range []struct {
		args   []string
		status int
		want   string
	}{
		{[]string{"run", "--dry-run", "--sysfs", "/nonexistent"}, 1, "--sysfs: no CPUs in /nonexistent"},
		{[]string{"run", "--json"}, 2, "add --dry-run"},
		{[]string{"run", "--sysfs", fixtureDir("laptop")}, 2, "add --dry-run"},
		{[]string{"run", "--dry-run", "--sysfs", fixtureDir("laptop"), "--server-cpus", "0-7"}, 2, "--server-cpus: CPU 4 is not on the machine in --sysfs"},
		{[]string{"run", "--dry-run", "--loadgen-cpus", "1-x"}, 2, "--loadgen-cpus: bad CPU list"},
	} {
		st, out, errs := mainOut(tt.args...)
		if st != tt.status || out != "" || !strings.Contains(errs, tt.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("bench %s: status %d, stdout %q, stderr %q; want %d and one line with %q",
				strings.Join(tt.args, " "), st, out, errs, tt.status, tt.want)
		}
	}
}

// TestDryRunHosts: a plan with hosts says that it contacted none and
// planned with this machine's CPUs; a --server-cpus for a server host is
// that host's, not checked against this machine.
func TestDryRunHosts(t *testing.T) {
	p := dryRun(t, "--profile", "smoke", "--server-host", "root@example.invalid", "--server-cpus", "999")
	if !strings.Contains(p.Placement.Note, "contacts no host") {
		t.Errorf("placement note %q does not say the hosts were not contacted", p.Placement.Note)
	}
	if st, _, _ := mainOut("run", "--dry-run", "--profile", "smoke", "--server-cpus", "999"); st != 2 {
		t.Errorf("--server-cpus 999 for this machine: status %d, want 2", st)
	}
}
