package models

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawGet sends one GET on c and returns the response.
func rawGet(t *testing.T, c net.Conn, br *bufio.Reader) *http.Response {
	t.Helper()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestDrainClosesKeepAliveCleanly: after the drain starts, a keep-alive
// connection gets one more answer, marked "Connection: close", and is
// then closed by the server; Serve returns nil.
func TestDrainClosesKeepAliveCleanly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	draining := make(chan struct{})
	done := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	go func() {
		done <- Serve(ctx, ln, h, ServeOptions{Grace: 5 * time.Second, DrainIdle: 5 * time.Second, Draining: func() { close(draining) }})
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	if resp := rawGet(t, c, br); resp.Close {
		t.Fatal("closed before the drain")
	}
	cancel()
	<-draining
	resp := rawGet(t, c, br)
	if !resp.Close { // ReadResponse turns "Connection: close" into Close
		t.Errorf("response during the drain lacks Connection: close")
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("connection still open after Connection: close: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(4 * time.Second):
		t.Error("Serve did not return once its last connection left (it waited for DrainIdle)")
	}
}

// TestDrainClosesIdleAfterDrainIdle: a connection that never comes back
// is closed once DrainIdle has passed.
func TestDrainClosesIdleAfterDrainIdle(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	go func() {
		done <- Serve(ctx, ln, h, ServeOptions{Grace: 5 * time.Second, DrainIdle: 100 * time.Millisecond})
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	rawGet(t, c, br)
	cancel()
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("idle connection not closed: %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// TestGraceExpires: a request that outlasts the grace period is cut, and
// Serve says so.
func TestGraceExpires(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { close(started); <-release })
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h, ServeOptions{Grace: 200 * time.Millisecond}) }()
	go http.Get("http://" + ln.Addr().String())
	<-started
	cancel()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "grace period") {
		t.Errorf("Serve = %v, want a grace period error", err)
	}
}

// lateListener accepts nothing until it is closed, then returns the one
// connection it holds: like a listener whose accept goroutine took a
// connection from the kernel just before the drain closed it.
type lateListener struct {
	net.Listener
	late   chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *lateListener) Accept() (net.Conn, error) {
	<-l.closed
	select {
	case c := <-l.late:
		return c, nil
	default:
		return nil, net.ErrClosed
	}
}

func (l *lateListener) Close() error {
	l.once.Do(func() { close(l.closed); l.Listener.Close() })
	return nil
}

// TestDrainServesConnectionAcceptedAtClose: a connection the listener
// hands over after the drain closed it, its request already sent, is
// answered before Serve returns. http.Server.Shutdown closes unanswered a
// connection whose first request it reads after Shutdown began, so the
// drain must count every accepted connection before it decides there is
// nothing to wait for.
func TestDrainServesConnectionAcceptedAtClose(t *testing.T) {
	for i := range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		sc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		l := &lateListener{Listener: ln, late: make(chan net.Conn, 1), closed: make(chan struct{})}
		l.late <- sc
		ctx, cancel := context.WithCancel(context.Background())
		serving := make(chan struct{})
		done := make(chan error, 1)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
		go func() {
			done <- Serve(ctx, l, h, ServeOptions{Grace: 5 * time.Second, DrainIdle: 5 * time.Second, Serving: func() { close(serving) }})
		}()
		<-serving
		cancel()
		c.SetReadDeadline(time.Now().Add(5 * time.Second)) // a regression fails instead of hanging
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("run %d: the connection accepted as the drain began was not answered: %v", i, err)
		}
		resp.Body.Close()
		c.Close()
		if err := <-done; err != nil {
			t.Fatalf("run %d: Serve: %v", i, err)
		}
	}
}

// TestTimeoutsDefaults: a server puts Node's http.Server limits on its
// clients unless told otherwise (headersTimeout 60 s, requestTimeout
// 300 s, keepAliveTimeout 5 s, in lib/_http_server.js); a negative limit
// is none.
func TestTimeoutsDefaults(t *testing.T) {
	got := Timeouts{}.WithDefaults()
	if want := (Timeouts{Header: 60 * time.Second, Request: 300 * time.Second, Idle: 5 * time.Second}); got != want {
		t.Errorf("defaults %+v, want %+v", got, want)
	}
	if got := (Timeouts{Header: -1, Idle: time.Second}).WithDefaults(); got.Header != -1 || got.Request != 300*time.Second || got.Idle != time.Second {
		t.Errorf("%+v: a negative limit is none, a set one stays", got)
	}
	if (Options{}).WithDefaults().Timeouts != (Timeouts{}).WithDefaults() {
		t.Error("Options.WithDefaults leaves the timeouts unset")
	}
}

// TestTimeoutsCloseSlowClients: a client that sends half its headers and
// stops (slowloris) is closed once Header is up, and a keep-alive
// connection idle for Idle too; a prompt client is served. They stayed
// open, without end.
func TestTimeoutsCloseSlowClients(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	limits := Timeouts{Header: 200 * time.Millisecond, Request: time.Second, Idle: 200 * time.Millisecond}
	go func() { done <- Serve(ctx, ln, h, ServeOptions{Timeouts: limits}) }()
	defer func() { cancel(); <-done }()
	closedWithin := func(c net.Conn, br *bufio.Reader, what string) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(30 * time.Second)) // only a server that never closes reaches it
		if _, err := br.ReadByte(); err != io.EOF {
			t.Errorf("%s: read %v, want the server to close it", what, err)
		}
	}
	slow, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	io.WriteString(slow, "GET / HTTP/1.1\r\nHost: x\r\n")
	idle, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	br := bufio.NewReader(idle)
	if resp := rawGet(t, idle, br); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	closedWithin(slow, bufio.NewReader(slow), "half a request's headers")
	closedWithin(idle, br, "an idle keep-alive connection")
}
