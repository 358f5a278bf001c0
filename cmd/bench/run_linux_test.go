package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/internal/proc"
	"github.com/corebench/corebench/internal/tmpfstest"
	"github.com/corebench/corebench/models/modeltest"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/suite"
	"github.com/corebench/corebench/variant"
	"github.com/corebench/corebench/workload"
)

// TestRunSmoke runs the whole suite at smoke scale: every model measured,
// results, report and charts written, no server left behind.
func TestRunSmoke(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	st, stdout, stderr := modeltest.RunToExit(t, bench("run", "--profile", "smoke", "--out", out))
	if st != 0 {
		t.Fatalf("bench run --profile smoke: status %d\n%s", st, stderr)
	}
	run, err := results.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if !run.Complete || run.Profile != "smoke" || run.Env.CPUs == 0 || run.Env.GoVersion == "" || len(run.Placement.ServerCPUs) == 0 {
		t.Errorf("run header: %+v %+v %+v", run.Complete, run.Env, run.Placement)
	}
	if allowed, _ := affinity.Allowed(); run.Topology == nil || run.Topology.CPUs != len(allowed) || run.Topology.Source != "/sys" {
		t.Errorf("topology %+v, want the %d CPUs this process may use, from /sys", run.Topology, len(allowed))
	}
	// The limits bench serve put on slow clients: Node's http.Server's.
	if to := run.Settings.ServerTimeouts; to == nil || to.HeaderS != 60 || to.RequestS != 300 || to.IdleS != 5 {
		t.Errorf("server timeouts %+v, want bench serve's defaults 60, 300 and 5 s", to)
	}
	// The work the servers did by default, not the flag's zero.
	if run.Settings.CPUIters != workload.DefaultCPUIters || run.Settings.IOMs <= 0 {
		t.Errorf("settings %+v", run.Settings)
	}
	// How the connections were decided, for the report.
	if run.Settings.Connections != 4 || run.Settings.ConnectionsFrom != "4, fixed by the profile" {
		t.Errorf("connections %d (%q), want smoke's 4, fixed", run.Settings.Connections, run.Settings.ConnectionsFrom)
	}
	models := map[string]bool{}
	for _, c := range run.Cases {
		if c.Error != "" || c.Summary == nil || c.Summary.RPS.Median <= 0 || c.Summary.Requests == 0 || c.Summary.Errors != 0 {
			t.Errorf("case %s: error %q, summary %+v", c.ID, c.Error, c.Summary)
			continue
		}
		if c.Summary.ServerCPUPerReq.Median <= 0 || c.Summary.Histogram.Count() == 0 {
			t.Errorf("case %s: no server CPU or histogram", c.ID)
		}
		// The fairness is over the workers the server ran: one for a
		// process, whatever its GOMAXPROCS.
		workers := 1
		if v, _ := variant.Lookup(c.Model); v.Prefork() {
			workers = c.Workers
		}
		for i, r := range c.Repeats {
			if r.Load.Workers != workers {
				t.Errorf("case %s, repeat %d: workers %d, want %d", c.ID, i, r.Load.Workers, workers)
			}
		}
		models[c.Model] = true
	}
	for _, m := range suite.DefaultModels {
		if !models[m.Name] {
			t.Errorf("model %s measured nothing", m)
		}
	}
	for _, f := range []string{"results.json", "report.md", "report.html", "bench.txt", "charts/rps-hello.png", "charts/rps-cpu.svg"} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if !strings.Contains(stdout, "prefork-rr/cpu/") || !strings.Contains(stdout, "complete run of 10 cases") {
		t.Errorf("stdout:\n%s", stdout)
	}
	if left := leftovers(t); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
}

// TestRunSticky: a variant the profiles leave out runs when asked for, at
// smoke scale by the hidden --smoke, which its server is not told (a
// server that stopped once ready would fail the case).
func TestRunSticky(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	st, _, stderr := modeltest.RunToExit(t, bench(smokeFlag, "run", "--models", "prefork-sticky", "--workloads", "hello", "--workers", "2", "--out", out))
	if st != 0 {
		t.Fatalf("bench --smoke run --models prefork-sticky: status %d\n%s", st, stderr)
	}
	run, err := results.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Cases) != 1 {
		t.Fatalf("%d cases, want 1", len(run.Cases))
	}
	c := run.Cases[0]
	if c.Model != "prefork-sticky" || c.Error != "" || c.Summary == nil || c.Summary.Requests == 0 || c.Repeats[0].ServerProcs != 3 {
		t.Errorf("case %s: error %q, summary %+v, repeats %+v; want prefork-sticky measured with a master and 2 workers", c.ID, c.Error, c.Summary, c.Repeats)
	}
	// At smoke scale: the smoke profile's duration, not quick's.
	if want := suite.Profiles["smoke"].Duration.Seconds(); run.Settings.Duration != want || run.Profile != "quick" {
		t.Errorf("profile %s, duration %vs; want quick cut to %vs", run.Profile, run.Settings.Duration, want)
	}
}

// TestRunUnknownModel: a --models name that is no variant is a usage
// error naming the valid ones.
func TestRunUnknownModel(t *testing.T) {
	st, _, stderr := modeltest.RunToExit(t, bench("run", "--models", "singlecore,threads"))
	if st != 2 || !strings.Contains(stderr, `unknown model "threads"`) || !strings.Contains(stderr, "prefork-sticky") {
		t.Errorf("status %d, stderr %q; want 2 and the valid names", st, stderr)
	}
}

// leftovers lists this test process's descendants, which finished
// commands must not leave.
func leftovers(t *testing.T) []int {
	t.Helper()
	return proc.Tree(os.Getpid())[1:]
}

// TestRunInterrupted: Ctrl-C stops the current case and every server,
// writes what was measured marked incomplete, and exits non-zero.
func TestRunInterrupted(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	cmd := bench("run", "--profile", "smoke", "--duration", "2s", "--out", out)
	s := modeltest.StartCommand(t, cmd)
	// Interrupt during the second case.
	s.WaitLog(regexp.MustCompile(`^\[1/10\] `), 0, 60*time.Second)
	s.Signal(syscall.SIGINT)
	if st := s.Wait(30 * time.Second); st != 1 {
		t.Errorf("exit status %d after Ctrl-C, want 1", st)
	}
	if !strings.Contains(s.Stderr(), "interrupted: what was measured is in") {
		t.Errorf("stderr:\n%s", s.Stderr())
	}
	run, err := results.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	// Ctrl-C was sent on the first case's line: it lands either before
	// the run looks at it between cases (then the run stops with the one
	// case, whole) or during the second case's start, warm-up or repeat.
	if run.Complete || len(run.Cases) < 1 || len(run.Cases) > 2 || run.Cases[0].Summary == nil || run.Cases[0].Error != "" {
		t.Fatalf("after Ctrl-C: complete %v, %d cases\n%s", run.Complete, len(run.Cases), s.Stderr())
	}
	if len(run.Cases) == 2 {
		c := run.Cases[1]
		if !strings.Contains(c.Error, "interrupted") {
			t.Errorf("the interrupted case: error %q", c.Error)
		}
		if r := c.Repeats; len(r) > 1 || len(r) == 1 && r[0].Error != "interrupted" {
			t.Errorf("the interrupted case's repeats: %+v", r)
		}
	}
	if left := leftovers(t); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
}

// TestRunSplitCPUs gives the servers and the generator a CPU each. bench
// run pins itself to the generator's CPU before it starts a server, and a
// server once inherited that mask and refused its own --cpus as "not
// available here": every case failed on any machine with 4 CPUs or more,
// where the placement splits them by default.
func TestRunSplitCPUs(t *testing.T) {
	allowed, err := affinity.Allowed()
	if err != nil {
		t.Fatal(err)
	}
	if len(allowed) < 2 {
		t.Skip("needs 2 CPUs")
	}
	server, gen := allowed[0], allowed[len(allowed)-1]
	out := filepath.Join(t.TempDir(), "run")
	st, _, stderr := modeltest.RunToExit(t, bench("run", "--profile", "smoke", "--models", "singlecore,prefork-rr,goroutines",
		"--workloads", "hello", "--server-cpus", strconv.Itoa(server), "--loadgen-cpus", strconv.Itoa(gen), "--out", out))
	if st != 0 {
		t.Fatalf("bench run: status %d\n%s", st, stderr)
	}
	run, err := results.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := affinity.Format(run.Placement.ServerCPUs) + "/" + affinity.Format(run.Placement.LoadgenCPUs); got != fmt.Sprintf("%d/%d", server, gen) {
		t.Errorf("placement %s, want %d/%d", got, server, gen)
	}
	if len(run.Cases) != 3 {
		t.Fatalf("%d cases, want 3", len(run.Cases))
	}
	for _, c := range run.Cases {
		if c.Error != "" || c.Summary == nil || c.Summary.Requests == 0 {
			t.Errorf("case %s: error %q", c.ID, c.Error)
		}
		if got := affinity.Format(c.ServerCPUs); got != strconv.Itoa(server) {
			t.Errorf("case %s: server CPUs %s, want %d", c.ID, got, server)
		}
	}
}

// entries lists dir's names.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// TestRunOutUnwritable: an --out that cannot be written is one line and
// status 2 before any load, in a dry run too (all ten smoke cases were
// measured, then the save failed and nothing was kept).
func TestRunOutUnwritable(t *testing.T) {
	ro := tmpfstest.Mount(t, "64k", "ro")
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	for _, out := range []string{"/proc/self/foo", ro, filepath.Join(ro, "run"), filepath.Join(file, "run")} {
		for _, dry := range []bool{true, false} {
			args := []string{"run", "--profile", "smoke", "--out", out}
			if dry {
				args = append(args, "--dry-run")
			}
			st, stdout, stderr := modeltest.RunToExit(t, bench(args...))
			if st != 2 || stdout != "" || !isOneLine(stderr) || !strings.HasPrefix(stderr, "bench run: --out "+out+": ") {
				t.Errorf("bench %s: status %d, stdout %q, stderr %q; want status 2 and one line about --out", strings.Join(args, " "), st, stdout, stderr)
			}
		}
	}
	if got := entries(t, ro); len(got) > 0 {
		t.Errorf("the read-only disk holds %v", got)
	}
}

// TestRunDiskFull: a disk that fills during a run (a 200 kB tmpfs) stops
// it with one line that says so; results.json keeps every case saved
// before, marked incomplete, and no temporary file is left. The run used
// to measure every case, then fail to save any.
func TestRunDiskFull(t *testing.T) {
	out := filepath.Join(tmpfstest.Mount(t, "200k", ""), "run")
	st, stdout, stderr := modeltest.RunToExit(t, bench("run", "--profile", "smoke", "--out", out))
	last := stderr[strings.LastIndex(strings.TrimSuffix(stderr, "\n"), "\n")+1:]
	if st != 1 || !strings.Contains(last, "no space left on device") || !strings.Contains(last, "stopped") {
		t.Fatalf("status %d, last line %q; want status 1 and one line saying the disk is full and the run stopped\n%s", st, last, stderr)
	}
	run, err := results.Load(out)
	if err != nil {
		t.Fatalf("the last good results.json: %v", err)
	}
	if run.Complete || run.Planned != 10 || len(run.Cases) == 0 || len(run.Cases) >= 10 {
		t.Errorf("results.json: complete %v, %d of %d cases; want some of 10, incomplete", run.Complete, len(run.Cases), run.Planned)
	}
	if want := fmt.Sprintf("keeps the cases saved before (%d of 10)", len(run.Cases)); !strings.Contains(last, want) {
		t.Errorf("last line %q does not say %q", last, want)
	}
	for _, c := range run.Cases {
		if c.Summary == nil || c.Error != "" {
			t.Errorf("case %s kept without its figures: %q", c.ID, c.Error)
		}
	}
	if !strings.Contains(stdout, "INCOMPLETE") {
		t.Errorf("stdout:\n%s", stdout)
	}
	if got := entries(t, out); !slices.Equal(got, []string{"results.json"}) {
		t.Errorf("%s holds %v, want results.json alone", out, got)
	}
	if left := leftovers(t); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
}

// TestRunKilled: a run killed (SIGKILL) after its second case keeps
// those two cases, marked incomplete: results.json is saved after each
// case, not only at the end.
func TestRunKilled(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	s := modeltest.StartCommand(t, bench("run", "--profile", "smoke", "--duration", "2s", "--out", out))
	s.WaitLog(regexp.MustCompile(`^\[2/10\] `), 0, 60*time.Second)
	s.Signal(syscall.SIGKILL)
	s.Wait(10 * time.Second)
	// Its servers die of their parent's death (PR_SET_PDEATHSIG) and come
	// to this process, the subreaper.
	left := leftovers(t)
	if still := modeltest.WaitGone(left, 30*time.Second); len(still) > 0 {
		t.Errorf("servers outlived the killed run: %v", still)
	}
	for _, pid := range left {
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
	}
	run, err := results.Load(out)
	if err != nil {
		t.Fatalf("after SIGKILL: %v", err)
	}
	if run.Complete || run.Planned != 10 || len(run.Cases) != 2 {
		t.Fatalf("after SIGKILL on the second case's line: complete %v, %d of %d cases; want 2 of 10, incomplete", run.Complete, len(run.Cases), run.Planned)
	}
	for _, c := range run.Cases {
		if c.Summary == nil || c.Error != "" {
			t.Errorf("case %s: error %q, summary %v", c.ID, c.Error, c.Summary)
		}
	}
	if run.Finished.Before(run.Started) {
		t.Errorf("finished %v before started %v: the time of the last save is not recorded", run.Finished, run.Started)
	}
}
