package workload

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// concurrency counts the handlers running at once and the most there were.
type concurrency struct{ now, most atomic.Int64 }

func (c *concurrency) handler(inside func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := c.now.Add(1)
		for m := c.most.Load(); n > m && !c.most.CompareAndSwap(m, n); m = c.most.Load() {
		}
		inside()
		c.now.Add(-1)
	})
}

func get(t *testing.T, ctx context.Context, url string) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// TestEventLoopSerialises: on the loop, never two handlers at once, however
// many requests come together and however long each computes; without it,
// two run at once (the barrier below waits for both).
func TestEventLoopSerialises(t *testing.T) {
	var c concurrency
	l := &EventLoop{}
	srv := httptest.NewServer(l.Wrap(c.handler(func() {
		CPUDigest(2000) // work that can be preempted, so overlap would show
		runtime.Gosched()
	})))
	defer srv.Close()
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range 10 {
				if err := get(t, context.Background(), srv.URL); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if m := c.most.Load(); m != 1 {
		t.Errorf("on the event loop, %d handlers ran at once; want 1", m)
	}

	var free concurrency
	both := make(chan struct{})
	var once sync.Once
	srv2 := httptest.NewServer(free.handler(func() {
		if free.now.Load() == 2 {
			once.Do(func() { close(both) })
		}
		select {
		case <-both:
		case <-time.After(10 * time.Second):
		}
	}))
	defer srv2.Close()
	for range 2 {
		wg.Go(func() { get(t, context.Background(), srv2.URL) })
	}
	wg.Wait()
	if m := free.most.Load(); m != 2 {
		t.Errorf("without the loop, at most %d handlers ran at once; want 2", m)
	}
}

// TestEventLoopFIFO: the loop goes to waiters in the order they came.
func TestEventLoopFIFO(t *testing.T) {
	l := &EventLoop{}
	l.Enter()
	const n = 20
	var order []int
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			l.Enter()
			order = append(order, i) // safe: only the loop's holder runs this
			l.Leave()
		})
		// Let waiter i queue before waiter i+1 starts.
		for {
			l.mu.Lock()
			q := len(l.waiting)
			l.mu.Unlock()
			if q == i+1 {
				break
			}
			runtime.Gosched()
		}
	}
	l.Leave()
	wg.Wait()
	for i, v := range order {
		if v != i {
			t.Fatalf("entered in order %v; want 0 to %d", order, n-1)
		}
	}
}

// TestEventLoopIOReleases: requests waiting in /io leave the loop, so they
// overlap and a request to / is answered meanwhile.
func TestEventLoopIOReleases(t *testing.T) {
	l := &EventLoop{}
	h := New(Config{Loop: l})
	arrived := make(chan struct{}, 8)
	srv := httptest.NewServer(l.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/io" {
			arrived <- struct{}{}
		}
		h.ServeHTTP(w, r)
	})))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { get(t, ctx, srv.URL+"/io?ms=30000") })
	}
	for range 4 {
		<-arrived
	}
	// The loop is free only if every /io left it.
	if err := get(t, context.Background(), srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	if _, inFlight := h.Stats(); inFlight != 4 {
		t.Errorf("%d requests in flight while 4 wait in /io", inFlight)
	}
	cancel()
	wg.Wait()
}

// TestServingWithoutLoop: with no loop, Serving is the handler itself.
func TestServingWithoutLoop(t *testing.T) {
	h := New(Config{})
	if s, ok := h.Serving().(*Handler); !ok || s != h {
		t.Errorf("Serving() = %T, want the handler itself", h.Serving())
	}
}
