package scenario

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/corebench/corebench/internal/child"
	"github.com/corebench/corebench/loadgen"
	"github.com/corebench/corebench/models/prefork/control"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/variant"
)

// Load is the server and the steady load of the timeline scenarios
// (Crash, Crashloop, Reload, Scale, Stall), each of which does one thing
// to the server while the load runs. Zero fields take the defaults named.
type Load struct {
	Model    variant.Variant // default DefaultModel
	Workers  int             // default DefaultWorkers (Scale: ScaleFrom)
	Rate     float64         // offered req/s of the open loop; default DefaultRate
	Path     string          // default DefaultPath: many requests in flight
	Duration time.Duration   // default DefaultDuration
	// Connections are kept busy (Closed) or opened up front (open loop);
	// default DefaultConnections.
	Connections int
	// Closed drives the load in a closed loop (Connections busy at all
	// times) instead of at Rate: the stall scenario's other half, where
	// coordinated omission hides the stall.
	Closed bool
	// NoKeepAlive opens a new connection per request, which puts many
	// connections in the accept queues at any moment.
	NoKeepAlive bool
}

// The defaults of Load (and of State's Workers and Duration).
const (
	DefaultWorkers     = 4
	DefaultRate        = 2000
	DefaultPath        = "/io?ms=5"
	DefaultDuration    = 6 * time.Second
	DefaultConnections = 16
)

// DefaultModel is the model a timeline scenario runs unless told.
var DefaultModel = variant.PreforkRR

// WithDefaults returns l with its zero fields at their defaults.
func (l Load) WithDefaults() Load {
	if l.Model.Name == "" {
		l.Model = DefaultModel
	}
	l.Workers = orDefault(l.Workers, DefaultWorkers)
	l.Rate = orDefault(l.Rate, DefaultRate)
	if l.Path == "" {
		l.Path = DefaultPath
	}
	l.Duration = orDefault(l.Duration, DefaultDuration)
	l.Connections = orDefault(l.Connections, DefaultConnections)
	return l
}

// replacing returns the `bench serve` flags for how a server's processes
// start: those that start replacements (crash, crash loop, reload, scale)
// take them.
func replacing(startup time.Duration, noHandover bool) []string {
	var args []string
	if noHandover {
		args = append(args, "--no-handover")
	}
	if startup > 0 {
		args = append(args, "--startup", startup.String())
	}
	return args
}

// plan is a timeline scenario as runTimeline runs it.
type plan struct {
	name       string
	load       Load    // with its defaults
	share      float64 // the load's share of the capacity measured first; 0: at load.Rate
	noHandover bool    // recorded in the result
	serve      []string
	// before, when set, runs once the server is up, before any load: a
	// check that refuses the server with nothing measured, a subscription
	// to the master's events.
	before func(ctx context.Context, t *timeline) error
	// during runs as the load begins and returns once the scenario's
	// action is done, or ctx is.
	during func(ctx context.Context, t *timeline) error
}

// run runs p, marked interrupted if ctx ends it.
func (p plan) run(ctx context.Context, env Env) (*results.Scenario, error) {
	return interruptible(ctx, p.load.Duration, func() (*results.Scenario, error) {
		return runTimeline(ctx, env.withDefaults(), p)
	})
}

// timeline is one run of a timeline scenario: its server under the load,
// and what was done to it, stamped.
type timeline struct {
	plan
	env    Env
	srv    *child.Server   // the server the load is aimed at
	more   []*child.Server // servers started since: a crashed one's replacement
	ctl    control.Client  // a prefork server's control
	closes []func()        // what to close before the servers stop
	r      *results.Scenario
	began  time.Time       // when the load began
	acts   []stamped       // what was done to the server
	events []control.Event // what the master did, for a crash loop
}

// stamped is one action on the server, with when it began and ended.
type stamped struct {
	label      string
	start, end time.Time
}

// runTimeline runs p: it starts the server, measures its capacity if the
// load is a share of it, drives the load and meanwhile does p's action,
// and makes the result of the load's timeline.
func runTimeline(ctx context.Context, env Env, p plan) (*results.Scenario, error) {
	t := &timeline{plan: p, env: env}
	if err := t.start(ctx); err != nil {
		return nil, err
	}
	defer t.stop()
	if p.before != nil {
		if err := p.before(ctx, t); err != nil {
			return nil, err
		}
	}
	t.r = t.record()
	// The load's fairness is over the workers the server started with, or
	// over more when more answered (scale).
	workers, _ := loadgen.DiscoverWorkers(ctx, loadgen.Options{URL: t.srv.URL})
	if p.share > 0 {
		if err := t.sizeToCapacity(ctx, workers); err != nil {
			return nil, err
		}
	}
	loaded := t.drive(ctx, workers)
	var actErr error
	if p.during != nil {
		actErr = p.during(ctx, t)
	}
	return t.result(ctx, <-loaded, actErr)
}

// start starts the server, with a control socket if it is prefork.
func (t *timeline) start(ctx context.Context) error {
	var extra []string
	if t.load.Model.Prefork() {
		t.ctl = control.Client{Path: filepath.Join(t.env.Dir, "master.sock")}
		extra = append(extra, "--control", t.ctl.Path)
	}
	srv, err := t.env.start(ctx, t.load.Model, t.load.Workers, "127.0.0.1:0", append(extra, t.serve...)...)
	if err != nil {
		return err
	}
	t.srv = srv
	return nil
}

// stop closes what the scenario opened and stops every server it started.
func (t *timeline) stop() {
	for _, c := range slices.Backward(t.closes) {
		c()
	}
	t.srv.Stop()
	for _, s := range t.more {
		s.Stop()
	}
}

// record returns the result's record of what the load is.
func (t *timeline) record() *results.Scenario {
	l := t.load
	r := &results.Scenario{Scenario: t.name, Model: l.Model.Name, Workers: l.Model.Workers(l.Workers), Rate: l.Rate, Path: l.Path, KeepAlive: !l.NoKeepAlive, NoHandover: t.noHandover}
	if l.Closed {
		r.Rate, r.Connections = 0, l.Connections
	}
	return r
}

// How Share's capacity is measured: a closed loop with plenty of requests
// in flight, long enough to settle.
const (
	capacityConns = 64
	capacityProbe = time.Second
)

// sizeToCapacity measures the server's capacity (loadgen.Capacity: after
// a warm-up, longer when its answers are slow) and sets the load's rate
// to its share of it.
func (t *timeline) sizeToCapacity(ctx context.Context, workers int) error {
	probe := loadgen.Load{URL: t.srv.URL + t.load.Path, Connections: capacityConns, Workers: workers}
	var warmed time.Duration
	capacity, err := loadgen.Capacity(ctx, capacityProbe, func(ctx context.Context, warm, d time.Duration) (*results.Summary, error) {
		warmed = warm
		if warm > 0 {
			w := probe
			w.Duration = warm
			if _, err := t.env.Generate(ctx, w); err != nil {
				return nil, err
			}
		}
		probe.Duration = d
		return t.env.Generate(ctx, probe)
	}, func(mean, warm, d time.Duration) {
		t.env.Log(fmt.Sprintf("capacity on %s: answers took %v on average, too long to measure in %v; again for %v after %v", t.load.Path, mean.Round(time.Millisecond), capacityProbe, d.Round(time.Millisecond), warm.Round(time.Millisecond)))
	})
	if err != nil {
		return fmt.Errorf("measuring capacity: %w", err)
	}
	if capacity == nil || capacity.RPS <= 0 {
		return errors.New("measuring capacity: no request was answered")
	}
	t.r.Capacity, t.r.Share = capacity.RPS, t.share
	t.load.Rate = t.share * capacity.RPS
	t.r.Rate = t.load.Rate
	t.env.Log(fmt.Sprintf("capacity on %s: %.0f req/s (closed loop of %d for %v after %v unmeasured); the load is %.0f%% of it: %.0f req/s", t.load.Path, capacity.RPS, capacityConns, probe.Duration, warmed, 100*t.share, t.load.Rate))
	return nil
}

type loadResult struct {
	sum *results.Summary
	err error
}

// drive begins the load, now, and returns where what it measured comes.
func (t *timeline) drive(ctx context.Context, workers int) <-chan loadResult {
	// ProbeIdle: a client that notices a closed idle connection, as
	// browsers and Go's http.Transport do, so the failures counted are
	// the requests the server had, not the generator's own sends on
	// connections it could have known were gone.
	l := loadgen.Load{URL: t.srv.URL + t.load.Path, Connections: t.load.Connections, Rate: t.load.Rate, Duration: t.load.Duration, NoKeepAlive: t.load.NoKeepAlive, ProbeIdle: true, Workers: workers}
	if t.load.Closed {
		l.Rate = 0
	}
	loaded := make(chan loadResult, 1)
	t.began = time.Now()
	go func() {
		sum, err := t.env.Generate(ctx, l)
		loaded <- loadResult{sum, err}
	}()
	return loaded
}

// wait waits until d into the load, or returns ctx's error.
func (t *timeline) wait(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(time.Until(t.began.Add(d)))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// act does f, the action label names, and stamps it.
func (t *timeline) act(label string, f func() error) error {
	a := stamped{label: label, start: time.Now()}
	err := f()
	a.end = time.Now()
	t.acts = append(t.acts, a)
	t.env.Log(fmt.Sprintf("%.1fs: %s", a.start.Sub(t.began).Seconds(), label))
	return err
}

// progress passes on a step of a master's reload or scale.
func (t *timeline) progress(s string) { t.env.Log("  " + s) }

// result makes the scenario's result of what the load measured, the
// actions and the master's events, in the load's time.
func (t *timeline) result(ctx context.Context, res loadResult, actErr error) (*results.Scenario, error) {
	if res.sum == nil || res.sum.Requests == 0 {
		if res.err != nil {
			return nil, res.err
		}
		return nil, errNoLoad
	}
	r := t.r
	r.Load = res.sum
	since := func(at time.Time) float64 { return at.Sub(res.sum.Start).Seconds() }
	for _, a := range t.acts {
		r.Actions = append(r.Actions, results.Action{Label: a.label, At: since(a.start), Done: since(a.end)})
	}
	for _, e := range t.events {
		r.Events = append(r.Events, results.SlotEvent{At: since(e.Time), Kind: string(e.Kind), Slot: e.Slot,
			UptimeMs: float64(e.Uptime) / 1e6, DelayMs: float64(e.Delay) / 1e6, Restarts: e.Restarts})
		if e.Kind == control.EventErrored {
			r.Actions = append(r.Actions, results.Action{Label: fmt.Sprintf("slot %d errored", e.Slot), At: since(e.Time), Done: since(e.Time)})
		}
	}
	summarize(r)
	if actErr != nil {
		return r, fmt.Errorf("%s: %w", t.name, actErr)
	}
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	return r, nil
}
