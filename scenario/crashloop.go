package scenario

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/corebench/corebench/models/prefork/control"
	"github.com/corebench/corebench/results"
)

// Crashloop runs a prefork server under load whose workers all exit
// ExitAfter after they are ready, as an app with a bad deploy does, and
// records what the master's restart policy makes of it, by its events:
// each crash, the backoff before each restart, the slots it gives up on.
type Crashloop struct {
	Load
	ExitAfter time.Duration // default DefaultExitAfter
	// MinUptime and MaxRestarts are the master's restart policy (bench
	// serve's defaults when 0).
	MinUptime   time.Duration
	MaxRestarts int
	// Startup is how long each worker takes to load before it listens
	// (bench serve --startup).
	Startup    time.Duration
	NoHandover bool // as Reload's
}

// DefaultExitAfter is how long a crash loop's workers live unless told.
const DefaultExitAfter = 300 * time.Millisecond

func (Crashloop) Name() string         { return "crashloop" }
func (Crashloop) OwnServersOnly() bool { return true }

func (c Crashloop) withDefaults() Crashloop {
	c.Load = c.Load.WithDefaults()
	c.ExitAfter = orDefault(c.ExitAfter, DefaultExitAfter)
	return c
}

func (c Crashloop) Check() error {
	c = c.withDefaults()
	return cmp.Or(CheckServer(c, c.Model), checkPrefork(c, c.Model))
}

// Run starts the crashing server, drives the load and records the
// master's events until the load ends.
func (c Crashloop) Run(ctx context.Context, env Env) (*results.Scenario, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	c = c.withDefaults()
	var loop *control.Watcher
	return plan{name: c.Name(), load: c.Load, noHandover: c.NoHandover, serve: append(replacing(c.Startup, c.NoHandover), c.policyArgs()...),
		before: func(ctx context.Context, t *timeline) error {
			// From before the load, so that no event of the loop is missed.
			var err error
			if loop, err = t.ctl.Watch(ctx); err != nil {
				return err
			}
			t.closes = append(t.closes, loop.Close)
			return nil
		},
		during: func(ctx context.Context, t *timeline) error {
			var cut error
			t.events, cut = collect(ctx, loop, t.began.Add(c.Duration))
			if cut != nil {
				t.r.Notes = append(t.r.Notes, fmt.Sprintf("the master's events stopped before the load ended (%v): the crash loop's counts are of what came before", cut))
			}
			return nil
		}}.run(ctx, env)
}

// policyArgs are the `bench serve` flags for the crashing and the restart
// policy.
func (c Crashloop) policyArgs() []string {
	args := []string{"--exit-after", c.ExitAfter.String()}
	if c.MinUptime > 0 {
		args = append(args, "--min-uptime", c.MinUptime.String())
	}
	if c.MaxRestarts > 0 {
		args = append(args, "--max-restarts", strconv.Itoa(c.MaxRestarts))
	}
	return args
}

// collect gathers a crash loop's events until the load ends; the error
// says why the events stopped before that (the watcher fell behind, or
// the master went away), so that short counts are not read as the loop's.
func collect(ctx context.Context, w *control.Watcher, until time.Time) ([]control.Event, error) {
	var out []control.Event
	t := time.NewTimer(time.Until(until))
	defer t.Stop()
	for {
		select {
		case e, ok := <-w.Events():
			if !ok {
				return out, cmp.Or(w.Err(), errors.New("the watch ended"))
			}
			switch e.Kind {
			case control.EventCrashed, control.EventRestarting, control.EventOnline, control.EventErrored:
				out = append(out, e)
			}
		case <-t.C:
			return out, nil
		case <-ctx.Done():
			return out, nil
		}
	}
}
