// Package child runs a `bench serve` child for the suite, the scenarios
// and the conformance tests, or a server of the user's (an external one,
// Options.Addr): started in its own process group, ready when it prints
// its listening line (an external server: when its port accepts a
// connection, or it prints a line of the user's pattern), stopped with
// SIGTERM, killed with all its workers after a grace period, and always
// reaped.
package child

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/corebench/corebench/internal/affinity"
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

	// Addr makes the child an external server, one that prints no
	// listening line: it is ready once Addr (HOST:PORT) accepts a TCP
	// connection, or, with ReadyLine, once it prints a stdout line that
	// matches; URL is http://Addr.
	Addr      string
	ReadyLine *regexp.Regexp
	// Group sends the SIGTERM to the child's whole process group rather
	// than to its first process: for a shell command whose processes bench
	// does not know (sh may not exec the server), as systemd's default
	// KillMode=control-group does. Stop then kills what is left of the
	// group once the first process has exited.
	Group bool
	// CPUs, when set, pins the child from its first instruction; what it
	// forks inherits the mask (affinity.StartPinned).
	CPUs []int
}

// Server is one child process.
type Server struct {
	URL  string // http://HOST:PORT from its listening line
	Line string // the listening line

	cmd    *exec.Cmd
	stop   context.CancelFunc // cancels cmd's context: SIGTERM, then SIGKILL after Grace
	grace  time.Duration
	group  bool
	reaped chan struct{} // closed once the first process is reaped, err set
	exited chan struct{} // closed once reaped and its output is read (or Grace passed)
	err    error         // how it exited, once reaped is closed
	logs   tail
}

var listeningRe = regexp.MustCompile(`listening on (http://\S+)`)

// Start runs cmd's program, arguments, environment, directory and, if
// set, Cancel (cmd itself is not started: the process is made here with
// exec.CommandContext, so that stopping it is exec's Cancel and
// WaitDelay) and waits for it to be ready. The child gets its own
// process group, so a Ctrl-C in the terminal reaches only the caller,
// which stops it in order; and on Linux SIGTERM if the caller dies, so it
// never outlives it. A child that fails to get ready is stopped, its
// process group killed, and the error quotes its last stderr lines.
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
	// Stop its process group).
	c.Cancel = func() error {
		switch {
		case cmd.Cancel != nil:
			// The command says how it is stopped: a server run over ssh
			// under a lifeline is told by closing its input, so that ssh
			// exits once the remote server has drained, with its status.
			return cmd.Cancel()
		case o.Group:
			return termGroup(c)
		}
		return c.Process.Signal(syscall.SIGTERM)
	}
	c.WaitDelay = o.Grace
	s := &Server{cmd: c, stop: stop, grace: o.Grace, group: o.Group, reaped: make(chan struct{}), exited: make(chan struct{})}

	ready := make(chan string, 1) // the listening line, or under Strict the first line
	waiting := !o.NotServer && (o.Addr == "" || o.ReadyLine != nil)
	match := listeningRe.MatchString
	if o.ReadyLine != nil {
		match = o.ReadyLine.MatchString
	}
	stdout := &lineWriter{line: func(l string) {
		if waiting && (o.Strict || match(l)) {
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
	// The output comes through pipes of our own rather than exec's
	// copying, so Wait returns when the first process exits even while
	// workers it left behind still hold them: an early exit is seen at
	// once, not after Grace.
	outDone, err := pipeTo(&c.Stdout, stdout)
	if err != nil {
		stop()
		return nil, err
	}
	errDone, err := pipeTo(&c.Stderr, stderr)
	if err != nil {
		c.Stdout.(*os.File).Close()
		stop()
		return nil, err
	}
	err = affinity.StartPinned(c, o.CPUs)
	c.Stdout.(*os.File).Close() // the child has its copies
	c.Stderr.(*os.File).Close()
	if err != nil {
		stop()
		return nil, fmt.Errorf("start %s: %w", strings.Join(cmd.Args, " "), err)
	}
	go func() {
		s.err = c.Wait()
		close(s.reaped)
		// Its last lines, unless workers it left behind hold the pipes
		// past Grace, as exec's WaitDelay would bound them.
		t := time.NewTimer(o.Grace)
		defer t.Stop()
		for _, done := range []chan struct{}{outDone, errDone} {
			select {
			case <-done:
			case <-t.C:
			}
		}
		close(s.exited)
	}()
	if o.NotServer {
		return s, nil
	}
	// A child that failed is stopped and its whole group killed: what it
	// forked (a worker, a sleeper) is no server of anybody's.
	failed := func(format string, args ...any) (*Server, error) {
		pids := s.Pids()
		s.stop()
		<-s.reaped
		killGroup(c)
		proc.WaitGone(append(pids[1:], proc.Group(c.Process.Pid)...), 5*time.Second)
		<-s.exited
		return nil, fmt.Errorf(format+": %s", append(args, s.logs.lastLines(3))...)
	}
	if o.Addr != "" && o.ReadyLine == nil {
		dialed := make(chan struct{})
		defer close(dialed)
		go dialUntil(o.Addr, ready, dialed)
	}
	t := time.NewTimer(o.Ready)
	defer t.Stop()
	select {
	case l := <-ready:
		if o.Addr != "" {
			s.URL, s.Line = "http://"+o.Addr, l
			return s, nil
		}
		m := listeningRe.FindStringSubmatch(l)
		if m == nil {
			s.Stop()
			return nil, fmt.Errorf("unexpected stdout line before the listening line: %q", l)
		}
		s.URL, s.Line = m[1], l
		return s, nil
	case <-s.reaped:
		return failed("server exited before it was ready (%v)", s.err)
	case <-t.C:
		return failed("server not ready within %v", o.Ready)
	case <-ctx.Done():
		s.Stop()
		return nil, ctx.Err()
	}
}

// pipeTo sets *f to the write end of a new pipe whose read end is copied
// to w; done is closed once every writer has closed it.
func pipeTo(f *io.Writer, w *lineWriter) (done chan struct{}, err error) {
	r, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	*f = pw
	done = make(chan struct{})
	go func() {
		io.Copy(w, r)
		w.flush()
		r.Close()
		close(done)
	}()
	return done, nil
}

// dialUntil sends "" on ready once addr accepts a TCP connection, trying
// every 10 ms until stop is closed. A port that accepts is the only event
// such a server offers.
func dialUntil(addr string, ready chan<- string, stop <-chan struct{}) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			ready <- ""
			return
		}
		select {
		case <-tick.C:
		case <-stop:
			return
		}
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
	deadline := time.Now().Add(s.grace)
	s.stop()
	<-s.reaped
	var err error
	if running && diedOfSIGKILL(s.cmd.ProcessState) {
		killGroup(s.cmd) // exec's WaitDelay killed the master only
		err = fmt.Errorf("server ignored SIGTERM for %v and was killed", s.grace)
	} else if s.group {
		// The group had the SIGTERM too: what the first process left in
		// it has the rest of the grace period, then SIGKILL.
		if left := proc.WaitGone(proc.Group(s.cmd.Process.Pid), time.Until(deadline)); len(left) > 0 {
			err = fmt.Errorf("server processes %v ignored SIGTERM for %v and were killed", left, s.grace)
		}
		killGroup(s.cmd)
	}
	<-s.exited
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

// lastLines returns up to n of the last lines worth quoting, joined by " | ".
func (t *tail) lastLines(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for i := len(t.lines) - 1; i >= 0 && len(out) < n; i-- {
		if l := strings.TrimSpace(t.lines[i]); l != "" {
			out = append([]string{l}, out...)
		}
	}
	if len(out) == 0 {
		return "it logged nothing on stderr"
	}
	return strings.Join(out, " | ")
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
