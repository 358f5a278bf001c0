// Package scenario does something to a server under a steady load and
// measures what it cost: a worker crash, a rolling reload, a scale up and
// down, and a stall (the server stopped for a moment), which open and
// closed loops report very differently. Each of those has a timeline
// (req/s, errors and p99 per 100 ms, with the action marked), which is
// the lesson. The block scenario times what one slow request does to the
// cheap ones beside it, sizing weighs --workers max against max-1 next to
// a neighbour, and state counts what per-process state does to a counter
// and to sessions, and what the fixes cost.
//
// A scenario is a value that holds its own options (Crash, Stall, Block,
// ...), as a vegeta Pacer does; the timeline scenarios share their load's
// (Load). Its servers run as `bench serve` children (internal/child), or
// as an external server's command (a Model with a Command: block, crash
// and stall only), both started through Env, whose Serve and Generate are
// functions so that tests can fake them; prefork servers are driven
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
)

// A Scenario does something to servers under load and measures what it
// cost. Each kind is a value holding only its own options, whose zero
// values take the defaults their docs name.
type Scenario interface {
	// Name is the scenario's name on the command line and in its result.
	Name() string
	// OwnServersOnly reports whether it drives what only a server bench
	// starts has (a prefork master's control socket, bench serve's
	// endpoints), so that an external server cannot run it.
	OwnServersOnly() bool
	// Check reports a usage problem: an option out of range, a model the
	// scenario cannot drive.
	Check() error
	// Run checks the scenario and runs it. When ctx is cancelled before
	// the scenario ends, it returns what was measured until then (nil if
	// nothing whole was), marked Interrupted, and an *InterruptedError.
	Run(ctx context.Context, env Env) (*results.Scenario, error)
}

// Env is what every scenario takes from its caller: how to start servers
// and drive the load, where the control sockets go, where progress goes.
type Env struct {
	Serve    func(args ...string) *exec.Cmd // the command that runs `bench serve` with args
	Generate loadgen.Generator              // drives the load
	Dir      string                         // where the control sockets go (a private directory)
	Log      func(string)                   // progress lines; default none
}

func (e Env) withDefaults() Env {
	if e.Log == nil {
		e.Log = func(string) {}
	}
	return e
}

// registry is one of each scenario, in the order of Names; it is also the
// compile-time check that each is a Scenario.
var registry = []Scenario{Block{}, Crash{}, Crashloop{}, Reload{}, Scale{}, Sizing{}, State{}, Stall{}}

// All returns one of each scenario, with every option at its default.
func All() []Scenario { return slices.Clone(registry) }

// Names returns the names of the scenarios.
func Names() []string {
	names := make([]string, len(registry))
	for i, s := range registry {
		names[i] = s.Name()
	}
	return names
}

// Parse returns the scenario named name, with every option at its
// default.
func Parse(name string) (Scenario, error) {
	i := slices.IndexFunc(registry, func(s Scenario) bool { return s.Name() == name })
	if i < 0 {
		return nil, fmt.Errorf("unknown scenario %q: want %s", name, strings.Join(Names(), ", "))
	}
	return registry[i], nil
}

// CheckServer refuses an external server v for s when s drives bench's
// own servers only (OwnServersOnly).
func CheckServer(s Scenario, v variant.Variant) error {
	if !v.External() || !s.OwnServersOnly() {
		return nil
	}
	var others []string
	for _, o := range registry {
		if !o.OwnServersOnly() {
			others = append(others, o.Name())
		}
	}
	return fmt.Errorf("the %s scenario drives servers bench starts itself; %s is an external server (--server): run it with %s", s.Name(), v, strings.Join(others, " or "))
}

// checkPrefork refuses a model v that is not prefork for s, which drives a
// prefork master's control.
func checkPrefork(s Scenario, v variant.Variant) error {
	if v.Prefork() {
		return nil
	}
	return fmt.Errorf("the %s scenario needs a prefork model: only a prefork master can %s while serving", s.Name(), s.Name())
}

// checkShare refuses a share of capacity out of range.
func checkShare(share float64) error {
	if share < 0 || share > 2 {
		return fmt.Errorf("--share %v: want a share of capacity above 0, such as 0.8", share)
	}
	return nil
}

// checkAt refuses an action at or after the load's end.
func checkAt(at, duration time.Duration) error {
	if at >= duration {
		return fmt.Errorf("the action at %v comes after the load ends at %v", at, duration)
	}
	return nil
}

// interruptible runs a scenario's body f, begun now, and marks what it
// returns interrupted when ctx was cancelled before it ended. of is how
// long a timeline scenario's load was to last (0 for the others): its
// interruption is told in load time, after how long of how long.
func interruptible(ctx context.Context, of time.Duration, f func() (*results.Scenario, error)) (*results.Scenario, error) {
	began := time.Now()
	r, err := f()
	if err == nil || ctx.Err() == nil {
		return r, err
	}
	// Stopped: whatever err says (an action cut short, a server's start
	// cancelled), the scenario was interrupted.
	in := results.Interruption{AfterS: time.Since(began).Seconds()}
	if r != nil && r.Load != nil && of > 0 {
		in = results.Interruption{AfterS: r.Load.DurationS, OfS: of.Seconds()}
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

// startTimeout bounds a server's start.
const startTimeout = 30 * time.Second

// grace bounds a server's drain when the scenario stops it.
const grace = 15 * time.Second

// limits is how the scenarios start and stop servers.
var limits = child.Options{Ready: startTimeout, Grace: grace}

// start starts v with workers on addr ("127.0.0.1:0" for any port): `bench
// serve` with extra flags, or an external server's command (which takes no
// flags of bench serve's) on a free port of its own, told workers and
// every CPU this process may use. Every scenario starts its servers here.
func (e Env) start(ctx context.Context, v variant.Variant, workers int, addr string, extra ...string) (*child.Server, error) {
	if !v.External() {
		return child.Start(ctx, e.Serve(serveArgs(v, workers, addr, extra...)...), limits)
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
	return child.StartExternal(ctx, v.Name, v.Expand(port, workers, affinity.Format(cpus)), v.Ready, port, limits)
}

// serveArgs returns the `bench serve` arguments for v with workers on addr.
func serveArgs(v variant.Variant, workers int, addr string, extra ...string) []string {
	args := append([]string{"serve"}, v.ServeArgs(workers)...)
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

// orDefault returns v, or def when v is not positive.
func orDefault[T int | float64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
