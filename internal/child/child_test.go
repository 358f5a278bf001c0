//go:build linux

package child

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/internal/proc"
)

// The test binary plays the child when helperEnv names a behaviour.
const helperEnv = "CHILD_TEST_HELPER"

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		helper(h)
		return
	}
	os.Exit(m.Run())
}

// helper is a child: it logs, prints its listening line (or not) and
// then behaves as told until SIGTERM, or ignores it.
func helper(how string) {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	fmt.Fprintln(os.Stderr, "starting up")
	switch how {
	case "exit":
		fmt.Fprintln(os.Stderr, "pretend the port is taken")
		os.Exit(1)
	case "chatty":
		fmt.Println("hello before the listening line")
	case "silent":
		<-term
		os.Exit(0)
	case "sleeper":
		// A worker that ignores SIGTERM, as a careless fork might.
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ignoring SIGTERM")
		time.Sleep(time.Hour) // until killed
	case "external", "external-exit", "external-silent", "external-line":
		// An external server: it forks a worker that holds the pipes, says
		// its pid, then listens on CHILD_TEST_ADDR, exits, waits, or says
		// it is ready on stdout.
		w := exec.Command(os.Args[0], "-test.run=^$")
		w.Env = append(os.Environ(), helperEnv+"=sleeper")
		w.Stderr = os.Stderr
		out, err := w.StdoutPipe()
		if err != nil {
			panic(err)
		}
		if err := w.Start(); err != nil {
			panic(err)
		}
		out.Read(make([]byte, 64)) // it ignores SIGTERM now
		fmt.Fprintf(os.Stderr, "worker pid %d\n", w.Process.Pid)
		switch how {
		case "external-exit":
			fmt.Fprintln(os.Stderr, "cannot bind: pretend the port is taken")
			os.Exit(3)
		case "external-silent":
			<-term
			os.Exit(0)
		case "external-line":
			fmt.Println("server up, say so")
			<-term
			os.Exit(0)
		}
		ln, err := net.Listen("tcp", os.Getenv("CHILD_TEST_ADDR"))
		if err != nil {
			panic(err)
		}
		defer ln.Close()
		<-term
		os.Exit(0)
	case "stubborn-master":
		// Master and worker of one process group both ignore SIGTERM;
		// the worker holds the stdout pipe, as a prefork worker does.
		w := exec.Command(os.Args[0], "-test.run=^$")
		w.Env = append(os.Environ(), helperEnv+"=stubborn")
		w.Stdout = os.Stdout
		if err := w.Start(); err != nil {
			panic(err)
		}
		fallthrough
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("listening on http://127.0.0.1:1 model=stubborn")
		time.Sleep(time.Hour) // until killed
	}
	fmt.Println("listening on http://127.0.0.1:9 model=fake workers=1")
	fmt.Print("a last line without newline")
	<-term
	fmt.Fprintln(os.Stderr, "draining")
	os.Exit(0)
}

func helperCmd(how string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+how)
	return cmd
}

// collect gathers the lines a child prints, safely across goroutines.
type collect struct {
	mu    sync.Mutex
	lines []string
}

func (c *collect) add(l string) { c.mu.Lock(); c.lines = append(c.lines, l); c.mu.Unlock() }
func (c *collect) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lines)
}

func TestStartStop(t *testing.T) {
	var out, errs collect
	s, err := Start(context.Background(), helperCmd("serve"), Options{Grace: 10 * time.Second, Strict: true, Stdout: out.add, Stderr: errs.add})
	if err != nil {
		t.Fatal(err)
	}
	if s.URL != "http://127.0.0.1:9" || !strings.Contains(s.Line, "model=fake") {
		t.Errorf("URL %q, line %q", s.URL, s.Line)
	}
	if s.Dead() != nil {
		t.Errorf("Dead() = %v while it runs", s.Dead())
	}
	if err := s.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if st := s.Status(); st != 0 {
		t.Errorf("exit status %d after a drain, want 0", st)
	}
	want := []string{"listening on http://127.0.0.1:9 model=fake workers=1", "a last line without newline"}
	if got := out.all(); !slices.Equal(got, want) {
		t.Errorf("stdout lines %q, want %q", got, want)
	}
	if got := errs.all(); !slices.Equal(got, []string{"starting up", "draining"}) || s.LastLog() != "draining" {
		t.Errorf("stderr lines %q, last %q", got, s.LastLog())
	}
}

func TestStartFails(t *testing.T) {
	for _, tt := range []struct {
		how    string
		o      Options
		want   string
		status bool
	}{
		{"exit", Options{}, "exited before it was ready (exit status 1): starting up | pretend the port is taken", true},
		{"chatty", Options{Strict: true}, `unexpected stdout line before the listening line: "hello before the listening line"`, false},
		{"silent", Options{Ready: 50 * time.Millisecond}, "not ready within 50ms: starting up", false},
	} {
		s, err := Start(context.Background(), helperCmd(tt.how), tt.o)
		if s != nil || err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Start = %v, %v; want an error saying %q", tt.how, s, err, tt.want)
		}
	}
	// Not strict, a line before the listening line is no failure.
	s, err := Start(context.Background(), helperCmd("chatty"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Error(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Start(ctx, helperCmd("silent"), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// A server that ignores SIGTERM is killed after the grace period, and a
// worker that does is killed with its process group.
func TestStopKills(t *testing.T) {
	s, err := Start(context.Background(), helperCmd("stubborn"), Options{Grace: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err == nil || !strings.Contains(err.Error(), "ignored SIGTERM for 100ms and was killed") {
		t.Errorf("Stop = %v", err)
	}
	if st := s.Status(); st != -1 {
		t.Errorf("status %d, want -1 (killed)", st)
	}

	s, err = Start(context.Background(), helperCmd("stubborn-master"), Options{Grace: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	pids := s.Pids()
	if len(pids) != 2 {
		t.Fatalf("processes %v, want the master and its worker", pids)
	}
	if err := s.Stop(); err == nil || !strings.Contains(err.Error(), "was killed") {
		t.Errorf("Stop = %v", err)
	}
	// The worker went with the process group, at once: no wait for it.
	if left := proc.WaitGone(pids[1:], 0); len(left) > 0 {
		t.Errorf("worker %v outlived Stop", left)
	}
}

// A command that is no server runs to its end; its last lines are in
// once it has exited.
func TestNotServer(t *testing.T) {
	var out collect
	listening := make(chan bool, 1)
	s, err := Start(context.Background(), helperCmd("serve"), Options{NotServer: true, Stdout: func(l string) {
		if out.add(l); strings.HasPrefix(l, "listening on") {
			listening <- true // it handles SIGTERM by now
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if s.URL != "" {
		t.Errorf("URL %q for a command", s.URL)
	}
	<-listening
	if err := s.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-s.Exited()
	if got := out.all(); len(got) != 2 || got[1] != "a last line without newline" {
		t.Errorf("stdout %q", got)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("Stop after exit: %v", err)
	}
}

// freeAddr returns a loopback address nobody listens on just now.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// workerPid is the pid an external helper logged for its worker.
func workerPid(t *testing.T, log string) int {
	m := regexp.MustCompile(`worker pid (\d+)`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no worker pid in %q", log)
	}
	pid, _ := strconv.Atoi(m[1])
	return pid
}

// An external server is ready when its port accepts, or when it prints
// a line of the caller's pattern; its group goes at Stop, the worker that
// ignores SIGTERM too.
func TestExternal(t *testing.T) {
	for _, tt := range []struct {
		how  string
		line *regexp.Regexp
	}{{"external", nil}, {"external-line", regexp.MustCompile(`server up`)}} {
		addr := freeAddr(t)
		cmd := helperCmd(tt.how)
		cmd.Env = append(cmd.Env, "CHILD_TEST_ADDR="+addr)
		var errs collect
		allowed, _ := affinity.Allowed()
		cpu := allowed[len(allowed)-1]
		s, err := Start(context.Background(), cmd, Options{Addr: addr, ReadyLine: tt.line, Group: true, Grace: 100 * time.Millisecond, Stderr: errs.add, CPUs: []int{cpu}})
		if err != nil {
			t.Fatal(err)
		}
		if s.URL != "http://"+addr {
			t.Errorf("%s: URL %q, want http://%s", tt.how, s.URL, addr)
		}
		pids := s.Pids()
		if len(pids) != 2 {
			t.Errorf("%s: processes %v, want the server and its worker", tt.how, pids)
		}
		// Pinned from the start, and the worker it forked inherits it.
		for _, pid := range pids {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if !strings.Contains(string(b), fmt.Sprintf("Cpus_allowed_list:\t%d\n", cpu)) {
				t.Errorf("%s: process %d is not pinned to CPU %d", tt.how, pid, cpu)
			}
		}
		// The server drains; its worker ignores the group's SIGTERM and is
		// killed after the grace period.
		if err := s.Stop(); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("[%d] ignored SIGTERM for 100ms and were killed", pids[1])) {
			t.Errorf("%s: Stop = %v, want the worker killed", tt.how, err)
		}
		if st := s.Status(); st != 0 {
			t.Errorf("%s: status %d, want 0: it drained", tt.how, st)
		}
		if left := proc.WaitGone(pids, 0); len(left) > 0 {
			t.Errorf("%s: %v outlived Stop", tt.how, left)
		}
	}
}

// An external server that exits early or never listens fails Start with
// its stderr tail, and the worker it forked is gone when Start returns.
func TestExternalFails(t *testing.T) {
	for _, tt := range []struct{ how, want string }{
		{"external-exit", "server exited before it was ready (exit status 3): starting up | worker pid "},
		{"external-silent", "server not ready within 200ms: starting up | starting up | worker pid "},
	} {
		addr := freeAddr(t)
		cmd := helperCmd(tt.how)
		cmd.Env = append(cmd.Env, "CHILD_TEST_ADDR="+addr)
		s, err := Start(context.Background(), cmd, Options{Addr: addr, Group: true, Ready: 200 * time.Millisecond, Grace: 100 * time.Millisecond})
		if s != nil || err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Fatalf("%s: Start = %v, %v; want an error saying %q", tt.how, s, err, tt.want)
		}
		if tt.how == "external-exit" && !strings.HasSuffix(err.Error(), "cannot bind: pretend the port is taken") {
			t.Errorf("%s: error %q does not end with its last stderr line", tt.how, err)
		}
		if left := proc.WaitGone([]int{workerPid(t, err.Error())}, 0); len(left) > 0 {
			t.Errorf("%s: worker %v outlived the failed Start", tt.how, left)
		}
	}
}
