package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corebench/corebench/models/modeltest"
	"github.com/corebench/corebench/models/prefork/control"
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
// keep serving. The master's events say so, and `bench logs --events`
// prints them.
func TestPreforkErroredSlot(t *testing.T) {
	s, sock := startPrefork(t, "rr", 2, "--chaos", "--min-uptime", "1h", "--max-restarts", "2")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events, err := control.Client{Path: sock}.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	next := func(kind control.EventKind) control.Event {
		t.Helper()
		e, err := events.Next(ctx, func(e control.Event) bool { return e.Kind == kind && e.Slot == 0 })
		if err != nil {
			t.Fatalf("waiting for worker 0 %s: %v\n%s", kind, err, s.Stderr())
		}
		return e
	}
	for i, delay := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond} {
		crash(t, connOnSlot(t, s.URL, "0"), s.URL)
		if c := next(control.EventCrashed); c.Exit != "exit status 1" {
			t.Errorf("crash %d: %+v, want exit status 1", i+1, c)
		}
		if r := next(control.EventRestarting); r.Delay != delay || r.Restarts != i+1 {
			t.Errorf("crash %d: restart %d after %v, want restart %d after %v", i+1, r.Restarts, r.Delay, i+1, delay)
		}
		next(control.EventOnline)
	}
	crash(t, connOnSlot(t, s.URL, "0"), s.URL)
	next(control.EventErrored)
	s.WaitLog(regexp.MustCompile(`ERROR: worker 0 .*giving up on slot 0`), 0, 10*time.Second) // and people are told

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
	if st := psJSON(t, sock); st.Workers[0].State != control.StateErrored || st.Workers[0].Restarts != 2 {
		t.Errorf("bench ps: slot 0 %s after %d restarts, want errored after 2", st.Workers[0].State, st.Workers[0].Restarts)
	}

	// bench logs --events: the recent events, one JSON object a line.
	var kinds []control.EventKind
	for _, l := range strings.Split(strings.TrimSpace(benchOK(t, "logs", "--events", "--no-follow", "--control", sock)), "\n") {
		var e control.Event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("bench logs --events printed %q: %v", l, err)
		}
		if e.Slot == 0 {
			kinds = append(kinds, e.Kind)
		}
	}
	want := []control.EventKind{control.EventStarted, control.EventOnline}
	for range 2 {
		want = append(want, control.EventCrashed, control.EventRestarting, control.EventStarted, control.EventOnline)
	}
	want = append(want, control.EventCrashed, control.EventErrored)
	if !slices.Equal(kinds, want) {
		t.Errorf("bench logs --events for slot 0: %v, want %v", kinds, want)
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
