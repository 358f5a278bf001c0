// Package child runs a `bench serve` child for the suite, the scenarios
// and the conformance tests: started in its own process group, ready when
// it prints its listening line, stopped with SIGTERM, killed with all its
// workers after a grace period, and always reaped.
package child

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/corebench/corebench/internal/proc"
)

// Options say how to wait for a child and how to stop it. The zero value
// waits 30 s for a server and lets it drain 15 s.
type Options struct {
	Ready time.Duration // how long Start waits for the listening line; default 30 s
	Grace time.Duration // how long Stop lets it drain after SIGTERM before killing it; default 15 s
	// NotServer starts a command that prints no listening line: Start
	// returns as soon as it runs.
	NotServer bool
	// Strict holds the child to the CLI contract: the listening line is
	// its first line on stdout, and Start fails at once on any other.
	Strict bool
	// Stdout and Stderr, when set, get every line the child prints on
	// each, the listening line included, from one goroutine each. They
	// must not block.
	Stdout, Stderr func(line string)
}

// Server is one child process.
type Server struct {
	URL  string // http://HOST:PORT from its listening line
	Line string // the listening line

	cmd    *exec.Cmd
	stop   context.CancelFunc // cancels cmd's context: SIGTERM, then SIGKILL after Grace
	grace  time.Duration
	exited chan struct{}
	err    error // how it exited, once exited is closed
	logs   tail
}

var listeningRe = regexp.MustCompile(`listening on (http://\S+)`)

// Start runs cmd's program, arguments, environment and directory (cmd
// itself is not started: the process is made here with
// exec.CommandContext, so that stopping it is exec's Cancel and
// WaitDelay) and waits for its listening line. The child gets its own
// process group, so a Ctrl-C in the terminal reaches only the caller,
// which stops it in order; and on Linux SIGTERM if the caller dies, so it
// never outlives it.
func Start(ctx context.Context, cmd *exec.Cmd, o Options) (*Server, error) {
	if o.Ready <= 0 {
		o.Ready = 30 * time.Second
	}
	if o.Grace <= 0 {
		o.Grace = 15 * time.Second
	}
	if cmd.Err != nil {
		return nil, cmd.Err
	}
	stopCtx, stop := context.WithCancel(context.Background())
	c := exec.CommandContext(stopCtx, cmd.Path, cmd.Args[1:]...)
	c.Args, c.Env, c.Dir, c.Stdin, c.ExtraFiles = cmd.Args, cmd.Env, cmd.Dir, cmd.Stdin, cmd.ExtraFiles
	c.SysProcAttr = childAttr(cmd.SysProcAttr)
	// SIGTERM is a server's cue to drain; past Grace, exec kills it (and
	// Stop its process group), and stops waiting for pipes that orphaned
	// workers may still hold.
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) }
	c.WaitDelay = o.Grace
	s := &Server{cmd: c, stop: stop, grace: o.Grace, exited: make(chan struct{})}

	ready := make(chan string, 1) // the listening line, or under Strict the first line
	waiting := !o.NotServer
	stdout := &lineWriter{line: func(l string) {
		if waiting && (o.Strict || listeningRe.MatchString(l)) {
			waiting = false
			ready <- l
		}
		if o.Stdout != nil {
			o.Stdout(l)
		}
	}}
	stderr := &lineWriter{line: func(l string) {
		s.logs.add(l)
		if o.Stderr != nil {
			o.Stderr(l)
		}
	}}
	c.Stdout, c.Stderr = stdout, stderr
	if err := c.Start(); err != nil {
		stop()
		return nil, fmt.Errorf("start %s: %w", strings.Join(cmd.Args, " "), err)
	}
	go func() {
		err := c.Wait()
		stdout.flush() // Wait has returned: exec's copying goroutines are done
		stderr.flush()
		s.err = err
		close(s.exited)
	}()
	if o.NotServer {
		return s, nil
	}
	t := time.NewTimer(o.Ready)
	defer t.Stop()
	select {
	case l := <-ready:
		m := listeningRe.FindStringSubmatch(l)
		if m == nil {
			s.Stop()
			return nil, fmt.Errorf("unexpected stdout line before the listening line: %q", l)
		}
		s.URL, s.Line = m[1], l
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("server exited before it was ready (%v): %s", s.err, s.logs.last())
	case <-t.C:
		s.Stop()
		return nil, fmt.Errorf("server not ready within %v: %s", o.Ready, s.logs.last())
	case <-ctx.Done():
		s.Stop()
		return nil, ctx.Err()
	}
}

// PID returns the server's (master's) pid.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Pids returns the server's processes: the master and its workers.
func (s *Server) Pids() []int { return proc.Tree(s.cmd.Process.Pid) }

// Signal sends sig to the server (its master).
func (s *Server) Signal(sig os.Signal) error { return s.cmd.Process.Signal(sig) }

// Exited is closed when the server has exited.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// Status returns the exit status once Exited is closed: -1 when a signal
// killed it, -2 when it could not be waited for.
func (s *Server) Status() int { return exitStatus(s.cmd.ProcessState) }

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

// Stop sends SIGTERM, waits for the drain, kills the process group if it
// is not done within the grace period, and waits until every process of
// the server is gone. Stopping a server that has exited only waits for
// its workers.
func (s *Server) Stop() error {
	pids := s.Pids()
	running := s.Dead() == nil
	s.stop()
	<-s.exited
	var err error
	if running && diedOfSIGKILL(s.cmd.ProcessState) {
		killGroup(s.cmd) // exec's WaitDelay killed the master only
		err = fmt.Errorf("server ignored SIGTERM for %v and was killed", s.grace)
	}
	if left := proc.WaitGone(pids[1:], 5*time.Second); len(left) > 0 && err == nil {
		err = fmt.Errorf("server processes %v outlived it and were killed", left)
	}
	return err
}

// exitStatus is a process's exit status: -1 when a signal killed it, -2
// when it could not be waited for.
func exitStatus(ps *os.ProcessState) int {
	if ps == nil {
		return -2
	}
	return ps.ExitCode()
}

// lineWriter calls line for every line written to it, without its "\n"
// (or "\r\n"), as bufio.ScanLines splits them.
type lineWriter struct {
	buf  []byte
	line func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	rest := w.buf
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		w.line(string(bytes.TrimSuffix(rest[:i], []byte("\r"))))
		rest = rest[i+1:]
	}
	w.buf = append(w.buf[:0], rest...)
	return len(p), nil
}

// flush passes on a last line that had no "\n".
func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.line(string(w.buf))
		w.buf = nil
	}
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
