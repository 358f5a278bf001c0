// Package acrosshosts tests bench run across hosts: servers on one,
// load from two more, all this machine through a test sshd (127.0.0.1 and
// 127.0.0.2). bench run ships a real bench binary to each host, so these
// tests build one from ../ and run it; they need nothing of cmd/bench's
// test binary, and as a package of their own they run beside cmd/bench's
// tests rather than after them.
package acrosshosts

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corebench/corebench/internal/proc"
	"github.com/corebench/corebench/internal/sshdtest"
	"github.com/corebench/corebench/models/modeltest"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/variant"
)

func TestMain(m *testing.M) {
	// What the shipped processes leave when their parents exit first
	// becomes this process's to reap (settled).
	if err := modeltest.ReapOrphans(); err != nil {
		panic(err)
	}
	st := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(st)
}

// built is the bench binary the tests run and bench run ships, built once.
var built struct {
	once sync.Once
	dir  string
	exe  string
	err  error
}

// benchBinary builds a static bench from the tree (CGO off, as shipped
// to another machine) the first time a test asks.
func benchBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "acrosshosts-"); built.err != nil {
			return
		}
		built.exe = filepath.Join(built.dir, "bench")
		cmd := exec.Command("go", "build", "-o", built.exe, "..")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.exe
}

// hostsRun is a bench run command line with a server host and two load
// hosts, all this machine through a test sshd: the load hosts at
// 127.0.0.1 and 127.0.0.2, each its own ssh session and segment.
func hostsRun(t *testing.T, out string, extra ...string) *exec.Cmd {
	srv := sshdtest.Start(t, "127.0.0.1", "127.0.0.2")
	ssh := strings.Join(srv.SSH, " ")
	args := append([]string{"run", "--profile", "smoke", "--out", out, "--ssh", ssh,
		"--server-host", "root@127.0.0.1:" + srv.Port,
		"--loadgen-host", "root@127.0.0.1:" + srv.Port, "--loadgen-host", "root@127.0.0.2:" + srv.Port}, extra...)
	return exec.Command(benchBinary(t), args...)
}

// leftovers are this process's descendants: what the tests started and
// did not stop (the test sshd among them).
func leftovers(t *testing.T) []int {
	t.Helper()
	return proc.Tree(os.Getpid())[1:]
}

func oneLine(s string) bool {
	return strings.HasSuffix(s, "\n") && strings.Count(s, "\n") == 1 && len(strings.TrimSpace(s)) > 0
}

// leftOnHosts lists the processes still running a binary shipped to the
// run's hosts: every one of them must be gone when bench run returns.
func leftOnHosts(t *testing.T, run *results.Run) []string {
	t.Helper()
	var dirs []string
	for _, h := range run.Env.Hosts {
		if !h.Shipped {
			t.Errorf("host %s: bench not shipped into a temporary directory: %+v", h.Host, h)
			continue
		}
		dirs = append(dirs, filepath.Dir(h.Bench)+"/")
		if _, err := os.Stat(filepath.Dir(h.Bench)); !os.IsNotExist(err) {
			t.Errorf("host %s: %s not removed (%v)", h.Host, filepath.Dir(h.Bench), err)
		}
	}
	var left []string
	for _, p := range proc.All() {
		exe, ok := proc.Exe(p)
		if !ok {
			continue
		}
		for _, d := range dirs {
			if strings.HasPrefix(exe, d) {
				left = append(left, strconv.Itoa(p)+" "+strings.Join(proc.Cmdline(p), " "))
			}
		}
	}
	return left
}

// TestRunAcrossHosts: a smoke run with its servers on a host and its load
// from two more, over ssh, of one model with one process and one with a
// master and workers (the rest add nothing remote): every case measured, each repeat's load split
// between the two load hosts with their clock offsets, the parts adding
// up, the hosts described, and nothing left running on any of them.
func TestRunAcrossHosts(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	sockets := controlSockets(t)
	s := modeltest.StartCommand(t, hostsRun(t, out, "--models", "singlecore,prefork-rr"))
	if st := s.Wait(5 * time.Minute); st != 0 {
		t.Fatalf("bench run across hosts: status %d\n%s", st, s.Stderr())
	}
	// A remote master stopped at the end of its case drains and removes
	// its control socket: one whose master is gone did not.
	for name := range controlSockets(t) {
		var pid int
		if _, err := fmt.Sscanf(name, "master-%d.sock", &pid); err == nil && !sockets[name] && syscall.Kill(pid, 0) != nil {
			t.Errorf("%s is left, and its master is gone: it did not stop cleanly", name)
		}
	}
	run, err := results.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if !run.Complete || len(run.Env.Hosts) != 3 || run.Env.Hosts[0].Role != "server" || run.Env.Hosts[0].CPUs < 1 {
		t.Fatalf("complete %v, hosts %+v", run.Complete, run.Env.Hosts)
	}
	if !strings.Contains(run.Placement.Note, "servers on root@127.0.0.1") {
		t.Errorf("placement note %q", run.Placement.Note)
	}
	for _, c := range run.Cases {
		if c.Error != "" || c.Summary == nil || c.Summary.Requests == 0 {
			t.Errorf("case %s: error %q", c.ID, c.Error)
			continue
		}
		// The server's CPU and memory, read on its host.
		if c.Summary.ServerCPUPerReq.Median <= 0 || c.Repeats[0].ServerProcs < 1 || c.Repeats[0].ServerRSS <= 0 {
			t.Errorf("case %s: server CPU per request %v, %d processes, RSS %d", c.ID, c.Summary.ServerCPUPerReq.Median, c.Repeats[0].ServerProcs, c.Repeats[0].ServerRSS)
		}
		if v, _ := variant.Lookup(c.Model); v.Prefork() && c.Repeats[0].ServerProcs != c.Workers+1 {
			t.Errorf("case %s: %d server processes, want the master and %d workers", c.ID, c.Repeats[0].ServerProcs, c.Workers)
		}
		for i, r := range c.Repeats {
			hs := r.Load.LoadHosts
			var sum int64
			for _, h := range hs {
				sum += h.Requests
				if h.ClockOffsetMs == nil || h.Requests == 0 {
					t.Errorf("case %s repeat %d: host row %+v", c.ID, i, h)
				}
			}
			if len(hs) != 2 || hs[0].Host != "root@127.0.0.1:"+strings.Split(hs[0].Host, ":")[1] || sum != r.Load.Requests {
				t.Errorf("case %s repeat %d: %d load hosts adding up to %d of %d requests", c.ID, i, len(hs), sum, r.Load.Requests)
			}
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil || !strings.Contains(string(md), "root@127.0.0.2") {
		t.Errorf("report.md does not list the hosts (%v)", err)
	}
	if left := leftOnHosts(t, run); len(left) > 0 {
		t.Errorf("left running on the hosts: %v", left)
	}
	settled(t)
}

// TestRunAcrossHostsInterrupted: Ctrl-C mid-run stops the remote servers
// and generators, saves what was measured, and leaves nothing running.
func TestRunAcrossHostsInterrupted(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	s := modeltest.StartCommand(t, hostsRun(t, out, "--duration", "3s"))
	s.WaitLog(regexp.MustCompile(`^\[1/\d+\] `), 0, 120*time.Second)
	s.Signal(syscall.SIGINT)
	if st := s.Wait(60 * time.Second); st != 1 {
		t.Errorf("exit status %d after Ctrl-C, want 1\n%s", st, s.Stderr())
	}
	run, err := results.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if run.Complete || len(run.Cases) < 1 || run.Cases[0].Summary == nil {
		t.Fatalf("after Ctrl-C: complete %v, %d cases\n%s", run.Complete, len(run.Cases), s.Stderr())
	}
	if left := leftOnHosts(t, run); len(left) > 0 {
		t.Errorf("left running on the hosts: %v", left)
	}
	settled(t)
}

// settled checks that nothing this test started runs any more, but the
// test sshd, and reaps what is dead: the remote processes run under the
// test's sshd, so those whose parents exit first come to this process,
// the subreaper (TestMain), to be reaped.
func settled(t *testing.T) {
	t.Helper()
	var dead []int
	for _, p := range leftovers(t) {
		st, ok := proc.ReadStat(p)
		switch {
		case !ok: // gone meanwhile
		case strings.HasPrefix(st.Comm, "sshd"):
		case st.State == 'Z':
			dead = append(dead, p)
		default:
			t.Errorf("left running: %d %s", p, strings.Join(proc.Cmdline(p), " "))
		}
	}
	proc.WaitGone(dead, 10*time.Second)
}

// TestRunHostUnreachable: a host nothing answers on fails the run at
// once, with one line naming it.
func TestRunHostUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := "root@" + ln.Addr().String()
	ln.Close()
	st, stdout, stderr := modeltest.RunToExit(t, exec.Command(benchBinary(t), "run", "--profile", "smoke", "--out", t.TempDir(), "--loadgen-host", host,
		"--ssh", "ssh -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"))
	if st != 1 || stdout != "" || !oneLine(stderr) || !strings.HasPrefix(stderr, "bench run: host "+host+": ") || !strings.Contains(stderr, "Connection refused") {
		t.Errorf("status %d, stdout %q, stderr %q; want status 1 and one line naming %s", st, stdout, stderr, host)
	}
	for _, args := range [][]string{
		{"run", "--loadgen-host", "a b"},
		{"run", "--server-host", "u@h:99999"},
		{"run", "--loadgen-host", "h", "--loadgen-host", "h"},
		{"run", "--loadgen-host", "h", "--ssh", "ssh 'unterminated"},
	} {
		st, stdout, stderr := modeltest.RunToExit(t, exec.Command(benchBinary(t), args...))
		if st != 2 || stdout != "" || !oneLine(stderr) {
			t.Errorf("bench %s: status %d, stdout %q, stderr %q; want status 2 and one line", strings.Join(args, " "), st, stdout, stderr)
		}
	}
}

// TestRunAcrossHostsServerDies: the server host's server killed mid-case
// fails that case with an error naming the host; the run saves it, and
// nothing is left running.
func TestRunAcrossHostsServerDies(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	s := modeltest.StartCommand(t, hostsRun(t, out, "--models", "singlecore", "--workloads", "hello", "--duration", "20s"))
	// The server, once it listens: a shipped bench running serve (not its
	// lifeline, bench lifeline -- bench serve), below this process (the
	// test sshd's session): other packages' tests ship bench too.
	var pid int
	for deadline := time.Now().Add(2 * time.Minute); pid == 0; {
		if s.Exited() {
			t.Fatalf("bench run exited first:\n%s", s.Stderr())
		}
		if time.Now().After(deadline) {
			t.Fatalf("no shipped bench serve running after 2 minutes:\n%s", s.Stderr())
		}
		for _, p := range proc.Tree(os.Getpid()) {
			exe, _ := proc.Exe(p)
			if args := proc.Cmdline(p); strings.HasPrefix(exe, os.TempDir()+"/corebench.") && len(args) > 1 && args[1] == "serve" {
				pid = p
			}
		}
		if pid == 0 {
			time.Sleep(20 * time.Millisecond) // polling /proc: no event to wait on for another session's process
		}
	}
	s.WaitLog(regexp.MustCompile(`^bench run: profile`), 0, 60*time.Second)
	syscall.Kill(pid, syscall.SIGKILL)
	if st := s.Wait(2 * time.Minute); st != 1 {
		t.Errorf("exit status %d, want 1\n%s", st, s.Stderr())
	}
	run, err := results.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Cases) != 1 || !strings.HasPrefix(run.Cases[0].Error, "server host 127.0.0.1: ") || strings.Contains(run.Cases[0].Error, "\n") {
		t.Errorf("cases %+v; want one, its error one line naming the server host", run.Cases)
	}
	if left := leftOnHosts(t, run); len(left) > 0 {
		t.Errorf("left running on the hosts: %v", left)
	}
	settled(t)
}

// controlSockets are the names in the prefork masters' socket directory.
func controlSockets(t *testing.T) map[string]bool {
	t.Helper()
	es, _ := os.ReadDir(filepath.Join(os.TempDir(), fmt.Sprintf("corebench-%d", os.Getuid())))
	out := map[string]bool{}
	for _, e := range es {
		out[e.Name()] = true
	}
	return out
}
