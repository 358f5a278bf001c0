package scenario

import (
	"cmp"
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/corebench/corebench/results"
)

// Stall stops every process of a server under load for For at At
// (SIGSTOP, then SIGCONT), as a long GC pause, a swapped-out page or a
// noisy neighbour would: an open loop's p99 shows it, a closed loop's
// hides it (coordinated omission).
type Stall struct {
	Load
	At    time.Duration // default a third of the load's Duration
	Share float64       // as Crash's
	For   time.Duration // how long the server is stopped; default DefaultStall
}

// DefaultStall is how long Stall stops the server unless told.
const DefaultStall = 500 * time.Millisecond

func (Stall) Name() string         { return "stall" }
func (Stall) OwnServersOnly() bool { return false }

func (s Stall) withDefaults() Stall {
	s.Load = s.Load.WithDefaults()
	s.At = orDefault(s.At, s.Duration/3)
	s.For = orDefault(s.For, DefaultStall)
	return s
}

func (s Stall) Check() error {
	s = s.withDefaults()
	return cmp.Or(checkShare(s.Share), checkAt(s.At, s.Duration))
}

// Run starts the server, drives the load and stops the server at s.At
// for s.For.
func (s Stall) Run(ctx context.Context, env Env) (*results.Scenario, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	s = s.withDefaults()
	return plan{name: s.Name(), load: s.Load, share: s.Share, during: s.stall}.run(ctx, env)
}

// stall stops the server at s.At, for s.For unless ctx ends first.
func (s Stall) stall(ctx context.Context, t *timeline) error {
	if t.wait(ctx, s.At) != nil {
		return nil
	}
	return t.act(fmt.Sprintf("server stopped for %v", s.For), func() error {
		// SIGSTOP freezes every process of the server at once.
		pids := t.srv.Pids()
		for _, p := range pids {
			syscall.Kill(p, syscall.SIGSTOP)
		}
		timer := time.NewTimer(s.For)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
		}
		for _, p := range pids {
			syscall.Kill(p, syscall.SIGCONT)
		}
		return nil
	})
}
