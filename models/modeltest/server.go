//go:build linux

// Package modeltest is the conformance suite every model variant passes,
// shaped like nettest.TestConn: the caller says how to start a `bench
// serve` process, Run checks the CLI contract and the workload against it.
//
// Servers are real processes and everything waits on events (the
// listening line, a log line, a pidfd), never on sleeps. Call
// ReapOrphans in TestMain so workers orphaned by a killed master are
// reparented to the test and reaped by it.
package modeltest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corebench/corebench/internal/child"
	"github.com/corebench/corebench/internal/proc"
)

// Server is a running `bench serve` under test.
type Server struct {
	URL  string            // http://HOST:PORT
	Addr string            // HOST:PORT
	PID  int               // the server's (master's) pid
	Info map[string]string // the key=value fields of the listening line

	t      testing.TB
	srv    *child.Server
	logs   *lines
	stdout *lines // StartCommand only
}

// ReapOrphans makes this process a child subreaper, so workers whose
// master was killed become its children and can be reaped by WaitGone.
func ReapOrphans() error { return proc.ReapOrphans() }

// WaitGone waits until every pid has exited and returns (and kills) those
// still alive after timeout.
func WaitGone(pids []int, timeout time.Duration) []int { return proc.WaitGone(pids, timeout) }

var listening = regexp.MustCompile(`listening on (http://(\S+))`)

// Start runs cmd, waits for its listening line and stops it when the test
// ends. It fails the test when the process exits, stays silent or prints
// anything else on stdout instead.
func Start(t testing.TB, cmd *exec.Cmd) *Server {
	t.Helper()
	s, err := start(t, cmd, false)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// StartCommand runs cmd, a command that is not a server, until the test
// ends, without waiting for anything: its stderr lines can be awaited
// with WaitLog, its stdout read with Stdout once it has exited.
func StartCommand(t testing.TB, cmd *exec.Cmd) *Server {
	t.Helper()
	s, err := start(t, cmd, true)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Stdout returns what a command started with StartCommand printed on
// stdout.
func (s *Server) Stdout() string { return s.stdout.String() }

// start runs cmd with internal/child, as the suite runs servers, keeping
// every stderr line for WaitLog. A server is held to the CLI contract:
// one stdout line, the listening line.
func start(t testing.TB, cmd *exec.Cmd, notServer bool) (*Server, error) {
	s := &Server{t: t, logs: newLines(), stdout: newLines()}
	o := child.Options{Ready: 30 * time.Second, Grace: 20 * time.Second, NotServer: notServer, Strict: true, Stderr: s.logs.add}
	if notServer {
		o.Stdout = s.stdout.add
	} else {
		n := 0
		o.Stdout = func(l string) {
			if n++; n > 1 {
				t.Errorf("server printed a second stdout line: %q", l)
			}
		}
	}
	srv, err := child.Start(context.Background(), cmd, o)
	if err != nil {
		return nil, fmt.Errorf("%v; stderr:\n%s", err, s.logs.String())
	}
	s.srv, s.PID = srv, srv.PID()
	t.Cleanup(s.cleanup)
	if !notServer {
		m := listening.FindStringSubmatch(srv.Line)
		s.URL, s.Addr, s.Info = m[1], m[2], fields(srv.Line)
	}
	return s, nil
}

// fields parses the key=value words of a line.
func fields(line string) map[string]string {
	m := map[string]string{}
	for _, w := range strings.Fields(line) {
		if k, v, ok := strings.Cut(w, "="); ok {
			m[k] = v
		}
	}
	return m
}

// Run runs the command to completion (for commands expected to fail
// before serving) and returns its exit status and stderr.
func RunToExit(t testing.TB, cmd *exec.Cmd) (status int, stdout, stderr string) {
	t.Helper()
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode(), o.String(), e.String()
	case <-ctx.Done():
		cmd.Process.Kill()
		<-done
		t.Fatalf("%v did not exit within 30s; stderr:\n%s", cmd.Args, e.String())
		return 0, "", ""
	}
}

// Stderr returns everything the server logged so far.
func (s *Server) Stderr() string { return s.logs.String() }

// WaitLog waits until the server logs a line matching re after the
// first skip lines, and returns the line and its index.
func (s *Server) WaitLog(re *regexp.Regexp, skip int, timeout time.Duration) (string, int) {
	s.t.Helper()
	line, i, ok := s.logs.wait(re, skip, timeout, s.srv.Exited())
	if !ok {
		s.t.Fatalf("no log line matching %q within %v; stderr:\n%s", re, timeout, s.Stderr())
	}
	return line, i
}

// LogLines returns how many lines the server has logged.
func (s *Server) LogLines() int { return s.logs.count() }

// Signal sends sig to the server.
func (s *Server) Signal(sig os.Signal) {
	s.t.Helper()
	if err := s.srv.Signal(sig); err != nil {
		s.t.Fatalf("signal %v: %v", sig, err)
	}
}

// Wait waits for the server to exit and returns its status (-1 when a
// signal killed it).
func (s *Server) Wait(timeout time.Duration) int {
	s.t.Helper()
	select {
	case <-s.srv.Exited():
		return s.srv.Status()
	case <-time.After(timeout):
		s.t.Fatalf("server did not exit within %v; stderr:\n%s", timeout, s.Stderr())
		return 0
	}
}

// Exited reports whether the server has exited.
func (s *Server) Exited() bool {
	select {
	case <-s.srv.Exited():
		return true
	default:
		return false
	}
}

// Descendants returns the pids of the server's processes below it (its
// workers).
func (s *Server) Descendants() []int { return proc.Tree(s.PID)[1:] }

// cleanup stops the server if it still runs, and checks that none of its
// processes is left.
func (s *Server) cleanup() {
	if err := s.srv.Stop(); err != nil {
		s.t.Error(err)
	}
}

// lines collects a process's stderr and lets tests wait for a line.
type lines struct {
	mu      sync.Mutex
	all     []string
	changed chan struct{}
}

func newLines() *lines { return &lines{changed: make(chan struct{})} }

func (l *lines) add(line string) {
	l.mu.Lock()
	l.all = append(l.all, line)
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

func (l *lines) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.all)
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.all, "\n")
}

// wait returns the first line from skip on that matches re. It gives up
// after timeout, or once the process has exited (all its lines are in by
// then) without one.
func (l *lines) wait(re *regexp.Regexp, skip int, timeout time.Duration, exited <-chan struct{}) (string, int, bool) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	last := false
	for {
		l.mu.Lock()
		for i := skip; i < len(l.all); i++ {
			if line := l.all[i]; re.MatchString(line) {
				l.mu.Unlock()
				return line, i, true
			}
		}
		skip = max(skip, len(l.all))
		ch := l.changed
		l.mu.Unlock()
		if last {
			return "", 0, false
		}
		select {
		case <-ch:
		case <-exited:
			last = true
		case <-t.C:
			return "", 0, false
		}
	}
}
