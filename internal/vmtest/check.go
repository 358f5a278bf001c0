package vmtest

// What the VM tests share: the guest's helper functions, and checks of
// what a run in the guest left, for the test packages below this one
// (one VM or two each, so that no test binary nears go test's 10-minute
// timeout when the packages run side by side).

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/internal/topology"
	"github.com/corebench/corebench/results"
)

// GuestLib is sourced by every guest script.
//   - watch FILE samples every task of every process, as often as the
//     guest can: "tgid pid ppid cpus name" a line, "---" after each
//     sample, until FILE.stop exists (its last sample then completes).
//     A zombie is left out: it has exited and runs nowhere, while the
//     worker that replaced it may already hold its CPU.
//   - copysys copies the files internal/topology reads, as this kernel
//     wrote them, into ./sys (with cat: sysfs files claim sizes they do
//     not have).
//   - ready FILE waits for a listening line in FILE.
const GuestLib = `
watch() {
  while [ ! -e "$1.stop" ]; do
    cat /proc/[0-9]*/task/[0-9]*/status 2>/dev/null |
      awk '/^Name:/{n=$2} /^State:/{st=$2} /^Tgid:/{tg=$2} /^Pid:/{p=$2} /^PPid:/{pp=$2} /^Cpus_allowed_list:/{if (st != "Z") print tg, p, pp, $2, n}'
    echo ---
    sleep 0.2
  done >>"$1"
}
copysys() {
  for f in /sys/devices/system/cpu/online /sys/devices/system/cpu/possible /sys/devices/system/cpu/smt/control \
    /sys/devices/system/cpu/cpu[0-9]*/topology/core_id /sys/devices/system/cpu/cpu[0-9]*/topology/physical_package_id \
    /sys/devices/system/cpu/cpu[0-9]*/topology/core_cpus_list /sys/devices/system/cpu/cpu[0-9]*/topology/thread_siblings_list \
    /sys/devices/system/node/node[0-9]*/cpulist; do
    [ -r "$f" ] || continue
    mkdir -p "sys$(dirname "${f#/sys}")"
    cat "$f" >"sys${f#/sys}"
  done
}
ready() {
  i=0
  until grep -q 'listening on' "$1" 2>/dev/null; do
    i=$((i+1)); [ $i -gt 600 ] && { echo "no listening line in $1"; return 1; }
    sleep 0.1
  done
}
`

// ExtServer is a --server whose command forks workers: bench's own
// prefork master, run by /bin/sh as any user's command is, pinning its
// workers to {cpus} one each.
const ExtServer = `ext=bench serve --model prefork --sched os --workers {workers} --cpus {cpus} --addr 127.0.0.1:{port}`

// EveryModel is every model bench runs, sticky included.
const EveryModel = "singlecore,goroutines,prefork-rr,prefork-os,prefork-reuseport,prefork-sticky"

// RunScript is a guest script's part that plans with --dry-run --json
// (into NAME-plan.json), then runs bench run with args into ./NAME while
// watching every process (NAME-samples.txt; its pid in NAME.pid), and
// exits with bench run's status if it failed. copysys comes first.
func RunScript(name, args string) string {
	return `
copysys
bench run --dry-run --json ` + args + ` >` + name + `-plan.json || exit 10
watch ` + name + `-samples.txt &
w=$!
bench run --out ` + name + ` ` + args + ` &
r=$!
echo $r >` + name + `.pid
wait $r
st=$?
touch ` + name + `-samples.txt.stop
wait $w
[ $st = 0 ] || exit $st
`
}

// needVM skips t where no VM can boot here, saying what is missing, or
// under CI (which installs it all) fails it; else it returns the static
// bench to boot with.
func needVM(t testing.TB) string {
	t.Helper()
	if _, err := Find(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v (CI is set: .ci/run installs it)", err)
		}
		t.Skip(err)
	}
	bench, err := BuildBench()
	if err != nil {
		t.Fatal(err)
	}
	return bench
}

// Boot runs GuestLib and script in a VM of shape and returns what it
// left; where no VM can boot here it skips, saying what is missing, or
// under CI (which installs it all) fails.
func Boot(t testing.TB, shape Shape, script string) *Result {
	t.Helper()
	bench := needVM(t)
	r, err := Run(context.Background(), Options{Shape: shape, Bench: bench, Dir: t.TempDir(),
		Script: GuestLib + script, Output: func(l string) { t.Log(l) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s under %s: exit %d in %v", shape, r.Accel, r.Status, r.Elapsed)
	return r
}

// Task is one line of a watch sample: a thread, its process (Tgid),
// that process's parent, the CPUs it may run on and its name.
type Task struct {
	Tgid, Pid, PPid int
	CPUs            []int
	Name            string
}

// Samples parses a watch file into its samples.
func Samples(t testing.TB, path string) [][]Task {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]Task
	var cur []Task
	for _, l := range strings.Split(string(b), "\n") {
		if l == "---" {
			out = append(out, cur)
			cur = nil
			continue
		}
		f := strings.Fields(l)
		if len(f) < 4 {
			continue
		}
		var tk Task
		var err error
		tk.Tgid, _ = strconv.Atoi(f[0])
		tk.Pid, _ = strconv.Atoi(f[1])
		tk.PPid, _ = strconv.Atoi(f[2])
		if tk.CPUs, err = affinity.ParseList(f[3]); err != nil {
			t.Fatalf("%s: %q: %v", path, l, err)
		}
		if len(f) > 4 {
			tk.Name = f[4]
		}
		cur = append(cur, tk)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no samples", path)
	}
	return out
}

// Descendants returns the processes (tgids) below root in one sample.
func Descendants(s []Task, root int) map[int]bool {
	parent := map[int]int{}
	for _, tk := range s {
		if tk.Tgid == tk.Pid {
			parent[tk.Pid] = tk.PPid
		}
	}
	below := map[int]bool{}
	for pid := range parent {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == root {
				below[pid] = true
				break
			}
		}
	}
	return below
}

// Subset reports whether every CPU of a is in b.
func Subset(a, b []int) bool {
	for _, c := range a {
		if !slices.Contains(b, c) {
			return false
		}
	}
	return true
}

// ReadPid reads a pid a guest script wrote into dir/name.
func ReadPid(t testing.TB, dir, name string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %q", name, b)
	}
	return pid
}

// File reads dir/name.
func File(t testing.TB, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Quote quotes s for the guest's sh.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// CheckRun checks the run RunScript made in dir/name: every case
// measured, the placement the dry run's with no physical core split, and
// the samples of where its processes ran (CheckPlaces).
func CheckRun(t testing.TB, dir string, shape Shape, name string, cases int) *results.Run {
	t.Helper()
	run, err := results.Load(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if !run.Complete || len(run.Cases) != cases {
		t.Errorf("run complete %v with %d cases, want %d", run.Complete, len(run.Cases), cases)
	}
	for _, c := range run.Cases {
		if c.Error != "" || c.Summary == nil || c.Summary.Requests == 0 {
			t.Errorf("case %s: error %q", c.ID, c.Error)
		}
	}
	if run.Topology == nil || run.Topology.CPUs != shape.CPUs() || len(run.Topology.Nodes) != shape.Nodes {
		t.Errorf("topology %+v, want %s", run.Topology, shape)
	}
	pl := run.Placement
	if pl.Shared || len(pl.ServerCPUs)+len(pl.LoadgenCPUs) != shape.CPUs() {
		t.Errorf("placement %+v on %s", pl, shape)
	}

	// The dry run planned this placement.
	var plan struct {
		Placement results.Placement `json:"placement"`
	}
	if err := json.Unmarshal([]byte(File(t, dir, name+"-plan.json")), &plan); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plan.Placement.ServerCPUs, pl.ServerCPUs) || !slices.Equal(plan.Placement.LoadgenCPUs, pl.LoadgenCPUs) {
		t.Errorf("the dry run placed servers on %v and the generator on %v; the run on %v and %v",
			plan.Placement.ServerCPUs, plan.Placement.LoadgenCPUs, pl.ServerCPUs, pl.LoadgenCPUs)
	}

	// No physical core is split between the servers and the generator, by
	// the topology this kernel wrote.
	topo, err := topology.Read(filepath.Join(dir, "sys"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, core := range topo.Cores() {
		srv := slices.ContainsFunc(core, func(c int) bool { return slices.Contains(pl.ServerCPUs, c) })
		gen := slices.ContainsFunc(core, func(c int) bool { return slices.Contains(pl.LoadgenCPUs, c) })
		if srv && gen {
			t.Errorf("core %v split between the servers %v and the generator %v", core, pl.ServerCPUs, pl.LoadgenCPUs)
		}
	}

	CheckPlaces(t, dir, name, pl)
	return run
}

// CheckPlaces reads the samples taken while bench run ran: the
// generator's threads within loadgen_cpus (but for the moment one forks
// a server, pinned to the server's CPUs, and is seen back after), every
// process below it (the servers: masters, workers, an external server's
// whole tree) within server_cpus, and each prefork worker on one CPU of
// its own.
func CheckPlaces(t testing.TB, dir, name string, pl results.Placement) {
	t.Helper()
	runPid := ReadPid(t, dir, name+".pid")
	seen, masters, workers := 0, 0, 0
	bad := map[string]bool{} // one report per kind of fault
	fault := func(kind, format string, args ...any) {
		if !bad[kind] {
			bad[kind] = true
			t.Errorf(format, args...)
		}
	}
	forking := map[int]int{} // generator thread → the sample that saw it on server CPUs
	for n, s := range Samples(t, filepath.Join(dir, name+"-samples.txt")) {
		below := Descendants(s, runPid)
		if len(below) == 0 {
			// Before the first server (bench run pins itself first) or
			// after the last: only a forking thread's return counts.
			for _, tk := range s {
				if i, ok := forking[tk.Pid]; ok && tk.Tgid == runPid && i < n && Subset(tk.CPUs, pl.LoadgenCPUs) {
					delete(forking, tk.Pid)
				}
			}
			continue
		}
		seen++
		children := map[int][]Task{} // process → its child processes
		procs := map[int]Task{}
		for _, tk := range s {
			switch {
			case tk.Tgid == runPid:
				switch {
				case Subset(tk.CPUs, pl.LoadgenCPUs):
					if i, ok := forking[tk.Pid]; ok && i < n {
						delete(forking, tk.Pid) // back on the generator's CPUs after its fork
					}
				case Subset(tk.CPUs, pl.ServerCPUs):
					// affinity.StartPinned forks a server from a thread
					// pinned to the server's CPUs for the fork, then puts
					// it back: it must be back in a later sample.
					if _, ok := forking[tk.Pid]; !ok {
						forking[tk.Pid] = n
					}
				default:
					fault("gen", "generator thread %d on CPUs %s, outside loadgen_cpus %s", tk.Pid, affinity.Format(tk.CPUs), affinity.Format(pl.LoadgenCPUs))
				}
			case below[tk.Tgid]:
				if !Subset(tk.CPUs, pl.ServerCPUs) {
					fault("srv", "server %s %d (thread %d) on CPUs %s, outside server_cpus %s", tk.Name, tk.Tgid, tk.Pid, affinity.Format(tk.CPUs), affinity.Format(pl.ServerCPUs))
				}
				if tk.Tgid == tk.Pid {
					procs[tk.Pid] = tk
					children[tk.PPid] = append(children[tk.PPid], tk)
				}
			}
		}
		for pid, p := range procs {
			kids := children[pid]
			if p.Name != "bench" || len(kids) == 0 || slices.ContainsFunc(kids, func(k Task) bool { return k.Name != "bench" }) {
				continue
			}
			masters++
			used := map[int]bool{}
			for _, k := range kids {
				workers++
				if len(k.CPUs) != 1 {
					fault("one", "prefork worker %d of master %d on CPUs %s, want one CPU", k.Pid, pid, affinity.Format(k.CPUs))
					continue
				}
				if used[k.CPUs[0]] && len(kids) <= len(pl.ServerCPUs) {
					fault("twice", "master %d: two of its %d workers on CPU %d", pid, len(kids), k.CPUs[0])
				}
				used[k.CPUs[0]] = true
			}
		}
	}
	for tid, n := range forking {
		t.Errorf("generator thread %d on the servers' CPUs from sample %d on: it never came back to loadgen_cpus %s", tid, n, affinity.Format(pl.LoadgenCPUs))
	}
	if seen == 0 || masters == 0 {
		t.Errorf("the samples saw servers %d times and prefork masters with workers %d times: nothing was checked", seen, masters)
	}
	t.Logf("%d samples with servers, %d of a prefork master, %d workers checked", seen, masters, workers)
}

// CheckFixture compares the topology files this kernel wrote with the
// committed fixture internal/topology/testdata/name, which the planning
// tests read; with VMTEST_UPDATE=1 it rewrites the fixture.
func CheckFixture(t testing.TB, dir, name string) {
	t.Helper()
	fixture := filepath.Join(moduleRoot(t), "internal", "topology", "testdata", name)
	got := tree(t, filepath.Join(dir, "sys"))
	if os.Getenv("VMTEST_UPDATE") == "1" {
		os.RemoveAll(fixture)
		for p, s := range got {
			os.MkdirAll(filepath.Join(fixture, filepath.Dir(p)), 0o755)
			if err := os.WriteFile(filepath.Join(fixture, p), []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := tree(t, fixture)
	for p, s := range got {
		if want[p] != s {
			t.Errorf("%s/%s: the kernel wrote %q, the fixture holds %q (VMTEST_UPDATE=1 rewrites it)", fixture, p, s, want[p])
		}
	}
	if len(got) != len(want) {
		t.Errorf("the kernel wrote %d topology files, %s holds %d", len(got), fixture, len(want))
	}
}

func tree(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[strings.ReplaceAll(rel, string(filepath.Separator), "/")] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// moduleRoot is the directory of this module's go.mod.
func moduleRoot(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// CheckVirtual checks that a run in the guest recorded the machine as
// virtual, and, under TCG, as emulated, with the report's warning that its
// figures are not performance figures.
func CheckVirtual(t testing.TB, r *Result, run *results.Run, report string) {
	t.Helper()
	v := run.Env.Virtualization
	if v == nil || !v.Virtualized {
		t.Fatalf("the guest's run records no virtual machine: %+v", v)
	}
	if emulated := r.Accel == "tcg"; v.Emulated != emulated {
		t.Errorf("under %s the run records emulated %v (%v)", r.Accel, v.Emulated, v.Evidence)
	}
	if warned := strings.Contains(report, "Not performance figures"); warned != v.Emulated {
		t.Errorf("emulated %v, and the report's warning that these are not performance figures: %v", v.Emulated, warned)
	}
}
