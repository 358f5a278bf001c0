package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corebench/corebench/internal/child"
	"github.com/corebench/corebench/internal/proc"
	"github.com/corebench/corebench/internal/remote"
	"github.com/corebench/corebench/loadgen"
	"github.com/corebench/corebench/models/modeltest"
	"github.com/corebench/corebench/report"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/variant"
	"github.com/corebench/corebench/workload"
)

// externalCommand is the --server COMMAND that runs this test binary as
// an external server.
func externalCommand() string {
	return fmt.Sprintf("%s=primary exec %q --port {port} --workers {workers}", externalEnv, os.Args[0])
}

// An external server runs beside a built-in model: its cases are under
// its name, measured over its whole tree, in results.json with its
// command, in the report; the servers that fail are one line each naming
// them with their stderr, exit 1, the rest still measured, and nothing
// left running (the sleeper a failing command forked included).
func TestRunExternal(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "run")
	sleeper := filepath.Join(dir, "sleeper.pid")
	before := leftovers(t)
	st, stdout, stderr := modeltest.RunToExit(t, bench("run", "--profile", "smoke", "--models", "singlecore", "--workloads", "hello,cpu",
		"--server", "gotest="+externalCommand(),
		"--server", fmt.Sprintf("deaf=sleep 300 & echo $! >> %s; echo 'no port for you' >&2; wait", sleeper),
		"--server", "quitter=echo 'port taken, giving up' >&2; exit 3",
		"--ready-timeout", "2s", "--out", out))
	if st != 1 {
		t.Fatalf("status %d, want 1 for the failing servers\n%s", st, stderr)
	}
	run, err := results.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Servers) != 3 || run.Servers[0].Name != "gotest" || run.Servers[0].Command != externalCommand() {
		t.Errorf("servers recorded %+v", run.Servers)
	}
	// The recorded command line pastes back into a shell: --server's
	// command is one word.
	if w, err := remote.SplitWords(run.Env.CommandLine); err != nil || !slices.Contains(w, "quitter=echo 'port taken, giving up' >&2; exit 3") {
		t.Errorf("the command line %q does not give back --server's words (%v)", run.Env.CommandLine, err)
	}
	byModel := map[string]int{}
	for _, c := range run.Cases {
		byModel[c.Model]++
		switch c.Model {
		case "singlecore":
			if c.Error != "" {
				t.Errorf("%s: %s", c.ID, c.Error)
			}
		case "gotest":
			if c.Error != "" || c.Summary == nil || c.Summary.RPS.Median <= 0 {
				t.Errorf("%s: error %q, summary %+v", c.ID, c.Error, c.Summary)
				continue
			}
			if c.Workers != 2 || !strings.Contains(c.Command, "--workers 2") || strings.Contains(c.Command, "{port}") {
				t.Errorf("%s: workers %d, command %q", c.ID, c.Workers, c.Command)
			}
			r := c.Repeats[0]
			// sh execs the primary; it and its 2 workers, whose CPU it is.
			if r.ServerProcs < 3 || r.ServerCPU <= 0 || r.ServerRSS <= 0 {
				t.Errorf("%s: %d processes, %v CPU s, %d bytes: not the whole tree", c.ID, r.ServerProcs, r.ServerCPU, r.ServerRSS)
			}
			// Its workers share one socket: 4 connections may all land on
			// one, but every answer names a slot of 2.
			for slot := range c.Summary.PerWorker {
				if slot != "0" && slot != "1" {
					t.Errorf("%s: answers from slot %q", c.ID, slot)
				}
			}
			if len(c.Summary.PerWorker) == 0 || c.Summary.Workers != 2 {
				t.Errorf("%s: per worker %v of %d, want X-Worker shares of 2 workers", c.ID, c.Summary.PerWorker, c.Summary.Workers)
			}
		case "deaf", "quitter":
			want := map[string]string{"deaf": "server deaf (sleep 300 &", "quitter": "server quitter (echo"}[c.Model]
			tail := map[string]string{"deaf": "not ready within 2s: no port for you", "quitter": "exited before it was ready (exit status 3): port taken, giving up"}[c.Model]
			if !strings.HasPrefix(c.Error, want) || !strings.Contains(c.Error, tail) || strings.Contains(c.Error, "\n") {
				t.Errorf("%s: error %q, want one line starting %q and saying %q", c.ID, c.Error, want, tail)
			}
		}
	}
	if byModel["singlecore"] != 2 || byModel["gotest"] != 2 || byModel["deaf"] != 2 || byModel["quitter"] != 2 {
		t.Errorf("cases per model %v", byModel)
	}
	if !strings.Contains(stderr, "4 of 8 cases failed") {
		t.Errorf("stderr does not count the failed cases:\n%s", stderr)
	}
	if !strings.Contains(stdout, "gotest") {
		t.Errorf("the run table does not name gotest:\n%s", stdout)
	}
	md, err := os.ReadFile(filepath.Join(out, report.MarkdownFile))
	if err != nil || !strings.Contains(string(md), "gotest") || !strings.Contains(string(md), "no port for you") {
		t.Errorf("report.md does not show gotest and the deaf server's error (%v)", err)
	}
	b, err := os.ReadFile(sleeper)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Fields(string(b)) {
		pid, _ := strconv.Atoi(l)
		// Killed, it is a zombie of this process (the subreaper) until
		// WaitGone reaps it.
		if left := proc.WaitGone([]int{pid}, 0); len(left) > 0 {
			t.Errorf("the deaf server's sleeper %d outlived its case", pid)
		}
	}
	if left := leftovers(t); len(left) > len(before) {
		for _, p := range left {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
			c, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
			t.Logf("%s %q", b, c)
		}
		t.Errorf("processes left behind: %v (before the command: %v)", left, before)
	}
}

// exampleServers are the servers of examples/ as --server gives them, run
// from the repository's root, with the program each needs.
// exampleServers are the examples. A round-robin primary (spread)
// promises every worker its turn; a shared accept queue (SCHED_NONE, the
// Python server's) leaves the spread to the kernel, which promises none:
// one worker may take every connection of a short test.
var exampleServers = []struct {
	name, program, command string
	spread                 bool
}{
	{"node-rr", "node", "NODE_CLUSTER_SCHED_POLICY=rr node examples/node-cluster/server.js --port {port} --workers {workers}", true},
	{"node-none", "node", "NODE_CLUSTER_SCHED_POLICY=none node examples/node-cluster/server.js --port {port} --workers {workers}", false},
	{"py", "python3", "python3 examples/python/server.py --port {port} --workers {workers}", false},
}

// needProgram skips a test without program, except under CI, which
// installs it.
func needProgram(t *testing.T, program string) {
	t.Helper()
	if _, err := exec.LookPath(program); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed, and CI must run this test (.ci/run installs it)", program)
		}
		t.Skipf("%s is not installed", program)
	}
}

// repoRoot is where the documented commands run, examples/ in it.
func repoRoot(t *testing.T) string {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// The examples answer as the workload package does: the same bodies, the
// same SHA-256 rounds for /cpu, X-Worker slots of every worker and their
// pids, the worker count at the discovery path; and they stop with the
// group's SIGTERM, every process gone.
func TestExampleServers(t *testing.T) {
	for _, ex := range exampleServers {
		t.Run(ex.name, func(t *testing.T) {
			needProgram(t, ex.program)
			port, err := child.FreePort()
			if err != nil {
				t.Fatal(err)
			}
			v := variant.Variant{Name: ex.name, Command: ex.command}
			cmd := v.Expand(port, 2, "")
			srv, err := startIn(t, repoRoot(t), v, cmd, port)
			if err != nil {
				t.Fatal(err)
			}
			pids := srv.Pids()
			stopped := false
			defer func() {
				if !stopped {
					srv.Stop()
				}
			}()
			get := func(path string) (*http.Response, string) {
				t.Helper()
				resp, err := http.Get(srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp, string(b)
			}
			for _, n := range []int{0, 1, 7, workload.DefaultCPUIters} {
				if _, body := get(fmt.Sprintf("/cpu?n=%d", n)); body != workload.CPUDigest(n)+"\n" {
					t.Errorf("/cpu?n=%d = %q, want workload.CPUDigest's %q", n, body, workload.CPUDigest(n))
				}
			}
			// The Go handler is the reference for every body.
			ref := httptest.NewServer(workload.New(workload.Config{}))
			defer ref.Close()
			for _, path := range []string{"/", "/json", "/cpu", "/io?ms=1", "/cpu?n=x", "/nowhere"} {
				want, err := http.Get(ref.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				wb, _ := io.ReadAll(want.Body)
				want.Body.Close()
				resp, body := get(path)
				if resp.StatusCode != want.StatusCode || body != string(wb) || resp.Header.Get("Content-Type") != want.Header.Get("Content-Type") {
					t.Errorf("%s: %d %q (%s), want %d %q (%s)", path, resp.StatusCode, body, resp.Header.Get("Content-Type"), want.StatusCode, wb, want.Header.Get("Content-Type"))
				}
			}
			if n, err := loadgen.DiscoverWorkers(context.Background(), loadgen.Options{URL: srv.URL}); n != 2 {
				t.Errorf("discovered %d workers (%v), want 2", n, err)
			}
			// Requests over new connections each say a slot and a pid, a
			// process of the server's tree; round robin reaches both.
			slots := map[string]string{}
			for i := 0; i < 200 && len(slots) < 2; i++ {
				resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get(srv.URL + "/")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				slots[resp.Header.Get("X-Worker")] = resp.Header.Get("X-Worker-Pid")
			}
			tree := srv.Pids()
			for slot, pid := range slots {
				p, _ := strconv.Atoi(pid)
				if (slot != "0" && slot != "1") || !slices.Contains(tree, p) {
					t.Errorf("X-Worker %q, X-Worker-Pid %q: not a slot of 2 or not a process of %v", slot, pid, tree)
				}
			}
			if ex.spread && len(slots) != 2 {
				t.Errorf("answers came from slots %v, want 0 and 1", slots)
			}
			// Whatever the spread, the server runs a primary and its 2
			// workers (under sh, where sh stays).
			if len(tree) < 3 {
				t.Errorf("the server's tree is %v, want a primary and 2 workers", tree)
			}
			// Stop's SIGTERM goes to the group (sh, which dash does not
			// replace, dies of it); no process of it needed the SIGKILL.
			stopped = true
			if err := srv.Stop(); err != nil {
				t.Errorf("Stop: %v", err)
			}
			if left := proc.WaitGone(append(pids, tree...), 0); len(left) > 0 {
				t.Errorf("%v outlived Stop", left)
			}
		})
	}
}

// startIn starts an example as the suite does, from dir.
func startIn(t *testing.T, dir string, v variant.Variant, command string, port int) (*child.Server, error) {
	t.Helper()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	return child.StartExternal(context.Background(), v.Name, command, "", port, child.Options{Ready: 20 * time.Second, Grace: 5 * time.Second})
}

// The done-when: the Node cluster and the Python server beside a
// built-in model at smoke scale, measured over their trees, per-worker
// shares from X-Worker, in the report, nothing left running.
func TestRunExamples(t *testing.T) {
	needProgram(t, "node")
	needProgram(t, "python3")
	out := filepath.Join(t.TempDir(), "run")
	before := leftovers(t)
	cmd := bench("run", "--profile", "smoke", "--models", "singlecore", "--workloads", "hello,cpu",
		"--server", "node-rr="+exampleServers[0].command, "--ready", `node-rr=^listening on http://\S+ workers=`,
		"--server", "py="+exampleServers[2].command, "--out", out)
	cmd.Dir = repoRoot(t)
	st, _, stderr := modeltest.RunToExit(t, cmd)
	if st != 0 {
		t.Fatalf("status %d\n%s", st, stderr)
	}
	run, err := results.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, c := range run.Cases {
		seen[c.Model]++
		if c.Error != "" || c.Summary == nil || c.Summary.RPS.Median <= 0 || c.Summary.Errors != 0 {
			t.Errorf("%s: error %q, summary %+v", c.ID, c.Error, c.Summary)
			continue
		}
		if c.Model == "singlecore" {
			continue
		}
		// sh execs the server: a primary and its 2 workers at least.
		if r := c.Repeats[0]; r.ServerProcs < 3 || r.ServerCPU <= 0 || r.ServerRSS <= 0 {
			t.Errorf("%s: %d processes, %v CPU s, %d bytes: not the whole tree", c.ID, r.ServerProcs, r.ServerCPU, r.ServerRSS)
		}
		if c.Summary.Workers != 2 || len(c.Summary.PerWorker) == 0 {
			t.Errorf("%s: %d workers, per worker %v: want X-Worker shares of 2", c.ID, c.Summary.Workers, c.Summary.PerWorker)
		}
	}
	if seen["node-rr"] != 2 || seen["py"] != 2 {
		t.Errorf("cases per model %v", seen)
	}
	if run.Servers[0].Ready == "" {
		t.Errorf("the --ready pattern is not recorded: %+v", run.Servers)
	}
	// sh stays the parent of node (dash does not exec it): the primary
	// it leaves behind at SIGTERM is bench's to reap, not init's.
	if left := leftovers(t); len(left) > len(before) {
		t.Errorf("processes left behind: %v (before the command: %v)", left, before)
	}
	md, _ := os.ReadFile(filepath.Join(out, report.MarkdownFile))
	for _, name := range []string{"node-rr", "py"} {
		if !strings.Contains(string(md), name) {
			t.Errorf("report.md does not name %s", name)
		}
	}
}

// bench scenario --server: crash SIGKILLs the worker the server's
// X-Worker-Pid names, stall stops its whole tree, and the scenarios that
// drive bench's own servers refuse it in one line; nothing is left
// running (scenarioJSON checks).
func TestScenarioExternal(t *testing.T) {
	server := "gotest=" + externalCommand()
	r, _ := scenarioJSON(t, "crash", "--server", server, "--rate", "400", "-d", "2s", "--workers", "2")
	if r.Model != "gotest" || r.Workers != 2 || len(r.Actions) != 1 || !strings.HasPrefix(r.Actions[0].Label, "SIGKILL worker ") || r.Sent == 0 {
		t.Errorf("crash: model %s, %d workers, actions %+v, sent %d", r.Model, r.Workers, r.Actions, r.Sent)
	}
	r, _ = scenarioJSON(t, "stall", "--server", server, "--rate", "400", "-d", "2s")
	if len(r.Actions) != 1 || !strings.HasPrefix(r.Actions[0].Label, "server stopped for") || r.Load.Requests == 0 {
		t.Errorf("stall: actions %+v, requests %d", r.Actions, r.Load.Requests)
	}
	for _, args := range [][]string{
		{"reload", "--server", server},
		{"state", "--server", server},
		{"crash", "--server", server, "--crash", "request"},
		{"crash", "--server", server, "--model", "singlecore"},
		{"crash", "--server", "prefork-rr=x"},
	} {
		st, _, stderr := modeltest.RunToExit(t, bench(append([]string{"scenario"}, args...)...))
		if st != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("scenario %v: status %d, stderr %q; want 2 and one line", args, st, stderr)
		}
	}
	// A server with no X-Worker-Pid cannot be crashed: one line, exit 1,
	// nothing measured or written.
	out := filepath.Join(t.TempDir(), "out")
	st, _, stderr := modeltest.RunToExit(t, bench("scenario", "crash", "--out", out, "--server", "mute="+fmt.Sprintf("%s=mute exec %q --port {port}", externalEnv, os.Args[0])))
	if st != 1 || !strings.Contains(stderr, "sends no X-Worker-Pid header") {
		t.Errorf("crash without X-Worker-Pid: status %d, stderr %q", st, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a refused crash wrote %s", out)
	}
}

// --dry-run lists an external server's cases and its command; a bad
// --server or --ready is a usage error of one line.
func TestRunExternalFlags(t *testing.T) {
	st, stdout, stderr := modeltest.RunToExit(t, bench("run", "--profile", "smoke", "--dry-run", "--json", "--server", "node=node x.js --port {port} --workers {workers}"))
	if st != 0 {
		t.Fatalf("status %d: %s", st, stderr)
	}
	var p plan
	if err := json.Unmarshal([]byte(stdout), &p); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range p.Cases {
		if c.Model == "node" {
			n++
		}
	}
	if n != 2 || len(p.Servers) != 1 || p.Servers[0].Command != "node x.js --port {port} --workers {workers}" {
		t.Errorf("plan: %d node cases, servers %+v", n, p.Servers)
	}
	for _, args := range [][]string{
		{"--server", "singlecore=node x.js"},
		{"--server", "Node=node x.js"},
		{"--server", "node"},
		{"--server", "a=x", "--server", "a=y"},
		{"--server", "a=x", "--ready", "b=y"},
		{"--server", "a=x", "--ready", "a=("},
		{"--ready-timeout", "-1s"},
		{"--server", "a=x", "--server-host", "root@127.0.0.1"},
	} {
		st, _, stderr := modeltest.RunToExit(t, bench(append([]string{"run", "--dry-run"}, args...)...))
		if st != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("run %v: status %d, stderr %q; want 2 and one line", args, st, stderr)
		}
	}
}
