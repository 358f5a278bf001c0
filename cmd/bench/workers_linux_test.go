package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/corebench/corebench/loadgen"
	"github.com/corebench/corebench/models/modeltest"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
)

// attackJSON runs bench attack with --json and returns its summary.
func attackJSON(t *testing.T, args ...string) results.Summary {
	t.Helper()
	st, stdout, stderr := modeltest.RunToExit(t, bench(append(append([]string{"attack"}, args...), "--json")...))
	if st != 0 || !oneLine(stdout) {
		t.Fatalf("bench attack %s: status %d, stderr %q", strings.Join(args, " "), st, stderr)
	}
	var s results.Summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAttackIdleWorker: a server that says it runs two workers, of which
// only worker 1 answers: "1 of 2 workers answered", fairness 0.5, worker
// 0 listed at 0%; --workers overrides what the server says.
func TestAttackIdleWorker(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Worker", "1")
		if r.URL.Path == loadgen.DiscoverPath {
			w.Write([]byte(`{"server":"corebench","workers":2}`))
			return
		}
		w.Write([]byte("hello"))
	}))
	defer srv.Close()
	st, stdout, stderr := modeltest.RunToExit(t, bench("attack", srv.URL+"/cpu", "-c", "2", "-d", "200ms"))
	if st != 0 {
		t.Fatalf("status %d, stderr %q", st, stderr)
	}
	if want := "Workers    1 of 2 workers answered, fairness 0.500 (Jain over all 2, the idle counting 0; 1 = even):  #0 0%  #1 100.0%\n"; !strings.Contains(stdout, want) {
		t.Errorf("table lacks %q:\n%s", want, stdout)
	}
	for _, engine := range []string{"fast", "vegeta"} {
		if s := attackJSON(t, srv.URL, "-c", "2", "-d", "200ms", "--engine", engine); s.Workers != 2 || s.Fairness != 0.5 {
			t.Errorf("%s: --json says workers %d, fairness %v; want 2 and 0.5", engine, s.Workers, s.Fairness)
		}
	}
	if s := attackJSON(t, srv.URL, "-c", "2", "-d", "200ms", "--workers", "4"); s.Workers != 4 || s.Fairness != 0.25 {
		t.Errorf("--workers 4: workers %d, fairness %v; want 4 and 0.25", s.Workers, s.Fairness)
	}
}

// TestAttackWorkersUnknown: a server that does not say: the table says
// the count is unknown and the fairness is over those that answered;
// --workers gives the count.
func TestAttackWorkersUnknown(t *testing.T) {
	srv, _ := attackTarget(t) // workers 0 and 1, no discovery
	st, stdout, stderr := modeltest.RunToExit(t, bench("attack", srv.URL, "-c", "2", "-d", "200ms"))
	if st != 0 {
		t.Fatalf("status %d, stderr %q", st, stderr)
	}
	if want := "Workers    2 workers answered; how many the server runs is unknown (give --workers N), so fairness 1.000 (Jain; 1 = even) is over those 2:"; !strings.Contains(stdout, want) {
		t.Errorf("table lacks %q:\n%s", want, stdout)
	}
	if s := attackJSON(t, srv.URL, "-c", "2", "-d", "200ms"); s.Workers != 0 || len(s.PerWorker) != 2 {
		t.Errorf("--json: workers %d, per worker %v; want 0 (unknown) and 2 slots", s.Workers, s.PerWorker)
	}
	st, stdout, stderr = modeltest.RunToExit(t, bench("attack", srv.URL, "-c", "2", "-d", "200ms", "--workers", "3"))
	if st != 0 || !strings.Contains(stdout, "Workers    2 of 3 workers answered, fairness ") || !strings.Contains(stdout, "#2 0%") {
		t.Errorf("--workers 3: status %d, stderr %q:\n%s", st, stderr, stdout)
	}
}

// TestAttackWorkersUsage: --workers below 1 is a usage error.
func TestAttackWorkersUsage(t *testing.T) {
	for _, n := range []string{"0", "-2", "two"} {
		st, stdout, stderr := modeltest.RunToExit(t, bench("attack", "http://127.0.0.1:9/", "--workers", n))
		if st != 2 || stdout != "" || !oneLine(stderr) || !strings.Contains(stderr, "--workers") || !strings.Contains(stderr, n) {
			t.Errorf("--workers %s: status %d, stdout %q, stderr %q; want status 2 and one line", n, st, stdout, stderr)
		}
	}
}

// TestAttackDiscoversPrefork: a real prefork server of 2 workers is
// discovered as 2, and as 3 after bench scale 3. rr gives one keep-alive
// connection to one worker, so one connection's fairness is 0.5.
func TestAttackDiscoversPrefork(t *testing.T) {
	srv, sock := startPrefork(t, "rr", 2)
	s := attackJSON(t, srv.URL, "-c", "1", "-d", "200ms")
	if s.Workers != 2 || s.Fairness != stats.Jain(s.PerWorker, 2) || len(s.PerWorker) == 1 && s.Fairness != 0.5 {
		t.Errorf("prefork of 2: workers %d, fairness %v, per worker %v", s.Workers, s.Fairness, s.PerWorker)
	}
	benchOK(t, "scale", "3", "--control", sock)
	if s := attackJSON(t, srv.URL, "-c", "1", "-d", "200ms"); s.Workers != 3 {
		t.Errorf("after scale 3: workers %d", s.Workers)
	}
}
