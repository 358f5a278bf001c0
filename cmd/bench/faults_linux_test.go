package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/corebench/corebench/internal/proc"
	"github.com/corebench/corebench/models/modeltest"
	"github.com/corebench/corebench/models/prefork/control"
	"github.com/corebench/corebench/variant"
)

// The faults of docs/reliability-prefork.md, each end to end with real
// processes; the supervisor's side of each is tested with fakes in
// models/prefork.

// startUnready starts a prefork server without waiting for it to listen,
// once its control socket answers, and returns it with the socket's path.
func startUnready(t *testing.T, args ...string) (*modeltest.Server, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "ctl", "master.sock")
	s := modeltest.StartCommand(t, bench(append([]string{"serve", "--model", "prefork", "--addr", "127.0.0.1:0", "--control", sock}, args...)...))
	s.WaitLog(regexp.MustCompile(`control socket `), 0, 30*time.Second)
	return s, sock
}

// follow collects the master's events, the recent ones first, until the
// test ends.
func follow(t *testing.T, sock string) <-chan control.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan control.Event, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(events)
		control.Client{Path: sock}.Events(ctx, true, func(e control.Event) {
			select {
			case events <- e:
			case <-ctx.Done():
			}
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return events
}

// nextEvent returns the next event match accepts; the stream's end or a
// minute without one fails the test.
func nextEvent(t *testing.T, events <-chan control.Event, what string, match func(control.Event) bool) control.Event {
	t.Helper()
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatalf("the master's events ended before one of %s", what)
			}
			if match(e) {
				return e
			}
		case <-timeout.C:
			t.Fatalf("no event of %s within 60s", what)
		}
	}
}

// TestPreforkKilledWhileStarting: a worker SIGKILLed as it appears, before
// it is ready, is restarted under the crash budget and the server starts
// with all its workers; it used to exit 1 and stop the others.
func TestPreforkKilledWhileStarting(t *testing.T) {
	s, sock := startUnready(t, "--sched", "rr", "--workers", "4", "--startup", "2s")
	events := follow(t, sock)
	first := nextEvent(t, events, "worker 0 started", func(e control.Event) bool { return e.Kind == control.EventStarted && e.Slot == 0 })
	if err := syscall.Kill(first.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if c := nextEvent(t, events, "worker 0 crashed", func(e control.Event) bool { return e.Kind == control.EventCrashed }); c.PID != first.PID || c.Exit != "signal: killed" {
		t.Errorf("%+v, want pid %d killed", c, first.PID)
	}
	s.WaitLog(regexp.MustCompile(`4 workers online`), 0, 60*time.Second)
	st := psJSON(t, sock)
	for _, w := range st.Workers {
		if w.State != control.StateOnline || (w.Slot == 0) != (w.Restarts == 1) {
			t.Errorf("after the start: %+v, want online, slot 0 restarted once", w)
		}
	}
}

// withLimit runs cmd under a limit of n open files (ulimit -n), which its
// workers inherit.
func withLimit(cmd *exec.Cmd, n int) *exec.Cmd {
	cmd.Args = append([]string{"/bin/sh", "-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, n)}, cmd.Args...)
	cmd.Path = "/bin/sh"
	return cmd
}

// TestPreforkOutOfDescriptors: rr workers that run out of descriptors
// (ulimit -n 128 and 300 idle connections) refuse the connections passed
// to them; the master logs it once per worker, backs off instead of
// passing each one round and round (the master and both workers spun,
// 1.6 CPU-seconds a second, saying nothing), and serves again once the
// connections close.
func TestPreforkOutOfDescriptors(t *testing.T) {
	s := modeltest.Start(t, withLimit(bench("serve", "--model", "prefork", "--sched", "rr", "--workers", "2", "--addr", "127.0.0.1:0"), 128))
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for range 300 {
		c, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
		if err != nil {
			t.Fatalf("idle connection %d: %v", len(idle), err)
		}
		idle = append(idle, c)
	}
	full := regexp.MustCompile(`worker \d \(pid \d+\) is out of file descriptors`)
	_, i := s.WaitLog(full, 0, 30*time.Second)
	s.WaitLog(full, i+1, 30*time.Second)
	// Nothing is in flight now: a server that backs off is idle. This
	// measures that over a window; no event marks the absence of a spin.
	pids := append([]int{s.PID}, s.Descendants()...)
	before := proc.CPUSeconds(pids)
	time.Sleep(2 * time.Second)
	if used := proc.CPUSeconds(pids) - before; used > 0.5 {
		t.Errorf("the server used %.2f CPU-seconds in 2 s with its workers out of descriptors and no request in flight, want next to none", used)
	}
	for _, c := range idle {
		c.Close()
	}
	idle = nil
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(s.URL + "/")
	if err != nil {
		t.Fatalf("once the idle connections closed: %v\n%s", err, s.Stderr())
	}
	resp.Body.Close()
	s.WaitLog(regexp.MustCompile(`takes connections again`), 0, 30*time.Second)
	if n := len(full.FindAllString(s.Stderr(), -1)); n != 2 {
		t.Errorf("%d log lines about workers out of descriptors, want one per worker:\n%s", n, s.Stderr())
	}
}

// TestPreforkUnresponsiveWorker: under rr, a stopped worker (kill -STOP)
// is passed no more connections once it has left one unacknowledged for
// a second, bench ps shows it unresponsive, and after
// --unresponsive-restart it is killed and restarted, the requests it held
// answered by the other worker. (With --no-keepalive -c 32, 31 answers in
// 10 s and 32 timeouts; bench ps showed it online.)
func TestPreforkUnresponsiveWorker(t *testing.T) {
	s, sock := startPrefork(t, "rr", 2, "--unresponsive-restart", "3s")
	events := follow(t, sock)
	stopped := psJSON(t, sock).Workers[0].PID
	if err := syscall.Kill(stopped, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(stopped, syscall.SIGCONT) })
	// The signal stops it a little later, on a busy machine later still:
	// once it leaves the master's stats request unanswered (ps shows -1),
	// it answers no connection either.
	for i := 0; psJSON(t, sock).Workers[0].Served >= 0; i++ {
		if i == 10 {
			t.Fatal("worker 0 still answers after SIGSTOP")
		}
	}
	c := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func() (string, error) {
		resp, err := c.Get(s.URL + "/")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.Header.Get("X-Worker"), nil
	}
	// Four at once: round-robin passes the stopped worker some.
	held := make(chan error, 4)
	for range 4 {
		go func() {
			_, err := get()
			held <- err
		}()
	}
	nextEvent(t, events, "worker 0 unresponsive", func(e control.Event) bool {
		return e.Kind == control.EventUnresponsive && e.PID == stopped
	})
	if st := psJSON(t, sock); st.Workers[0].State != control.StateUnresponsive {
		t.Errorf("bench ps: worker 0 %s, want %s", st.Workers[0].State, control.StateUnresponsive)
	}
	for i := range 10 {
		if w, err := get(); err != nil || w != "1" {
			t.Errorf("request %d with worker 0 unresponsive: worker %q, %v; want worker 1", i, w, err)
		}
	}
	nextEvent(t, events, "worker 0 crashed", func(e control.Event) bool {
		return e.Kind == control.EventCrashed && e.PID == stopped && e.Exit == "signal: killed"
	})
	nextEvent(t, events, "worker 0 back online", func(e control.Event) bool { return e.Kind == control.EventOnline && e.Slot == 0 })
	for range 4 {
		if err := <-held; err != nil {
			t.Errorf("a request passed to the stopped worker: %v, want it answered once the worker was restarted", err)
		}
	}
}

// TestPreforkDownStopsListening: with every slot errored, the server
// stops listening, under every scheduler: a connect is refused at once (a
// TCP health check fails) rather than accepted and reset, or left waiting;
// bench reload starts a worker and it listens again on the same port.
func TestPreforkDownStopsListening(t *testing.T) {
	for _, sched := range []string{"rr", "os", "reuseport"} {
		t.Run(sched, func(t *testing.T) {
			s, sock := startPrefork(t, sched, 1, "--chaos", "--min-uptime", "1h", "--max-restarts", "1")
			events := follow(t, sock)
			crash(t, connOnSlot(t, s.URL, "0"), s.URL)
			nextEvent(t, events, "worker 0 back", func(e control.Event) bool { return e.Kind == control.EventOnline && e.Restarts == 1 })
			crash(t, connOnSlot(t, s.URL, "0"), s.URL)
			nextEvent(t, events, "the server down", func(e control.Event) bool { return e.Kind == control.EventDown })
			if c, err := net.Dial("tcp", s.Addr); !errors.Is(err, syscall.ECONNREFUSED) {
				if c != nil {
					c.Close()
				}
				t.Errorf("connect with every slot errored: %v, want connection refused", err)
			}
			benchOK(t, "reload", "--control", sock)
			c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			resp, err := c.Get(s.URL + "/")
			if err != nil {
				t.Fatalf("after bench reload: %v\n%s", err, s.Stderr())
			}
			resp.Body.Close()
			if st := psJSON(t, sock); st.Workers[0].State != control.StateOnline {
				t.Errorf("after bench reload: %+v", st.Workers[0])
			}
		})
	}
}

// TestServeTimeouts: every model closes a client that sends half its
// headers and stops (slowloris) after --header-timeout, and a kept-alive
// connection after --idle-timeout, with the same flags and defaults; a
// prompt client is served. (300 slowloris connections stayed open, and
// under ulimit -n 128 locked everyone out.)
func TestServeTimeouts(t *testing.T) {
	for _, v := range variant.All() {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel() // each waits out its timeouts on ports of its own
			args := append(append([]string{"serve"}, v.ServeArgs(v.Workers(2))...), "--addr", "127.0.0.1:0", "--header-timeout", "1s", "--idle-timeout", "1s")
			s := modeltest.Start(t, bench(args...))
			closed := func(c net.Conn, br *bufio.Reader, what string) {
				t.Helper()
				c.SetReadDeadline(time.Now().Add(30 * time.Second)) // only a server that never closes it reaches this
				if _, err := br.ReadByte(); err != io.EOF {
					t.Errorf("%s: read %v, want the server to close it", what, err)
				}
			}
			slow, err := net.Dial("tcp", s.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer slow.Close()
			io.WriteString(slow, "GET / HTTP/1.1\r\nHost: x\r\n")
			idle, err := net.Dial("tcp", s.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer idle.Close()
			io.WriteString(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			br := bufio.NewReader(idle)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			closed(slow, bufio.NewReader(slow), "half a request's headers")
			closed(idle, br, "a kept-alive connection left idle")
		})
	}
}
