package scenario

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/corebench/corebench/results"
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

// block is the block scenario of these tests: short, light, two workers.
var block = Block{Rate: 200, Duration: time.Second, At: 400 * time.Millisecond, Work: 150 * time.Millisecond, Workers: 2}

// TestBlock: on an event loop the slow request holds up every cheap
// request due while it runs, each answered after it; preempted
// (goroutines) they go on; every request is accounted for.
func TestBlock(t *testing.T) {
	r, _ := mustRun(t, block)
	b := r.Block
	if b == nil || len(b.Runs) != 4 || b.Iters <= 0 || b.CalibIters == 0 || r.Model != "4 servers" {
		t.Fatalf("model %q, block result %+v", r.Model, b)
	}
	byName := map[string]results.BlockRun{}
	var sent int64
	for _, run := range b.Runs {
		byName[run.Setup] = run
		sent += int64(run.Sent)
		if run.Sent != 200 || run.Failed != 0 || run.SlowError != "" || run.Due == 0 || len(run.Requests) != run.Sent || run.Iters != 0 {
			t.Errorf("%s: sent %d, failed %d, slow %q, due %d, %d samples, own iters %d", run.Setup, run.Sent, run.Failed, run.SlowError, run.Due, len(run.Requests), run.Iters)
		}
		if run.BlockEnd <= run.BlockAt || run.AfterEnd > run.Due || run.Over > run.Due {
			t.Errorf("%s: block %v to %v, %d due, %d after, %d over", run.Setup, run.BlockAt, run.BlockEnd, run.Due, run.AfterEnd, run.Over)
		}
	}
	if r.Sent != sent {
		t.Errorf("sent %d in all, runs add up to %d", r.Sent, sent)
	}
	loop, free := byName["singlecore, event loop"], byName["goroutines"]
	// The loop writes the slow answer before it takes the next request,
	// so the cheap ones due meanwhile come with it or after; a few may
	// have reached the loop before it did.
	if loop.AfterEnd*10 < loop.Due*8 {
		t.Errorf("event loop: %d of %d cheap requests due during the slow one held to its end; want nearly all", loop.AfterEnd, loop.Due)
	}
	if free.AfterEnd*2 > free.Due {
		t.Errorf("goroutines: %d of %d cheap requests due during the slow one held to its end; want few", free.AfterEnd, free.Due)
	}
}

// TestBlockInterrupted: the block scenario stopped during its second
// server keeps the servers measured whole, marked interrupted after how
// long it ran (it has no load of one length to tell it in).
func TestBlockInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := block
	b.Iters = 100_000 // no sizing: straight to the load
	r, _, err := runCtx(t, ctx, b, func(line string) {
		if strings.HasPrefix(line, "singlecore: slow request") {
			cancel()
		}
	})
	var stopped *InterruptedError
	if !errors.As(err, &stopped) || !stopped.Kept {
		t.Fatalf("Run = %v, want an *InterruptedError with what was measured kept", err)
	}
	if in := r.Interrupted; in == nil || in.OfS != 0 || in.AfterS <= 0 || len(r.Block.Runs) != 1 || r.Block.Iters != 100_000 {
		t.Errorf("interrupted %+v with %d runs", in, len(r.Block.Runs))
	}
}
