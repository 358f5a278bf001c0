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
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corebench/corebench/internal/proc"
)

// Server is a running `bench serve` under test.
type Server struct {
	URL  string            // http://HOST:PORT
	Addr string            // HOST:PORT
	PID  int               // the server's (master's) pid
	Info map[string]string // the key=value fields of the listening line

	t      testing.TB
	cmd    *exec.Cmd
	logs   *lines
	stdout *lines // StartCommand only
	exited chan struct{}
	status int // exit status, valid once exited is closed; -1 when killed by a signal
}

// ReapOrphans makes this process a child subreaper, so workers whose
// master was killed become its children and can be reaped by WaitGone.
func ReapOrphans() error { return proc.ReapOrphans() }

// WaitGone waits until every pid has exited and returns (and kills) those
// still alive after timeout.
func WaitGone(pids []int, timeout time.Duration) []int { return proc.WaitGone(pids, timeout) }

var listening = regexp.MustCompile(`listening on (http://(\S+))`)

// Start runs cmd, waits for its listening line and stops it when the test
// ends. It fails the test when the process exits or stays silent instead.
func Start(t testing.TB, cmd *exec.Cmd) *Server {
	t.Helper()
	s, err := start(t, cmd, true)
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
	s, err := start(t, cmd, false)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Stdout returns what a command started with StartCommand printed on
// stdout.
func (s *Server) Stdout() string { return s.stdout.String() }

func start(t testing.TB, cmd *exec.Cmd, ready ...bool) (*Server, error) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	s := &Server{t: t, cmd: cmd, logs: newLines(), stdout: newLines(), exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s.PID = cmd.Process.Pid
	t.Cleanup(s.cleanup)
	out := make(chan string, 16)
	var pipes sync.WaitGroup
	pipes.Add(2)
	waitReady := len(ready) > 0 && ready[0]
	go func() {
		defer pipes.Done()
		defer close(out)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if !waitReady {
				s.stdout.add(sc.Text())
				continue
			}
			out <- sc.Text()
		}
	}()
	go func() {
		defer pipes.Done()
		s.logs.copy(stderr)
	}()
	go func() {
		pipes.Wait() // Wait must follow the last read of the pipes
		err := cmd.Wait()
		s.status = exitStatus(cmd.ProcessState, err)
		close(s.exited)
	}()

	if !waitReady {
		return s, nil
	}
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case line, ok := <-out:
			if !ok {
				<-s.exited
				return nil, fmt.Errorf("server exited with status %d before it was ready; stderr:\n%s", s.status, s.logs.String())
			}
			m := listening.FindStringSubmatch(line)
			if m == nil {
				return nil, fmt.Errorf("unexpected stdout line before readiness: %q", line)
			}
			s.URL, s.Addr = m[1], m[2]
			s.Info = fields(line)
			go func() {
				for l := range out {
					t.Errorf("server printed a second stdout line: %q", l)
				}
			}()
			return s, nil
		case <-timeout.C:
			return nil, fmt.Errorf("no listening line within 30s; stderr:\n%s", s.logs.String())
		}
	}
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

func exitStatus(ps *os.ProcessState, err error) int {
	if ps == nil {
		return -2
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -1
	}
	return ps.ExitCode()
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
	case err := <-done:
		return exitStatus(cmd.ProcessState, err), o.String(), e.String()
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
	line, i, ok := s.logs.wait(re, skip, timeout, s.exited)
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
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signal %v: %v", sig, err)
	}
}

// Wait waits for the server to exit and returns its status (-1 when a
// signal killed it).
func (s *Server) Wait(timeout time.Duration) int {
	s.t.Helper()
	select {
	case <-s.exited:
		return s.status
	case <-time.After(timeout):
		s.t.Fatalf("server did not exit within %v; stderr:\n%s", timeout, s.Stderr())
		return 0
	}
}

// Exited reports whether the server has exited.
func (s *Server) Exited() bool {
	select {
	case <-s.exited:
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
	kids := s.Descendants()
	if !s.Exited() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			s.t.Errorf("server ignored SIGTERM for 20s; killing it")
			s.cmd.Process.Kill()
			<-s.exited
		}
	}
	if left := WaitGone(kids, 5*time.Second); len(left) > 0 {
		s.t.Errorf("processes %v outlived their server", left)
	}
}

// lines collects a process's stderr and lets tests wait for a line.
type lines struct {
	mu      sync.Mutex
	all     []string
	changed chan struct{}
}

func newLines() *lines { return &lines{changed: make(chan struct{})} }

func (l *lines) copy(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l.add(sc.Text())
	}
}

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
func (l *lines) wait(re *regexp.Regexp, skip int, timeout time.Duration, exited chan struct{}) (string, int, bool) {
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
