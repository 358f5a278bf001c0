package scenario

import (
	"testing"
	"time"
)

// TestAccount: the cheap requests due from the slow request's send to its
// answer are the ones counted, with their latency from when they were
// due; those due before give the undisturbed figures; failures are
// counted apart.
func TestAccount(t *testing.T) {
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	slow := shot{due: ms(1000), end: ms(1200)}
	shots := []shot{
		{due: ms(900), end: ms(901)},   // before: 1 ms
		{due: ms(990), end: ms(992)},   // before: 2 ms
		{due: ms(1000), end: ms(1201)}, // during, waited for the end: 201 ms
		{due: ms(1050), end: ms(1202)}, // 152 ms
		{due: ms(1150), end: ms(1203)}, // 53 ms
		{due: ms(1190), end: ms(1194)}, // 4 ms, answered before the slow one
		{due: ms(1191), end: ms(1197)}, // 6 ms, at the same moment as it
		{due: ms(1100), end: ms(1300), failed: true},
		{due: ms(1200), end: ms(1201)}, // after: due at its answer
	}
	r := account(shots, slow, 100*time.Millisecond)
	if r.Sent != 9 || r.Failed != 1 || r.Due != 5 || r.Over != 2 || r.AfterEnd != 4 {
		t.Errorf("sent %d failed %d due %d over %d after %d; want 9 1 5 2 4", r.Sent, r.Failed, r.Due, r.Over, r.AfterEnd)
	}
	if r.P50 != 53 || r.P99 != 201 || r.Max != 201 || r.BeforeP50 != 1 || r.BeforeP99 != 2 {
		t.Errorf("p50 %v p99 %v max %v before %v/%v", r.P50, r.P99, r.Max, r.BeforeP50, r.BeforeP99)
	}
	if r.SlowMs != 200 || r.BlockAt != 1 || r.BlockEnd != 1.2 || len(r.Requests) != 9 || !r.Requests[7].Failed {
		t.Errorf("slow %v ms from %v to %v, %d samples", r.SlowMs, r.BlockAt, r.BlockEnd, len(r.Requests))
	}
}
