// Package child runs a `bench serve` child for the suite and the
// scenarios: started in its own process group, ready when it prints its
// listening line, stopped with SIGTERM and reaped with all its workers.
package child

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/corebench/corebench/internal/proc"
)

// Server is one `bench serve` child.
type Server struct {
	URL    string // http://HOST:PORT from its listening line
	Line   string // the listening line
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // how it exited, once exited is closed
	logs   tail
}

var listeningRe = regexp.MustCompile(`listening on (http://\S+)`)

// Start starts cmd (a `bench serve`) and waits for its listening line.
// The child gets its own process group, so a Ctrl-C in the terminal
// reaches only the suite, which stops it in order; and SIGTERM if the
// suite dies, so it never outlives the run.
func Start(ctx context.Context, cmd *exec.Cmd, timeout time.Duration) (*Server, error) {
	cmd.SysProcAttr = childAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	s := &Server{cmd: cmd, exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", strings.Join(cmd.Args, " "), err)
	}
	lines := make(chan string, 1)
	var pipes sync.WaitGroup
	pipes.Add(2)
	go func() {
		defer pipes.Done()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	go func() {
		defer pipes.Done()
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.logs.add(sc.Text())
		}
	}()
	go func() {
		pipes.Wait()
		s.err = cmd.Wait()
		close(s.exited)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case l := <-lines:
			if m := listeningRe.FindStringSubmatch(l); m != nil {
				s.URL, s.Line = m[1], l
				return s, nil
			}
		case <-s.exited:
			return nil, fmt.Errorf("server exited before it was ready (%v): %s", s.err, s.logs.last())
		case <-t.C:
			s.Stop(5 * time.Second)
			return nil, fmt.Errorf("server not ready within %v: %s", timeout, s.logs.last())
		case <-ctx.Done():
			s.Stop(5 * time.Second)
			return nil, ctx.Err()
		}
	}
}

// PID returns the server's (master's) pid.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Pids returns the server's processes: the master and its workers.
func (s *Server) Pids() []int { return proc.Tree(s.cmd.Process.Pid) }

// Exited is closed when the server has exited.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// LastLog returns the last line the server logged.
func (s *Server) LastLog() string { return s.logs.last() }

// Dead returns why the server exited, or nil while it runs.
func (s *Server) Dead() error {
	select {
	case <-s.exited:
		return fmt.Errorf("server exited (%v): %s", s.err, s.logs.last())
	default:
		return nil
	}
}

// Stop sends SIGTERM, waits for the drain, kills what remains after
// grace, and waits until every process of the server is gone.
func (s *Server) Stop(grace time.Duration) error {
	pids := s.Pids()
	s.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	var err error
	select {
	case <-s.exited:
	case <-t.C:
		killGroup(s.cmd)
		<-s.exited
		err = fmt.Errorf("server ignored SIGTERM for %v and was killed", grace)
	}
	if left := proc.WaitGone(pids[1:], 5*time.Second); len(left) > 0 && err == nil {
		err = fmt.Errorf("server processes %v outlived it and were killed", left)
	}
	return err
}

// tail keeps a process's last log lines for error messages.
type tail struct {
	mu    sync.Mutex
	lines []string
}

func (t *tail) add(l string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 20 {
		t.lines = t.lines[1:]
	}
	t.lines = append(t.lines, l)
}

// last returns the last line worth quoting.
func (t *tail) last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := len(t.lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(t.lines[i]); l != "" {
			return l
		}
	}
	return "it logged nothing"
}
