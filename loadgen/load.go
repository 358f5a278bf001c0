package loadgen

import (
	"context"
	"time"

	"github.com/corebench/corebench/results"
)

// Load is one load described by what it does to the server, for callers
// that run many of them: the suite and the scenarios.
type Load struct {
	URL         string
	Connections int     // closed loop: exactly; open loop: to start with
	Rate        float64 // open loop, req/s; 0 is a closed loop
	Duration    time.Duration
	NoKeepAlive bool   // see Options.NoKeepAlive
	ProbeIdle   bool   // see Options.ProbeIdle
	Engine      string // an Engine's name; default fast
	Workers     int    // see Options.Workers; 0 is unknown
}

// Generator runs a Load and returns what it measured; when ctx is
// cancelled it stops and returns what it measured so far. Generate is the
// real one; tests pass their own.
type Generator func(ctx context.Context, l Load) (*results.Summary, error)

// Generate runs l with Run.
func Generate(ctx context.Context, l Load) (*results.Summary, error) {
	o := Options{URL: l.URL, Connections: l.Connections, Duration: l.Duration, NoKeepAlive: l.NoKeepAlive, ProbeIdle: l.ProbeIdle, Engine: Engine(l.Engine), Workers: l.Workers}
	if l.Rate > 0 {
		o.Rate = constantRate{Freq: int(l.Rate + 0.5), Per: time.Second}
	}
	return Run(ctx, o)
}
