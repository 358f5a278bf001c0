//go:build !linux

package loadgen

import (
	"errors"
	"runtime"
	"sync"
	"time"
)

func allowedCPUs() int { return runtime.GOMAXPROCS(0) }

func affinityList() []int { return nil }

// descriptors cannot tell here.
func descriptors() (soft, hard uint64, open int, ok bool) { return 0, 0, 0, false }

// waiter sleeps with a Go timer: elsewhere than Linux no timerfd, and the
// runtime's timer precision.
type waiter struct {
	t      *time.Timer
	closed chan struct{}
	once   sync.Once
}

func newWaiter() (*waiter, error) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &waiter{t: t, closed: make(chan struct{})}, nil
}

func (w *waiter) wait(d time.Duration) error {
	if d <= 0 {
		return nil
	}
	w.t.Reset(d)
	select {
	case <-w.t.C:
		return nil
	case <-w.closed:
		w.t.Stop()
		return errors.New("waiter closed")
	}
}

func (w *waiter) close() error {
	w.once.Do(func() { close(w.closed) })
	return nil
}
