package loadgen

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/corebench/corebench/results"
)

func TestParseSegment(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Segment
		ok   bool
	}{
		{"1/1", Segment{1, 1}, true},
		{"2/3", Segment{2, 3}, true},
		{" 3/3 ", Segment{3, 3}, true},
		{"0/3", Segment{}, false},
		{"4/3", Segment{}, false},
		{"1/0", Segment{}, false},
		{"-1/2", Segment{}, false},
		{"1", Segment{}, false},
		{"a/b", Segment{}, false},
		{"", Segment{}, false},
	} {
		got, err := ParseSegment(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseSegment(%q) = %v, %v; want %v, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}

// TestSegmentShare: the shares of any total add up to it, and differ by
// one at most: 10 in three is 4 + 3 + 3.
func TestSegmentShare(t *testing.T) {
	for _, total := range []int{0, 1, 2, 3, 10, 100, 101, 9999} {
		for n := 1; n <= 7; n++ {
			sum, lo, hi := 0, total, 0
			for i := 1; i <= n; i++ {
				s := Segment{i, n}.Share(total)
				sum += s
				lo, hi = min(lo, s), max(hi, s)
			}
			if sum != total || hi-lo > 1 {
				t.Errorf("%d in %d segments: shares add up to %d, from %d to %d", total, n, sum, lo, hi)
			}
		}
	}
	if got := []int{Segment{1, 3}.Share(10), Segment{2, 3}.Share(10), Segment{3, 3}.Share(10)}; !slices.Equal(got, []int{4, 3, 3}) {
		t.Errorf("10 connections in 3 segments: %v, want [4 3 3]", got)
	}
}

// hitsOf returns every hit a clock gives.
func hitsOf(c hitClock) []int64 {
	var out []int64
	for {
		at, ok := c.next()
		if !ok {
			return out
		}
		out = append(out, at)
	}
}

// TestSegmentScheduleUnion: for every pacer ParseRate makes, the
// segments' schedules are disjoint and their union is the one-process
// schedule, hit for hit, time for time.
func TestSegmentScheduleUnion(t *testing.T) {
	d := 2 * time.Second
	for _, rate := range []string{"1000", "30000", "7/3ms", "100:3000", "3000:100", "sine:2000:1500:700ms"} {
		p, err := ParseRate(rate, d)
		if err != nil {
			t.Fatal(err)
		}
		whole := hitsOf(hitClock{p: p, from: 5, to: 5 + int64(d)})
		if len(whole) < 100 {
			t.Fatalf("rate %s: only %d hits", rate, len(whole))
		}
		for _, n := range []int{1, 2, 3, 7} {
			var union []int64
			for i := 1; i <= n; i++ {
				part := hitsOf(hitClock{p: p, from: 5, to: 5 + int64(d), seg: Segment{i, n}})
				if want := (Segment{i, n}).Share(len(whole)); len(part) != want {
					t.Errorf("rate %s, segment %d/%d: %d hits, want %d of %d", rate, i, n, len(part), want, len(whole))
				}
				for j, at := range part {
					if k := j*n + i - 1; whole[k] != at {
						t.Fatalf("rate %s, segment %d/%d: hit %d at %d, want hit %d of one process's, at %d", rate, i, n, j, at, k, whole[k])
					}
				}
				union = append(union, part...)
			}
			slices.Sort(union)
			if !slices.Equal(union, whole) {
				t.Errorf("rate %s: the %d segments' schedules do not add up to one process's (%d hits, want %d)", rate, n, len(union), len(whole))
			}
		}
	}
}

// TestSegmentsAddUp runs one process, then the segments side by side,
// against a server that counts: the open loop's segments send exactly the
// hits one process sends, constant rate and ramp; the closed loop's open
// exactly the one process's connections.
func TestSegmentsAddUp(t *testing.T) {
	const d = 500 * time.Millisecond
	for _, engine := range engines {
		for _, rate := range []string{"2000", "400:3000"} {
			t.Run(engine.String()+"/"+rate, func(t *testing.T) {
				srv, tl := countingServer(t, nil, nil)
				p, err := ParseRate(rate, d)
				if err != nil {
					t.Fatal(err)
				}
				o := Options{URL: srv.URL, Engine: engine, Rate: p, Duration: d, Connections: 6, Timeout: time.Minute}
				one := mustRun(t, o)
				sent := one.Requests + one.Unsent
				want := int64(len(hitsOf(hitClock{p: p, to: int64(d)})))
				if sent != want {
					t.Fatalf("one process sent %d hits (%d requests, %d unsent), its schedule has %d", sent, one.Requests, one.Unsent, want)
				}
				parts := runSegments(t, o, 3)
				var sum, served int64
				for _, s := range parts {
					sum += s.Requests + s.Unsent
					served += s.Requests
				}
				if sum != sent {
					t.Errorf("3 segments sent %d hits, one process %d", sum, sent)
				}
				tl.mu.Lock()
				defer tl.mu.Unlock()
				if tl.requests != one.Requests+served {
					t.Errorf("server counted %d requests, the generators %d", tl.requests, one.Requests+served)
				}
			})
		}
		t.Run(engine.String()+"/closed", func(t *testing.T) {
			srv, tl := countingServer(t, nil, nil)
			o := Options{URL: srv.URL, Engine: engine, Duration: 200 * time.Millisecond, Connections: 10}
			parts := runSegments(t, o, 3)
			var conns []int
			var opened, requests int64
			for _, s := range parts {
				conns = append(conns, s.Connections)
				opened += s.ConnectionsOpened
				requests += s.Requests
			}
			// net/http (the vegeta engine) may dial a connection again
			// when one it meant to reuse was closed under it: there the
			// split is of the connections asked for, and the dials are
			// at least as many; the fast engine dials each once.
			wantOpened := opened
			if engine == EngineFast {
				wantOpened = 10
			}
			if !slices.Equal(conns, []int{4, 3, 3}) || opened != wantOpened || opened < 10 {
				t.Errorf("segments of 10 connections: %v, %d opened; want [4 3 3], 10", conns, opened)
			}
			tl.mu.Lock()
			defer tl.mu.Unlock()
			if int64(tl.conns) != opened || tl.requests != requests {
				t.Errorf("server saw %d connections and %d requests; want the generators' %d and %d", tl.conns, tl.requests, opened, requests)
			}
		})
	}
}

// runSegments runs the n segments of o at once and returns their summaries in order.
func runSegments(t *testing.T, o Options, n int) []*results.Summary {
	t.Helper()
	out := make([]*results.Summary, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			so := o
			so.Segment = Segment{i + 1, n}
			out[i], errs[i] = Run(context.Background(), so)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("segment %d/%d: %v", i+1, n, err)
		}
		if got := out[i].Segment; got != (Segment{i + 1, n}).String() {
			t.Errorf("segment %d/%d recorded as %q", i+1, n, got)
		}
	}
	return out
}

// TestStartAt: the run waits for its start time, and records it.
func TestStartAt(t *testing.T) {
	srv, _ := countingServer(t, nil, nil)
	at := time.Now().Add(300 * time.Millisecond)
	s := mustRun(t, Options{URL: srv.URL, Connections: 1, Duration: 50 * time.Millisecond, StartAt: at})
	if s.Start.Before(at) {
		t.Errorf("started at %v, before its start time %v", s.Start, at)
	}
	if s.StartAt == nil || !s.StartAt.Equal(at) || s.StartLateMs != 0 {
		t.Errorf("start_at %v, late %v ms; want %v, 0", s.StartAt, s.StartLateMs, at)
	}
	// A time that passed while connecting: at once, and how late is said.
	past := time.Now().Add(-time.Second)
	s = mustRun(t, Options{URL: srv.URL, Connections: 1, Duration: 50 * time.Millisecond, StartAt: past})
	if s.StartLateMs < 1000 {
		t.Errorf("a start time a second past: late by %v ms, want 1000 or more", s.StartLateMs)
	}
	// Cancelled while waiting: no run.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, Options{URL: srv.URL, Connections: 1, StartAt: time.Now().Add(time.Hour)}); err == nil {
		t.Error("a cancelled run waiting for its start returned no error")
	}
}
