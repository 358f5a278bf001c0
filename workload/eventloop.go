package workload

import (
	"net/http"
	"sync"
)

// EventLoop runs handler code one request at a time, in the order the
// requests reached it, as Node.js runs one callback at a time on its event
// loop. Go with GOMAXPROCS=1 preempts a goroutine that computes for long
// (every 10 ms or so), so one CPU-heavy request slows the others down but
// does not stop them; on an event loop it stops them all until it is done.
// An EventLoop gives the workshop that second behaviour, measured.
//
// What it serialises is the handler only: net/http still reads and parses
// requests and writes responses on every connection concurrently, as
// libuv polls every socket while a callback runs. A wait that would be
// asynchronous in Node (/io, its setTimeout) leaves the loop and queues
// again, at the back, when it is over, so it holds nobody up.
//
// Enter hands the loop to waiters strictly first come, first served
// (sync.Mutex does not promise that), so no request can overtake one that
// arrived before it.
type EventLoop struct {
	mu      sync.Mutex
	busy    bool
	waiting []chan struct{} // in arrival order
}

// Enter waits for the loop to be free, after every request that entered
// before, and takes it.
func (l *EventLoop) Enter() {
	l.mu.Lock()
	if !l.busy {
		l.busy = true
		l.mu.Unlock()
		return
	}
	c := make(chan struct{})
	l.waiting = append(l.waiting, c)
	l.mu.Unlock()
	<-c // Leave handed the loop to us
}

// Leave gives the loop to the longest waiter, or frees it.
func (l *EventLoop) Leave() {
	l.mu.Lock()
	if len(l.waiting) == 0 {
		l.busy = false
		l.mu.Unlock()
		return
	}
	c := l.waiting[0]
	l.waiting[0] = nil
	l.waiting = l.waiting[1:]
	l.mu.Unlock()
	close(c)
}

// Wrap returns h run on the loop: each request enters it before h and
// leaves it after, even when h panics (net/http recovers the panic, and
// the loop must not stay taken).
func (l *EventLoop) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.Enter()
		defer l.Leave()
		h.ServeHTTP(w, r)
	})
}

// Serving returns what a server should serve: h itself, or h on its event
// loop when Config.Loop is set. The wrapping happens here, once, so that
// without a loop ServeHTTP pays nothing for it.
func (h *Handler) Serving() http.Handler {
	if h.cfg.Loop == nil {
		return h
	}
	return h.cfg.Loop.Wrap(h)
}
