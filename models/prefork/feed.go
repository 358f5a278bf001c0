package prefork

import "sync"

// feed keeps the last items published and fans every new one out to its
// subscribers without ever blocking the publisher: the master's log lines
// and its events are both one. A subscriber whose buffer is full either
// misses the item (lossy: a log follower) or has its channel closed, so it
// learns that it lost items rather than missing some silently (events).
type feed[T any] struct {
	keep, buffer int
	lossy        bool

	mu   sync.Mutex
	tail []T
	subs map[chan T]struct{}
}

func newFeed[T any](keep, buffer int, lossy bool) *feed[T] {
	return &feed[T]{keep: keep, buffer: buffer, lossy: lossy, subs: map[chan T]struct{}{}}
}

func (f *feed[T]) publish(v T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.tail) >= f.keep {
		f.tail = append(f.tail[:0], f.tail[1:]...)
	}
	f.tail = append(f.tail, v)
	for c := range f.subs {
		select {
		case c <- v:
		default:
			if !f.lossy {
				delete(f.subs, c)
				close(c)
			}
		}
	}
}

// subscribe returns the recent items and a channel of those to come, with
// none lost or repeated between the two.
func (f *feed[T]) subscribe() ([]T, chan T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := make(chan T, f.buffer)
	f.subs[c] = struct{}{}
	return append([]T(nil), f.tail...), c
}

// unsubscribe ends c's subscription and closes it, unless publish has.
func (f *feed[T]) unsubscribe(c chan T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.subs[c]; ok {
		delete(f.subs, c)
		close(c)
	}
}
