package main

import (
	"io"
	"net/http"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/corebench/corebench/models/modeltest"
)

// connOnSlot returns a client whose one keep-alive connection is served by
// worker slot.
func connOnSlot(t *testing.T, url, slot string) *http.Client {
	t.Helper()
	for range 20 {
		tr := &http.Transport{MaxConnsPerHost: 1}
		c := &http.Client{Timeout: 5 * time.Second, Transport: tr}
		resp, err := c.Get(url + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body) // a body read to the end keeps the connection
		resp.Body.Close()
		if resp.Header.Get("X-Worker") == slot {
			return c
		}
		tr.CloseIdleConnections()
	}
	t.Fatalf("no connection reached worker %s in 20 tries", slot)
	return nil
}

// crash asks for /crash with POST: Go's client retries a GET that dies
// on a reused connection, which would crash a second worker.
func crash(t *testing.T, c *http.Client, url string) {
	t.Helper()
	if resp, err := c.Post(url+"/crash", "text/plain", nil); err == nil {
		resp.Body.Close()
		t.Fatalf("/crash answered %d", resp.StatusCode)
	}
}

// TestPreforkErroredSlot: a worker that keeps dying young is restarted
// with backoff, then its slot is given up on, loudly, while the others
// keep serving.
func TestPreforkErroredSlot(t *testing.T) {
	s := modeltest.Start(t, bench("serve", "--model", "prefork", "--sched", "rr", "--workers", "2", "--addr", "127.0.0.1:0",
		"--chaos", "--min-uptime", "1h", "--max-restarts", "2"))
	restarting := regexp.MustCompile(`worker 0 \(pid \d+\) exit status 1 after .*; restarting in (\d+ms)`)
	online := regexp.MustCompile(`worker 0 back online`)
	givingUp := regexp.MustCompile(`ERROR: worker 0 .*giving up on slot 0`)
	for i, delay := range []string{"100ms", "200ms"} {
		skip := s.LogLines()
		c := connOnSlot(t, s.URL, "0")
		crash(t, c, s.URL)
		line, _ := s.WaitLog(restarting, skip, 10*time.Second)
		if got := restarting.FindStringSubmatch(line)[1]; got != delay {
			t.Errorf("crash %d: restart delay %s, want %s", i+1, got, delay)
		}
		s.WaitLog(online, skip, 10*time.Second)
	}
	skip := s.LogLines()
	crash(t, connOnSlot(t, s.URL, "0"), s.URL)
	s.WaitLog(givingUp, skip, 10*time.Second)

	f := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for range 10 {
		resp, err := f.Get(s.URL + "/")
		if err != nil {
			t.Fatalf("with slot 0 errored: %v\n%s", err, s.Stderr())
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Worker") != "1" {
			t.Errorf("with slot 0 errored: status %d from worker %s", resp.StatusCode, resp.Header.Get("X-Worker"))
		}
	}
}

// TestRestartOnSamePort: a server that closed connections itself leaves
// them in TIME_WAIT on its port after it stops; a server of any model
// started next on that port must not fail with "address already in use"
// (a Ctrl-C and a restart with another --sched, as the workshop does).
func TestRestartOnSamePort(t *testing.T) {
	models := [][]string{
		{"--model", "prefork", "--sched", "os"}, {"--model", "prefork", "--sched", "reuseport"},
		{"--model", "singlecore"}, {"--model", "prefork", "--sched", "rr"}, {"--model", "goroutines"},
		{"--model", "prefork", "--sched", "reuseport"},
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	addr := "127.0.0.1:0"
	for i, args := range models {
		s := modeltest.Start(t, bench(append([]string{"serve", "--workers", "2", "--addr", addr}, args...)...))
		addr = s.Addr
		for range 4 { // Connection: close: the server closes first, so the TIME_WAIT is on its side
			resp, err := c.Get(s.URL + "/")
			if err != nil {
				t.Fatalf("%v: %v", args, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		s.Signal(syscall.SIGINT)
		if st := s.Wait(10 * time.Second); st != 0 {
			t.Fatalf("server %d %v: exit status %d", i, args, st)
		}
	}
}
