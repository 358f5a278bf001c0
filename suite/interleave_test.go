package suite

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corebench/corebench/internal/proc"
	"github.com/corebench/corebench/loadgen"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/variant"
)

// visit is a load the generator was asked for: whose server, and whether
// it measured (the profile's duration) or warmed up.
type visit struct {
	url      string
	measured bool
}

// recording wraps o's generator to record each load in order.
func recording(o *Options) (visits func() []visit) {
	var mu sync.Mutex
	var seen []visit
	gen := o.Generate
	o.Generate = func(ctx context.Context, l loadgen.Load) (*results.Summary, error) {
		mu.Lock()
		seen = append(seen, visit{l.URL, l.Duration == o.Profile.Duration})
		mu.Unlock()
		return gen(ctx, l)
	}
	return func() []visit {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

func interleaved(specs []Spec) Options {
	o := options(specs)
	o.Profile.Repeat, o.Profile.Duration = 4, 100*time.Millisecond
	o.Profile.Interleave, o.Profile.VisitWarmup = true, 20*time.Millisecond
	o.Seed = 7
	return o
}

// TestInterleaved: the models of one comparison are measured in rounds:
// every server starts and warms up first, each round measures each model
// once after a warm-up of its own, the order is drawn afresh each round,
// the run is saved after every round with the cases marked unfinished,
// and the record says how it was measured.
func TestInterleaved(t *testing.T) {
	models := []variant.Variant{variant.SingleCore, variant.Goroutines, variant.PreforkRR}
	var specs []Spec
	for _, m := range models {
		specs = append(specs, spec(m))
	}
	o := interleaved(specs)
	visits := recording(&o)
	var saves [][]string // each save's case errors
	o.Save = func(r *results.Run) error {
		var errs []string
		for _, c := range r.Cases {
			errs = append(errs, c.Error)
		}
		saves = append(saves, errs)
		return nil
	}
	var finished []string
	o.Progress = func(p Progress) {
		if p.Finished != nil {
			finished = append(finished, p.Finished.Model)
		}
	}
	var run results.Run
	if err := Run(context.Background(), o, &run); err != nil {
		t.Fatal(err)
	}
	s := run.Settings
	if !s.Interleaved || s.OrderSeed != 7 || s.VisitWarmup != 0.02 {
		t.Errorf("settings %+v: want interleaved, seed 7, visit warm-up 0.02 s", s)
	}
	if len(run.Cases) != 3 || !slices.Equal(finished, []string{"singlecore", "goroutines", "prefork-rr"}) {
		t.Fatalf("%d cases, finished in the order %v: want the plan's", len(run.Cases), finished)
	}
	for _, c := range run.Cases {
		if c.Error != "" || len(c.Repeats) != 4 || c.Summary == nil {
			t.Fatalf("%s: error %q, %d repeats", c.Model, c.Error, len(c.Repeats))
		}
	}

	// The visits: three warm-ups, one per server, then rounds of three
	// measured repeats, each after a warm-up on the same server.
	v := visits()
	if len(v) != 3+4*3*2 {
		t.Fatalf("%d loads, want 3 warm-ups and 4 rounds of 3 warmed repeats", len(v))
	}
	urls := map[string]bool{}
	for _, w := range v[:3] {
		urls[w.url] = true
		if w.measured {
			t.Errorf("a repeat measured before every server warmed up: %v", v[:3])
		}
	}
	if len(urls) != 3 {
		t.Errorf("the first loads warm up %d servers, want all 3", len(urls))
	}
	var orders [][]string
	for r := range 4 {
		var order []string
		for i := 3 + 6*r; i < 3+6*(r+1); i += 2 {
			warm, meas := v[i], v[i+1]
			if warm.measured || !meas.measured || warm.url != meas.url {
				t.Fatalf("round %d: %+v then %+v, want a warm-up then a repeat of one server", r, warm, meas)
			}
			order = append(order, meas.url)
		}
		if len(slices.Compact(slices.Sorted(slices.Values(order)))) != 3 {
			t.Errorf("round %d measured %v, want each server once", r, order)
		}
		orders = append(orders, order)
	}
	if slices.Equal(orders[0], orders[1]) && slices.Equal(orders[1], orders[2]) && slices.Equal(orders[2], orders[3]) {
		t.Errorf("every round in the same order %v: the order is not drawn afresh", orders[0])
	}
	// Each model's repeats spread over the rounds: its second starts
	// after another model's first.
	first := run.Cases[0].Repeats[0].Start
	for _, c := range run.Cases[1:] {
		if !c.Repeats[1].Start.After(first) || c.Repeats[0].Start.IsZero() {
			t.Errorf("%s: repeats at %v, %v; singlecore's first at %v", c.Model, c.Repeats[0].Start, c.Repeats[1].Start, first)
		}
	}

	// Saved after every round, the cases unfinished until the last.
	if len(saves) != 5 {
		t.Fatalf("%d saves, want one per round and one at the end", len(saves))
	}
	for i, errs := range saves {
		want := ""
		if i < 4 {
			want = unfinished
		}
		if len(errs) != 3 || errs[0] != want || errs[2] != want {
			t.Errorf("save %d: errors %q, want %q each", i, errs, want)
		}
	}
}

// TestInterleavedFaults: in a comparison, a server that will not start
// and one that dies are recorded with their errors, the others measured
// in every round; cancelling mid-comparison stops every server.
func TestInterleavedFaults(t *testing.T) {
	o := interleaved([]Spec{spec(variant.SingleCore), spec(fake("broken")), spec(fake("fragile")), spec(variant.Goroutines)})
	var run results.Run
	if err := Run(context.Background(), o, &run); err != nil {
		t.Fatal(err)
	}
	if len(run.Cases) != 4 {
		t.Fatalf("%d cases", len(run.Cases))
	}
	for _, i := range []int{0, 3} {
		if c := run.Cases[i]; c.Error != "" || len(c.Repeats) != 4 {
			t.Errorf("%s: error %q, %d repeats; want 4 and none", c.Model, c.Error, len(c.Repeats))
		}
	}
	if e := run.Cases[1].Error; !strings.Contains(e, "pretend the port is taken") {
		t.Errorf("broken: %q", e)
	}
	if c := run.Cases[2]; c.Error == "" || c.Error == unfinished {
		t.Errorf("fragile: error %q, want why it died", c.Error)
	}

	o = interleaved([]Spec{spec(variant.SingleCore), spec(variant.Goroutines)})
	o.Profile.Duration = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	var pids []int
	gen := o.Generate
	o.Generate = func(ctx context.Context, l loadgen.Load) (*results.Summary, error) {
		if l.Duration == time.Minute {
			pids = proc.Children(os.Getpid()) // both servers run now
			cancel()                          // Ctrl-C during the first measured repeat
		}
		return gen(ctx, l)
	}
	run = results.Run{}
	if err := Run(ctx, o, &run); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if len(run.Cases) != 2 || run.Cases[0].Error != unfinished || run.Cases[1].Error != unfinished {
		t.Fatalf("cases %+v: want both, interrupted", run.Cases)
	}
	if len(pids) != 2 {
		t.Errorf("%d servers running during the first repeat, want both", len(pids))
	}
	for _, pid := range pids {
		if proc.CPUSeconds([]int{pid}) != 0 {
			t.Errorf("server %d still running", pid)
		}
	}
}
