package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/corebench/corebench/models/modeltest"
	"github.com/corebench/corebench/results"
)

// TestAttackUnsentAndBounds: against a server that never answers, with
// one connection allowed, the open loop's hits that found no connection
// within the timeout are counted as unsent, in the JSON and the table,
// and the latencies they move are marked as lower bounds; req/s counts
// successes only, here none.
func TestAttackUnsentAndBounds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(srv.Close)
	args := []string{"attack", srv.URL, "--rate", "100", "-d", "500ms", "-c", "1", "--max-connections", "1", "--timeout", "100ms"}

	st, stdout, stderr := modeltest.RunToExit(t, bench(append(args, "--json")...))
	if st != 0 || !oneLine(stdout) {
		t.Fatalf("status %d, stderr %q, stdout %q", st, stderr, stdout)
	}
	var s results.Summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	if s.Unsent == 0 || s.Unsent+s.Requests != 50 || s.RPS != 0 || !s.Latency.IsLowerBound("p50") {
		t.Errorf("unsent %d, requests %d, rps %v, lower bounds %v: want 50 scheduled, some unsent, no successes, p50 a lower bound",
			s.Unsent, s.Requests, s.RPS, s.Latency.LowerBounds)
	}
	if !strings.Contains(stdout, `"unsent":`) || !strings.Contains(stdout, `"lower_bounds":`) {
		t.Errorf("the JSON lacks unsent or lower_bounds: %s", stdout)
	}

	st, stdout, stderr = modeltest.RunToExit(t, bench(args...))
	if st != 0 {
		t.Fatalf("status %d, stderr %q", st, stderr)
	}
	for _, want := range []string{"Unsent     ", "were given up", "≥", "0 successful: 0 req/s"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the table lacks %q:\n%s", want, stdout)
		}
	}
}
