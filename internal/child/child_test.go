//go:build linux

package child

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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
		{"exit", Options{}, "exited before it was ready (exit status 1): pretend the port is taken", true},
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
