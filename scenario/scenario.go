// Package scenario does something to a server under a steady load and
// measures what it cost: a worker crash, a rolling reload, a scale up and
// down, and a stall (the server stopped for a moment), which open and
// closed loops report very differently. Each of those has a timeline
// (req/s, errors and p99 per 100 ms, with the action marked), which is
// the lesson. The state scenario instead counts what per-process state
// does to a counter and to sessions, and what the fixes cost.
//
// Servers run as `bench serve` children (internal/child), or as an
// external server's command (Options.Model with a Command: block, crash
// and stall only), both started by Options.start; the load is a
// loadgen.Generator, so tests can shrink it; prefork servers are driven
// through their control socket, as an operator would.
package scenario

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/internal/child"
	"github.com/corebench/corebench/loadgen"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
	"github.com/corebench/corebench/variant"
	"github.com/corebench/corebench/workload"
)

// Names of the scenarios.
var Names = []string{"block", "crash", "crashloop", "reload", "scale", "sizing", "state", "stall"}

// Options configure a scenario. Zero fields take the defaults named.
type Options struct {
	Name     string          // one of Names
	Model    variant.Variant // default prefork-rr; the state scenario runs its own set
	Workers  int             // default 4; scale starts with 2
	Rate     float64         // offered req/s of the open loop; default 2000
	Path     string          // default /io?ms=5: many requests in flight
	Duration time.Duration   // default 6s
	At       time.Duration   // when the action happens (scale acts again at 2·At); default a third of Duration
	// Crash is how the crash scenario's worker (or one-process server)
	// dies: "kill" (SIGKILL) or "request" (/crash, which the scenario
	// enables with --chaos). Default kill.
	Crash string
	// Restart is how long whatever supervises a one-process server takes
	// to start it again after a crash (systemd's RestartSec, say); default
	// 1s; negative: nothing restarts it. A prefork master restarts its
	// workers itself.
	Restart time.Duration
	// NoHandover, for reuseport reloads, makes each new worker bind its
	// own socket and the old one close its, instead of handing the slot's
	// socket over (the default), to measure the connections that resets.
	NoHandover bool
	// NoKeepAlive opens a new connection per request, which puts many
	// connections in the accept queues at any moment.
	NoKeepAlive bool
	// Closed drives the load in a closed loop (Connections busy at all
	// times) instead of at Rate: the stall scenario's other half, where
	// coordinated omission hides the stall.
	Closed      bool
	Connections int           // kept busy (Closed) or opened up front (open loop); default 16
	Stall       time.Duration // stall: how long the server is stopped; default 500ms
	State       string        // a redis:// store for the state scenario's production answer
	Requests    int           // state scenario: requests per counter; default 1000
	Users       int           // state scenario: users logging in; default 50
	// Block scenario: the slow request's CPU time (default 200ms), or its
	// /cpu?n= (0: sized to Work on the idle server), and the wait past
	// which a cheap request counts as held up (default 100ms).
	Work      time.Duration
	Iters     int
	Threshold time.Duration
	// Share, when set, sizes the open loop as this share of the server's
	// capacity, measured first with a closed-loop burst: near capacity,
	// losing a worker shows as lost throughput.
	Share float64
	// Startup is how long the server's processes take to load before
	// they listen (bench serve --startup): what a restart costs.
	Startup time.Duration
	// Crashloop scenario: every worker exits ExitAfter after it is ready
	// (default 300ms); MinUptime and MaxRestarts are the master's policy
	// (bench serve's defaults when 0).
	ExitAfter   time.Duration
	MinUptime   time.Duration
	MaxRestarts int

	Serve    func(args ...string) *exec.Cmd // the command that runs `bench serve` with args
	Generate loadgen.Generator              // drives the load
	Dir      string                         // where the control sockets go (a private directory)
	Log      func(string)                   // progress lines
}

func (o Options) withDefaults() Options {
	if o.Model.Name == "" {
		o.Model = variant.PreforkRR
	}
	switch o.Name {
	case "block":
		o = o.blockDefaults()
	case "sizing":
		// A closed loop on CPU work, as the worker sweep of bench run.
		if o.Path == "" {
			o.Path = "/cpu"
		}
		if o.Duration <= 0 {
			o.Duration = 4 * time.Second
		}
		if o.Connections <= 0 {
			o.Connections = 64
		}
	}
	if o.Workers <= 0 {
		o.Workers = 4
		if o.Name == "scale" {
			o.Workers = 2
		}
	}
	if o.Rate <= 0 {
		o.Rate = 2000
	}
	if o.Path == "" {
		o.Path = "/io?ms=5"
	}
	if o.Duration <= 0 {
		o.Duration = 6 * time.Second
	}
	if o.At <= 0 {
		o.At = o.Duration / 3
	}
	if o.Name == "crashloop" && o.ExitAfter <= 0 {
		o.ExitAfter = 300 * time.Millisecond
	}
	if o.Crash == "" {
		o.Crash = "kill"
	}
	if o.Restart == 0 {
		o.Restart = time.Second
	}
	if o.Requests <= 0 {
		o.Requests = 1000
	}
	if o.Users <= 0 {
		o.Users = 50
	}
	if o.Connections <= 0 {
		o.Connections = 16
	}
	if o.Stall <= 0 {
		o.Stall = 500 * time.Millisecond
	}
	if o.Log == nil {
		o.Log = func(string) {}
	}
	return o
}

// Check reports a usage problem with o.
func (o Options) Check() error {
	if !slices.Contains(Names, o.Name) {
		return fmt.Errorf("unknown scenario %q: want %s", o.Name, strings.Join(Names, ", "))
	}
	o = o.withDefaults()
	switch {
	case o.Model.External() && ownServersOnly(o.Name):
		return fmt.Errorf("the %s scenario drives servers bench starts itself; %s is an external server (--server): run it with %s", o.Name, o.Model, strings.Join(externalScenarios(), " or "))
	case o.Model.External() && o.Crash == "request":
		return fmt.Errorf("--crash request needs bench serve's /crash; an external server (%s) is crashed with kill", o.Model)
	case (o.Name == "reload" || o.Name == "scale" || o.Name == "crashloop" || o.Name == "sizing") && !o.Model.Prefork():
		return fmt.Errorf("the %s scenario needs a prefork model: only a prefork master can %s while serving", o.Name, o.Name)
	case o.Share < 0 || o.Share > 2:
		return fmt.Errorf("--share %v: want a share of capacity above 0, such as 0.8", o.Share)
	case o.Name == "block" && o.Iters > workload.MaxCPUIters:
		return fmt.Errorf("--iters %d is over /cpu's limit of %d", o.Iters, workload.MaxCPUIters)
	case o.Crash != "kill" && o.Crash != "request":
		return fmt.Errorf("unknown crash %q: want kill or request", o.Crash)
	case o.At >= o.Duration:
		return fmt.Errorf("the action at %v comes after the load ends at %v", o.At, o.Duration)
	case o.Name == "scale" && o.At*2 >= o.Duration:
		return fmt.Errorf("scale acts at %v and %v: make the load last longer than %v", o.At, 2*o.At, 2*o.At)
	}
	return nil
}

// Run runs the scenario named in o. When ctx is cancelled before the
// scenario ends, it returns what was measured until then (nil if
// nothing whole was), marked Interrupted, and an *InterruptedError.
func Run(ctx context.Context, o Options) (*results.Scenario, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	began := time.Now()
	var r *results.Scenario
	var err error
	switch o.Name {
	case "state":
		r, err = runState(ctx, o)
	case "block":
		r, err = runBlock(ctx, o)
	case "sizing":
		r, err = runSizing(ctx, o)
	default:
		r, err = runAction(ctx, o)
	}
	if err == nil || ctx.Err() == nil {
		return r, err
	}
	// Stopped: whatever err says (an action cut short, a server's start
	// cancelled), the scenario was interrupted.
	in := results.Interruption{AfterS: time.Since(began).Seconds()}
	if r != nil && r.Load != nil && r.Block == nil && r.Sizing == nil && r.State == nil {
		in = results.Interruption{AfterS: r.Load.DurationS, OfS: o.Duration.Seconds()}
	}
	if r != nil {
		r.Interrupted = &in
	}
	return r, &InterruptedError{At: in, Kept: r != nil}
}

// InterruptedError is Run's error when the scenario was stopped (its
// context cancelled) before its end.
type InterruptedError struct {
	At   results.Interruption
	Kept bool // a result was returned, marked interrupted
}

func (e *InterruptedError) Error() string { return e.At.String() }

// Unwrap makes an interruption a context.Canceled, as the context's.
func (e *InterruptedError) Unwrap() error { return context.Canceled }

// externalScenarios are the scenarios an external server can run: those
// that only need its load and its processes.
func externalScenarios() []string {
	return slices.DeleteFunc(slices.Clone(Names), ownServersOnly)
}

// ownServersOnly reports whether scenario name drives what only a server
// bench starts has: a prefork master's control (reload, scale, crashloop,
// sizing) or bench serve's endpoints (state).
func ownServersOnly(name string) bool {
	return slices.Contains([]string{"crashloop", "reload", "scale", "sizing", "state"}, name)
}

// start starts v on addr ("127.0.0.1:0" for any port): `bench serve` with
// extra flags, or an external server's command (which takes no flags of
// bench serve's) on a free port of its own, told o.Workers and every CPU
// this process may use. Every scenario starts its servers here.
func (o Options) start(ctx context.Context, v variant.Variant, addr string, extra ...string) (*child.Server, error) {
	if !v.External() {
		return child.Start(ctx, o.Serve(o.serveArgs(v, addr, extra...)...), limits)
	}
	port := 0
	if _, p, err := net.SplitHostPort(addr); err == nil {
		port, _ = strconv.Atoi(p)
	}
	if port == 0 {
		var err error
		if port, err = child.FreePort(); err != nil {
			return nil, err
		}
	}
	cpus, _ := affinity.Allowed()
	return child.StartExternal(ctx, v.Name, v.Expand(port, o.Workers, affinity.Format(cpus)), v.Ready, port, limits)
}

// serveArgs returns the `bench serve` arguments for v on addr.
func (o Options) serveArgs(v variant.Variant, addr string, extra ...string) []string {
	args := append([]string{"serve"}, v.ServeArgs(o.Workers)...)
	args = append(args, "--addr", addr)
	return append(args, extra...)
}

// recovery returns how long after the action at `at` the served rate was
// back to 90% of its median before, with no errors, for three slices in
// a row; -1 if it never was.
func recovery(series []results.Sample, interval, at float64) float64 {
	var before []float64
	for _, s := range series {
		if s.T+interval <= at && s.T >= interval { // skip the first slice: connections opening
			before = append(before, float64(s.Requests-s.Errors))
		}
	}
	if len(before) == 0 {
		return -1
	}
	slices.Sort(before)
	base := stats.Median(before)
	run := 0
	for i, s := range series {
		if s.T+interval <= at {
			continue
		}
		if s.Errors == 0 && float64(s.Requests) >= 0.9*base {
			run++
			if run == 3 {
				start := series[i-2].T
				return math.Max(0, start-at)
			}
		} else {
			run = 0
		}
	}
	return -1
}

// summarize fills the load figures of r from its summary.
func summarize(r *results.Scenario) {
	s := r.Load
	r.Sent, r.Failed, r.ErrorKinds = s.Requests, s.Errors, s.ErrorKinds
	if len(r.Actions) > 0 {
		r.Recovered = recovery(s.TimeSeries, interval(s), r.Actions[0].At)
	}
	if r.RestartMs > 0 && len(r.Actions) > 0 {
		at := r.Actions[0].At
		r.ServedBefore = servedIn(s.TimeSeries, interval(s), interval(s), at)
		r.ServedDuring = servedIn(s.TimeSeries, interval(s), at, at+r.RestartMs/1000)
	}
}

// servedIn is the successful requests per second of the slices that
// overlap [from, to): the whole slice when the span is shorter.
func servedIn(series []results.Sample, iv, from, to float64) float64 {
	var n int64
	slices := 0
	for _, s := range series {
		if s.T+iv > from && s.T < max(to, from+1e-9) {
			n += s.Requests - s.Errors
			slices++
		}
	}
	if slices == 0 {
		return 0
	}
	return float64(n) / (float64(slices) * iv)
}

func interval(s *results.Summary) float64 {
	if len(s.TimeSeries) > 1 {
		return s.TimeSeries[1].T - s.TimeSeries[0].T
	}
	return 0.1
}

var errNoLoad = errors.New("the load generator measured nothing")
