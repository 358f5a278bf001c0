package main

import (
	"io"
	"net/http"
	"regexp"
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
