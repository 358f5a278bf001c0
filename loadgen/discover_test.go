package loadgen

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// lopsided serves like a server of two workers of which only worker 1
// ever answers, and says at DiscoverPath that it runs two.
func lopsided(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Worker", "1")
		if r.URL.Path == DiscoverPath {
			io.WriteString(w, `{"server":"corebench","model":"prefork","workers":2,"slot":1}`)
			return
		}
		io.WriteString(w, "hello")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestIdleWorkerCountsInFairness: two workers, one did everything: the
// fairness is 0.5, not 1, with both engines, once the count is known, by
// discovery or given; unknown, it is over the one that answered.
func TestIdleWorkerCountsInFairness(t *testing.T) {
	srv := lopsided(t)
	for _, engine := range engines {
		t.Run(engine.String(), func(t *testing.T) {
			o := Options{URL: srv.URL + "/cpu", Engine: engine, Connections: 2, Duration: 100 * time.Millisecond}
			n, err := DiscoverWorkers(context.Background(), o)
			if n != 2 || err != nil {
				t.Fatalf("DiscoverWorkers = %d, %v; want 2", n, err)
			}
			o.Workers = n
			s := mustRun(t, o)
			if s.Requests == 0 || s.PerWorker["1"] != s.Requests || len(s.PerWorker) != 1 {
				t.Fatalf("per worker %v of %d requests", s.PerWorker, s.Requests)
			}
			if s.Workers != 2 || s.Fairness != 0.5 {
				t.Errorf("workers %d, fairness %v; want 2 and 0.5", s.Workers, s.Fairness)
			}
			o.Workers = 0
			if s := mustRun(t, o); s.Workers != 0 || s.Fairness != 1 {
				t.Errorf("count unknown: workers %d, fairness %v; want 0 and 1 (over the one that answered)", s.Workers, s.Fairness)
			}
		})
	}
	s, err := Generate(context.Background(), Load{URL: srv.URL, Connections: 1, Duration: 50 * time.Millisecond, Workers: 4})
	if err != nil || s.Workers != 4 || s.Fairness != 0.25 {
		t.Fatalf("Generate with Workers 4: %v; workers %d, fairness %v", err, s.Workers, s.Fairness)
	}
	// More slots answering than the server said: over those that answered.
	o := Options{URL: srv.URL, Connections: 1, Duration: 50 * time.Millisecond, Workers: 1}
	if s := mustRun(t, o); s.Fairness != 1 {
		t.Errorf("1 worker said, slot 1 answered: fairness %v, want 1", s.Fairness)
	}
	if err := (Options{URL: srv.URL, Workers: -1}).Check(); err == nil || !strings.Contains(err.Error(), "workers -1") {
		t.Errorf("Check with Workers -1: %v", err)
	}
}

// TestDiscoverWorkersFailsSoft: whatever is not a corebench server's
// answer is 0 with a reason, within the timeout; the request carries the
// caller's headers and Host, and goes to DiscoverPath whatever the URL's path.
func TestDiscoverWorkersFailsSoft(t *testing.T) {
	var mu sync.Mutex // the race detector cannot see the loopback's ordering
	var gotHost, gotAuth, gotPath string
	answers := map[string]func(w http.ResponseWriter, r *http.Request){
		"corebench": func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"workers":3}`) },
		"404":       func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
		"html":      func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>hello</html>") },
		"no-count":  func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"model":"x"}`) },
		"zero":      func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"workers":0}`) },
		"redirect":  func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) },
		"hangs":     func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotHost, gotAuth, gotPath = r.Host, r.Header.Get("Authorization"), r.URL.Path
		mu.Unlock()
		answers[r.Host](w, r)
	}))
	defer srv.Close()
	for host, want := range map[string]int{"corebench": 3, "404": 0, "html": 0, "no-count": 0, "zero": 0, "redirect": 0, "hangs": 0} {
		o := Options{URL: srv.URL + "/some/path?q=1", Header: http.Header{"Host": {host}, "Authorization": {"Bearer x"}}}
		if host == "hangs" {
			o.Timeout = 100 * time.Millisecond // bounds the discovery too
		}
		n, err := DiscoverWorkers(context.Background(), o)
		if n != want || (want == 0) != (err != nil) {
			t.Errorf("%s: %d, %v; want %d", host, n, err, want)
		}
		mu.Lock()
		if gotHost != host || gotAuth != "Bearer x" || gotPath != DiscoverPath {
			t.Errorf("%s: the server saw Host %q, Authorization %q, path %q", host, gotHost, gotAuth, gotPath)
		}
		mu.Unlock()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if n, err := DiscoverWorkers(context.Background(), Options{URL: "http://" + addr}); n != 0 || err == nil {
		t.Errorf("nothing listening: %d, %v", n, err)
	}
}
