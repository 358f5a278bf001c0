package ipc

import (
	"context"
	"errors"
	"sync"
)

// ErrClosed is what a call returns once its channel is dead.
var ErrClosed = errors.New("ipc: the other end is gone")

// Calls is the table of requests one end of a channel has sent and awaits
// the replies of, by request ID: the master asks a worker for its stats, a
// worker asks the master for the shared counter. The zero value is ready.
type Calls struct {
	mu      sync.Mutex
	next    uint64
	waiting map[uint64]chan Msg
	closed  bool
}

// Call sends m with send under a fresh ID and waits for the reply, until
// ctx is done or Close.
func (t *Calls) Call(ctx context.Context, m Msg, send func(Msg) error) (Msg, error) {
	c := make(chan Msg, 1)
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return Msg{}, ErrClosed
	}
	if t.waiting == nil {
		t.waiting = map[uint64]chan Msg{}
	}
	t.next++
	m.ID = t.next
	t.waiting[m.ID] = c
	t.mu.Unlock()
	forget := func() {
		t.mu.Lock()
		delete(t.waiting, m.ID)
		t.mu.Unlock()
	}
	if err := send(m); err != nil {
		forget()
		return Msg{}, err
	}
	select {
	case r, ok := <-c:
		if !ok {
			return Msg{}, ErrClosed
		}
		return r, nil
	case <-ctx.Done():
		forget()
		return Msg{}, ctx.Err()
	}
}

// Resolve hands reply r to the call waiting on r.ID and reports whether one
// was; a reply that comes after its call gave up is dropped.
func (t *Calls) Resolve(r Msg) bool {
	t.mu.Lock()
	c := t.waiting[r.ID]
	delete(t.waiting, r.ID)
	t.mu.Unlock()
	if c == nil {
		return false
	}
	c <- r // buffered: the caller may have left meanwhile
	return true
}

// Close fails every waiting call and every later one with ErrClosed; the
// reader calls it when the channel is dead, so no caller waits for a reply
// that cannot come.
func (t *Calls) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.closed = true
	for id, c := range t.waiting {
		close(c)
		delete(t.waiting, id)
	}
}
