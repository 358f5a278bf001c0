package models

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
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
