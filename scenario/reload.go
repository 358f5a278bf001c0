package scenario

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/corebench/corebench/results"
)

// Reload replaces every worker of a prefork server under load, one at a
// time, as bench reload does, at At; with the handover, no request fails.
type Reload struct {
	Load
	At    time.Duration // default a third of the load's Duration
	Share float64       // as Crash's
	// Startup is how long each new worker takes to load before it
	// listens (bench serve --startup).
	Startup time.Duration
	// NoHandover, for prefork-reuseport, makes each new worker bind its
	// own socket and the old one close its, instead of handing the slot's
	// socket over (the default), to measure the connections that resets.
	NoHandover bool
}

func (Reload) Name() string         { return "reload" }
func (Reload) OwnServersOnly() bool { return true }

func (s Reload) withDefaults() Reload {
	s.Load = s.Load.WithDefaults()
	s.At = orDefault(s.At, s.Duration/3)
	return s
}

func (s Reload) Check() error {
	s = s.withDefaults()
	return cmp.Or(CheckServer(s, s.Model), checkPrefork(s, s.Model), checkShare(s.Share), checkAt(s.At, s.Duration))
}

// Run starts the server, drives the load and reloads it at s.At.
func (s Reload) Run(ctx context.Context, env Env) (*results.Scenario, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	s = s.withDefaults()
	return plan{name: s.Name(), load: s.Load, share: s.Share, noHandover: s.NoHandover, serve: replacing(s.Startup, s.NoHandover), during: s.reload}.run(ctx, env)
}

// reload reloads the server at s.At, one worker at a time.
func (s Reload) reload(ctx context.Context, t *timeline) error {
	if t.wait(ctx, s.At) != nil {
		return nil
	}
	return t.act("rolling reload", func() error { return t.ctl.Reload(ctx, 1, t.progress) })
}

// Scale grows a prefork server under load from Workers to ScaleTo workers
// at At, and back at twice At; no request fails.
type Scale struct {
	Load                // Workers: default ScaleFrom
	At    time.Duration // default a third of the load's Duration
	Share float64       // as Crash's
	// Startup is how long each new worker takes to load before it
	// listens (bench serve --startup).
	Startup    time.Duration
	NoHandover bool // as Reload's
}

// Scale's workers: it starts with ScaleFrom unless told, grows to ScaleTo.
const (
	ScaleFrom = 2
	ScaleTo   = 8
)

func (Scale) Name() string         { return "scale" }
func (Scale) OwnServersOnly() bool { return true }

func (s Scale) withDefaults() Scale {
	s.Workers = orDefault(s.Workers, ScaleFrom)
	s.Load = s.Load.WithDefaults()
	s.At = orDefault(s.At, s.Duration/3)
	return s
}

func (s Scale) Check() error {
	s = s.withDefaults()
	return cmp.Or(CheckServer(s, s.Model), checkPrefork(s, s.Model), checkShare(s.Share), checkAt(s.At, s.Duration), s.checkBack())
}

// checkBack refuses a scale back at twice At that comes after the load.
func (s Scale) checkBack() error {
	if s.At*2 >= s.Duration {
		return fmt.Errorf("scale acts at %v and %v: make the load last longer than %v", s.At, 2*s.At, 2*s.At)
	}
	return nil
}

// Run starts the server, drives the load and scales it at s.At and
// twice s.At.
func (s Scale) Run(ctx context.Context, env Env) (*results.Scenario, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	s = s.withDefaults()
	return plan{name: s.Name(), load: s.Load, share: s.Share, noHandover: s.NoHandover, serve: replacing(s.Startup, s.NoHandover), during: s.scale}.run(ctx, env)
}

// scale scales the server to ScaleTo at s.At, and back at twice that.
func (s Scale) scale(ctx context.Context, t *timeline) error {
	if t.wait(ctx, s.At) != nil {
		return nil
	}
	err := t.act(fmt.Sprintf("scale %d → %d", s.Workers, ScaleTo), func() error { return t.ctl.Scale(ctx, ScaleTo, t.progress) })
	if err != nil || t.wait(ctx, 2*s.At) != nil {
		return err
	}
	return t.act(fmt.Sprintf("scale %d → %d", ScaleTo, s.Workers), func() error { return t.ctl.Scale(ctx, s.Workers, t.progress) })
}
