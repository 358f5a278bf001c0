package ipc

import (
	"context"
	"errors"
	"testing"
)

// TestCalls: a reply reaches the call of its ID, whatever the order; a
// late reply is dropped; Close fails the waiting calls and the later ones.
func TestCalls(t *testing.T) {
	var tb Calls
	sent := make(chan Msg, 4)
	send := func(m Msg) error { sent <- m; return nil }
	type result struct {
		m   Msg
		err error
	}
	call := func(ctx context.Context, val int64) chan result {
		r := make(chan result, 1)
		go func() {
			m, err := tb.Call(ctx, Msg{Kind: KindCounterAdd, Val: val}, send)
			r <- result{m, err}
		}()
		return r
	}
	a, b := call(context.Background(), 1), call(context.Background(), 2)
	reqs := map[int64]Msg{}
	for range 2 {
		m := <-sent
		reqs[m.Val] = m
	}
	if reqs[1].ID == reqs[2].ID {
		t.Fatalf("two calls share ID %d", reqs[1].ID)
	}
	// Answer b first.
	if !tb.Resolve(Msg{Kind: KindCounterValue, ID: reqs[2].ID, Val: 20}) || !tb.Resolve(Msg{Kind: KindCounterValue, ID: reqs[1].ID, Val: 10}) {
		t.Fatal("Resolve found no waiting call")
	}
	if r := <-a; r.err != nil || r.m.Val != 10 {
		t.Errorf("call 1: %+v %v, want 10", r.m, r.err)
	}
	if r := <-b; r.err != nil || r.m.Val != 20 {
		t.Errorf("call 2: %+v %v, want 20", r.m, r.err)
	}
	if tb.Resolve(Msg{ID: reqs[1].ID}) {
		t.Error("a second reply to one request was delivered")
	}

	// A call whose ctx ends forgets its ID: its late reply is dropped.
	ctx, cancel := context.WithCancel(context.Background())
	c := call(ctx, 3)
	late := <-sent
	cancel()
	if r := <-c; !errors.Is(r.err, context.Canceled) {
		t.Errorf("cancelled call: %v", r.err)
	}
	if tb.Resolve(Msg{ID: late.ID}) {
		t.Error("reply to a call that gave up was delivered")
	}

	// The channel dies with a call waiting.
	d := call(context.Background(), 4)
	<-sent
	tb.Close()
	if r := <-d; !errors.Is(r.err, ErrClosed) {
		t.Errorf("call waiting at Close: %v, want ErrClosed", r.err)
	}
	if _, err := tb.Call(context.Background(), Msg{}, send); !errors.Is(err, ErrClosed) {
		t.Errorf("call after Close: %v, want ErrClosed", err)
	}

	// A failed send fails the call at once.
	var fresh Calls
	boom := errors.New("broken pipe")
	if _, err := fresh.Call(context.Background(), Msg{}, func(Msg) error { return boom }); err != boom {
		t.Errorf("call whose send failed: %v", err)
	}
}
