package report

import (
	"strings"
	"testing"

	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
)

// TestWorkersLine: every worker the server runs is listed, an idle one at
// 0%; the line says when the count is unknown or wrong.
func TestWorkersLine(t *testing.T) {
	for _, c := range []struct {
		workers int
		per     map[string]int64
		want    string
	}{
		{2, map[string]int64{"1": 10}, "1 of 2 workers answered, fairness 0.500 (Jain over all 2, the idle counting 0; 1 = even):  #0 0%  #1 100.0%"},
		{2, map[string]int64{"0": 5, "1": 5}, "2 of 2 workers answered, fairness 1.000 (Jain over all 2; 1 = even):  #0 50.0%  #1 50.0%"},
		{0, map[string]int64{"0": 3, "1": 1}, "2 workers answered; how many the server runs is unknown (give --workers N), so fairness 0.800 (Jain; 1 = even) is over those 2:  #0 75.0%  #1 25.0%"},
		{3, nil, "0 of 3 workers answered with an X-Worker header"},
		{1, map[string]int64{"1": 4}, "1 worker answered, slots beyond the 1 worker the server was said to run; fairness 1.000 (Jain over 1; 1 = even):  #1 100.0%"},
	} {
		s := &results.Summary{Workers: c.workers, PerWorker: c.per}
		s.Fairness = stats.Jain(c.per, c.workers)
		if got := workersLine(s); got != c.want {
			t.Errorf("workers %d, %v:\n got %q\nwant %q", c.workers, c.per, got, c.want)
		}
	}
}

// TestContendedNote: the table says when the generator's CPUs were busy
// with other work while it used little of them, and not otherwise.
func TestContendedNote(t *testing.T) {
	for _, c := range []struct {
		busy  []float64
		cpus  []int
		cores float64
		want  bool
	}{
		{[]float64{0.99, 0.4}, []int{0}, 0.56, true},  // pinned to a CPU the server also used
		{[]float64{0.11, 1.0}, []int{0}, 0.11, false}, // pinned apart from the server
		{[]float64{0.99, 0.4}, []int{0, 1}, 0.5, false},
		{[]float64{0.99, 0.4}, nil, 0.5, false}, // CPUs unknown
	} {
		s := &results.Summary{Engine: "fast", Mode: "closed", Connections: 1, DurationS: 1, MachineCPU: c.busy,
			LoadgenCPUs: c.cpus, LoadgenCores: c.cores, CoresAllowed: max(len(c.cpus), 1)}
		var b strings.Builder
		if err := AttackTable(&b, s); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(b.String(), "NOTE: the generator's CPUs"); got != c.want {
			t.Errorf("busy %v, generator on %v using %.2f: note %v, want %v\n%s", c.busy, c.cpus, c.cores, got, c.want, b.String())
		}
	}
}

// TestWaitLine: the requests that ended after the attack are said apart
// from its figures (issue 20): a stopped worker's timeouts 7 s after a
// 3 s attack are not in its requests or req/s.
func TestWaitLine(t *testing.T) {
	s := &results.Summary{Engine: "fast", Mode: "closed", Connections: 32, DurationS: 3, Requests: 175801, Errors: 16,
		WaitS: 7.0394, WaitRequests: 32, WaitErrors: 16, RPS: 175769.0 / 3, RPSAll: 175769.0 / 3}
	var b strings.Builder
	if err := AttackTable(&b, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"175,769 requests in 3.00 s, 175,769 successful: 58,590 req/s",
		"Wait       7.04 s after the attack for the last answers: 32 more ended, 16 failed; in the counts and latencies, not in req/s or the per-second samples",
		"Errors     16 of 175,801",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "req/s counts successful responses only") {
		t.Errorf("no request failed within the attack, yet the table says how many did:\n%s", b.String())
	}
}
