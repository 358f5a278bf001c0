package remote

import (
	"context"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/internal/proc"
	"github.com/corebench/corebench/internal/sshdtest"
	"github.com/corebench/corebench/loadgen"
)

func TestParseSpec(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"host", "host", true},
		{"root@10.0.0.1", "root@10.0.0.1", true},
		{"root@10.0.0.1:2222", "root@10.0.0.1:2222", true},
		{"[::1]:22", "[::1]:22", true},
		{"::1", "::1", true},
		{"u@h:0", "", false},
		{"u@h:x", "", false},
		{"@h", "", false},
		{"", "", false},
		{"-oProxyCommand=x", "", false},
		{"a b", "", false},
	} {
		sp, err := ParseSpec(c.in)
		if (err == nil) != c.ok || c.ok && sp.String() != c.want {
			t.Errorf("ParseSpec(%q) = %q, %v; want %q, ok %v", c.in, sp.String(), err, c.want, c.ok)
		}
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{"abc": "abc", "/tmp/x y": "'/tmp/x y'", "it's": `'it'\''s'`, "": "''", "a;b": "'a;b'"} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

// buildBench builds the bench binary the hosts get.
func buildBench(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "bench")
	cmd := exec.Command("go", "build", "-o", exe, "github.com/corebench/corebench/cmd/bench")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return exe
}

// TestDialShipClockClose: Dial ships the binary into a temporary
// directory, learns the machine (its CPUs from bench there) and measures
// the clock (this very
// clock: the offset is within half the round trip); Close removes the
// directory. An unreachable host and a refused key fail with one line
// naming the host.
func TestDialShipClockClose(t *testing.T) {
	srv := sshdtest.Start(t, "127.0.0.1", "127.0.0.2")
	exe := buildBench(t)
	spec := "root@127.0.0.1:" + srv.Port
	h, err := Dial(context.Background(), spec, Options{SSH: srv.SSH, Exe: exe})
	if err != nil {
		t.Fatal(err)
	}
	if h.Dir == "" || h.Bench != h.Dir+"/bench" || h.Address != "127.0.0.1" || h.Machine.CPUs < 1 || h.Machine.Kernel == "" {
		t.Errorf("host %+v", h)
	}
	// This very machine: the CPUs its bench serve may name are ours.
	if cpus, err := affinity.Available(); err != nil || !slices.Equal(h.Machine.CPUList, cpus) {
		t.Errorf("CPU list %v, want this machine's cpuset, %v (%v)", h.Machine.CPUList, cpus, err)
	}
	if _, err := os.Stat(h.Bench); err != nil {
		t.Errorf("shipped binary: %v", err)
	}
	if c := h.Clock; c.Samples != clockRounds || c.RTTMs <= 0 || math.Abs(c.OffsetMs) > c.RTTMs/2+1e-3 {
		t.Errorf("clock %+v: one machine's clock should be within half the round trip of itself", c)
	}
	dir := h.Dir
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("after Close, %s: %v", dir, err)
	}

	// An alias of the ssh configuration: ssh reaches it at its HostName,
	// and so does HTTP.
	config := filepath.Join(t.TempDir(), "ssh_config")
	if err := os.WriteFile(config, []byte("Host srv\n  HostName 127.0.0.2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	aliasSSH := append([]string{}, srv.SSH...)
	aliasSSH[slices.Index(aliasSSH, "-F")+1] = config
	a, err := Dial(context.Background(), "root@srv:"+srv.Port, Options{SSH: aliasSSH, Exe: exe})
	if err != nil {
		t.Fatal(err)
	}
	if a.Address != "127.0.0.2" || a.Spec.Host != "srv" {
		t.Errorf("through the alias srv: address %q, host %q; want 127.0.0.2, srv", a.Address, a.Spec.Host)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	bad := filepath.Join(t.TempDir(), "other")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", bad).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	badSSH := append([]string{}, srv.SSH...)
	for i, a := range badSSH {
		if a == "-i" {
			badSSH[i+1] = bad
		}
	}
	for _, c := range []struct {
		spec string
		ssh  []string
		want string
	}{
		{"root@127.0.0.1:" + strconv.Itoa(closed), srv.SSH, "Connection refused"},
		{spec, badSSH, "Permission denied"},
	} {
		_, err := Dial(context.Background(), c.spec, Options{SSH: c.ssh, Exe: exe})
		if err == nil || !strings.HasPrefix(err.Error(), "host "+c.spec+": ") || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Dial %s: %v; want one line naming the host and %q", c.spec, err, c.want)
		}
	}
}

// TestFleet: two load hosts send the two segments of one open loop,
// which add up exactly to the one-process schedule, each recorded with
// its clock offset.
func TestFleet(t *testing.T) {
	srv := sshdtest.Start(t, "127.0.0.1", "127.0.0.2")
	exe := buildBench(t)
	var served atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != loadgen.DiscoverPath {
			served.Add(1)
		}
	}))
	defer target.Close()
	var f Fleet
	for _, a := range []string{"127.0.0.1", "127.0.0.2"} {
		h, err := Dial(context.Background(), "root@"+a+":"+srv.Port, Options{SSH: srv.SSH, Exe: exe})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		f.Hosts = append(f.Hosts, h)
	}
	s, err := f.Generate(context.Background(), loadgen.Load{URL: target.URL, Connections: 4, Rate: 400, Duration: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests+s.Unsent != 200 || s.Requests != served.Load() || len(s.LoadHosts) != 2 {
		t.Fatalf("%d requests + %d unsent (want 200 at 400/s over 0.5 s), server %d, %d hosts", s.Requests, s.Unsent, served.Load(), len(s.LoadHosts))
	}
	var sum int64
	for i, h := range s.LoadHosts {
		sum += h.Requests
		if h.ClockOffsetMs == nil || h.Segment != []string{"1/2", "2/2"}[i] || h.Requests == 0 {
			t.Errorf("host row %+v", h)
		}
	}
	if sum != s.Requests {
		t.Errorf("host rows add up to %d, want %d", sum, s.Requests)
	}
	// A closed loop of one connection, as a connection sweep starts:
	// one host sends it, whole, rather than every host failing.
	served.Store(0)
	s, err = f.Generate(context.Background(), loadgen.Load{URL: target.URL, Connections: 1, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if s.Connections != 1 || len(s.LoadHosts) != 1 || s.Requests == 0 || s.Requests != served.Load() {
		t.Errorf("one connection from two hosts: %d connections, %d host rows, %d requests, server %d", s.Connections, len(s.LoadHosts), s.Requests, served.Load())
	}
}

// TestDialFindsSameBinary: a bench on the host's PATH that is this very
// binary is used as is, nothing shipped; one that differs is not.
func TestDialFindsSameBinary(t *testing.T) {
	exe := buildBench(t)
	dir := filepath.Dir(exe)
	srv := sshdtest.StartWith(t, sshdtest.Config{Path: dir + ":/usr/bin:/bin"})
	spec := "root@127.0.0.1:" + srv.Port
	h, err := Dial(context.Background(), spec, Options{SSH: srv.SSH, Exe: exe})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if h.Dir != "" || h.Bench != exe {
		t.Errorf("the same bench on PATH: dir %q, bench %q; want none shipped, %s used", h.Dir, h.Bench, exe)
	}
	other := filepath.Join(t.TempDir(), "bench")
	b, _ := os.ReadFile(exe)
	if err := os.WriteFile(other, append(b, 0), 0o755); err != nil { // another binary
		t.Fatal(err)
	}
	h2, err := Dial(context.Background(), spec, Options{SSH: srv.SSH, Exe: other})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	if h2.Dir == "" {
		t.Errorf("a different bench on PATH was used: %q", h2.Bench)
	}
}

// TestFleetHostDies: a load host's attack killed mid-load fails the
// load with one line naming that host.
func TestFleetHostDies(t *testing.T) {
	srv := sshdtest.Start(t, "127.0.0.1", "127.0.0.2")
	exe := buildBench(t)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer target.Close()
	var f Fleet
	for _, a := range []string{"127.0.0.1", "127.0.0.2"} {
		h, err := Dial(context.Background(), "root@"+a+":"+srv.Port, Options{SSH: srv.SSH, Exe: exe})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		f.Hosts = append(f.Hosts, h)
	}
	victim := f.Hosts[1].Bench
	done := make(chan error, 1)
	go func() {
		_, err := f.Generate(context.Background(), loadgen.Load{URL: target.URL, Connections: 2, Duration: time.Minute, Workers: 1})
		done <- err
	}()
	// Kill host 2's bench attack once it runs (polling /proc: the process
	// is another session's, with nothing to wait on).
	deadline := time.After(time.Minute)
	for killed := false; !killed; {
		for _, p := range proc.All() {
			exe, _ := proc.Exe(p)
			if args := proc.Cmdline(p); exe == victim && len(args) > 1 && args[1] == "attack" {
				killed = syscall.Kill(p, syscall.SIGKILL) == nil
			}
		}
		if killed {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Generate returned before the kill: %v", err)
		case <-deadline:
			t.Fatal("host 2's bench attack was not running after a minute")
		case <-time.After(20 * time.Millisecond):
		}
	}
	select {
	case err := <-done:
		if err == nil || err.Error() != "host root@127.0.0.2:"+srv.Port+": bench lifeline: bench attack was killed by signal killed" {
			t.Errorf("Generate after a load host died: %v; want one line naming it", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("Generate did not return after a load host died")
	}
}

func TestAttackArgs(t *testing.T) {
	at := time.Date(2026, 12, 1, 20, 0, 5, 0, time.UTC)
	got := strings.Join(attackArgs(loadgen.Load{URL: "http://s:1/", Connections: 10, Rate: 999.6, Duration: 2 * time.Second, NoKeepAlive: true, Engine: "vegeta", Workers: 3},
		loadgen.Segment{Index: 2, Count: 3}, at, "0-1"), " ")
	want := "attack http://s:1/ -c 10 -d 2s --segment 2/3 --start-at 2026-12-01T20:00:05Z --start-late-ok --json --rate 1000 --no-keepalive --engine vegeta --workers 3 --cpus 0-1"
	if got != want {
		t.Errorf("attack args\n%s\nwant\n%s", got, want)
	}
}

// TestCPUCounter: the counters grow by each process's CPU since the
// reading before, so a worker restarted between two readings takes
// nothing away, nor one that could not be read.
func TestCPUCounter(t *testing.T) {
	var c cpuCounter
	c.add(Reading{CPU: proc.CPU{10: 1, 11: 4, 12: 4}, Masters: []int{10}})
	cpu, master := c.cpu, c.master
	// Worker 11 was replaced by 13; 12 could not be read.
	c.add(Reading{CPU: proc.CPU{10: 1.5, 13: 0.25}, Masters: []int{10}})
	if d, m := c.cpu-cpu, c.master-master; d != 0.75 || m != 0.5 {
		t.Errorf("CPU since: %v, master %v; want 0.75 (the master's 0.5 and the new worker's 0.25), 0.5", d, m)
	}
	cpu = c.cpu
	c.add(Reading{CPU: proc.CPU{10: 2, 12: 5, 13: 0.5}, Masters: []int{10}})
	if d := c.cpu - cpu; d != 0.5+5+0.25 {
		t.Errorf("CPU since: %v; want 5.75, worker 12 from its birth as it was not read before", d)
	}
}
