package workload

import (
	"net/http"
	"strconv"
	"sync"
)

// EventLoop runs handler code one request at a time, in the order the
// requests reached it, as Node.js runs one callback at a time on its event
// loop. Go with GOMAXPROCS=1 preempts a goroutine that computes for long
// (every 10 ms or so), so one CPU-heavy request slows the others down but
// does not stop them; on an event loop it stops them all until it is done.
// An EventLoop gives the workshop that second behaviour, measured.
//
// What it serialises is the handler and the sending of its answer (see
// Wrap): net/http still reads and parses requests on every connection
// concurrently, as libuv polls every socket while a callback runs, which
// flatters the loop a little. A wait that would be asynchronous in Node
// (/io, its setTimeout) leaves the loop and queues again, at the back,
// when it is over, so it holds nobody up.
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
// the loop must not stay taken). The answer is sent before the loop moves
// on, as Node writes a response to its socket from the loop: otherwise
// net/http would send it after, and with GOMAXPROCS=1 behind every request
// that queued meanwhile. It is buffered to be sent with its
// Content-Length, as net/http does for a small body when a handler
// returns, rather than chunked by the flush.
func (l *EventLoop) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bw := writers.Get().(*bufferedWriter)
		bw.ResponseWriter, bw.code, bw.body = w, 0, bw.body[:0]
		l.Enter()
		defer func() {
			l.Leave()
			bw.ResponseWriter = nil
			writers.Put(bw)
		}()
		h.ServeHTTP(bw, r)
		bw.send()
	})
}

var writers = sync.Pool{New: func() any { return new(bufferedWriter) }}

// bufferedWriter keeps a response until send.
type bufferedWriter struct {
	http.ResponseWriter
	code int
	body []byte
}

func (w *bufferedWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *bufferedWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.body = append(w.body, b...)
	return len(b), nil
}

// send writes the response and flushes it to the connection.
func (w *bufferedWriter) send() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.Header()["Content-Length"] = []string{strconv.Itoa(len(w.body))}
	w.ResponseWriter.WriteHeader(w.code)
	w.ResponseWriter.Write(w.body)
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
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
