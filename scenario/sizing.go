package scenario

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/loadgen"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/variant"
)

// neighborWork is the CPU of one of the neighbour's queries, in /cpu
// rounds: about 20 ms, a heavy database query, long enough that driving
// it costs the load generator next to nothing.
const neighborWork = 250_000

// Sizing measures `--workers max` against `max-1` next to a neighbour: a
// singlecore server pinned to the last CPU, kept busy by one client
// asking for neighborWork back to back, as a database on the same box
// would be. The app is a prefork server unpinned, as pm2 -i runs it; its
// load a closed loop on Path. Each setup reports the app's req/s and p99
// and the neighbour's queries per second, which is what max-1 protects.
// Zero fields take the defaults named: a closed loop on CPU work, as the
// worker sweep of bench run.
type Sizing struct {
	Model       variant.Variant // the app's, a prefork one; default DefaultModel
	Path        string          // default SizingPath
	Duration    time.Duration   // of each setup's load; default SizingDuration
	Connections int             // kept busy; default SizingConnections
}

// The defaults of Sizing.
const (
	SizingPath        = "/cpu"
	SizingDuration    = 4 * time.Second
	SizingConnections = 64
)

func (Sizing) Name() string         { return "sizing" }
func (Sizing) OwnServersOnly() bool { return true }

func (s Sizing) withDefaults() Sizing {
	if s.Model.Name == "" {
		s.Model = DefaultModel
	}
	if s.Path == "" {
		s.Path = SizingPath
	}
	s.Duration = orDefault(s.Duration, SizingDuration)
	s.Connections = orDefault(s.Connections, SizingConnections)
	return s
}

func (s Sizing) Check() error {
	s = s.withDefaults()
	return cmp.Or(CheckServer(s, s.Model), checkPrefork(s, s.Model))
}

// Run measures the neighbour alone, then the app at max with and
// without it and at max-1 with it.
func (s Sizing) Run(ctx context.Context, env Env) (*results.Scenario, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	s = s.withDefaults()
	return interruptible(ctx, 0, func() (*results.Scenario, error) { return s.run(ctx, env.withDefaults()) })
}

func (s Sizing) run(ctx context.Context, env Env) (*results.Scenario, error) {
	cpus, err := affinity.Allowed()
	if err != nil {
		return nil, err
	}
	if len(cpus) < 2 {
		return nil, fmt.Errorf("the sizing scenario needs 2 CPUs or more: max-1 of %d is no worker", len(cpus))
	}
	sz := &results.SizingResult{CPUs: len(cpus), NeighborCPU: cpus[len(cpus)-1], Path: s.Path, Connections: s.Connections}
	r := &results.Scenario{Scenario: s.Name(), Model: s.Model.Name, Workers: len(cpus), Path: s.Path, KeepAlive: true, Connections: s.Connections, Sizing: sz}

	nb, err := env.start(ctx, variant.SingleCore, 1, "127.0.0.1:0", "--cpus", strconv.Itoa(sz.NeighborCPU))
	if err != nil {
		return nil, fmt.Errorf("the neighbour: %w", err)
	}
	defer nb.Stop()
	alone := neighbor(ctx, nb.URL, s.Duration/2)
	if alone.err != nil {
		return nil, fmt.Errorf("the neighbour: %w", alone.err)
	}
	sz.NeighborQPS, sz.NeighborMs = alone.qps, alone.mean
	env.Log(fmt.Sprintf("the neighbour alone on CPU %d: %.1f queries/s of %.1f ms each", sz.NeighborCPU, alone.qps, alone.mean))

	setups := []struct {
		setup    string
		workers  int
		neighbor bool
	}{
		{"max, alone", len(cpus), false},
		{"max, with the neighbour", len(cpus), true},
		{"max-1, with the neighbour", len(cpus) - 1, true},
	}
	for i, setup := range setups {
		run, err := s.sizingRun(ctx, env, nb.URL, setup.workers, setup.neighbor, fmt.Sprintf("%s/sizing-%d.sock", env.Dir, i))
		if ctx.Err() != nil {
			// Interrupted: this setup's load was cut short; those
			// measured whole are kept.
			if len(sz.Runs) > 0 {
				return r, ctx.Err()
			}
			return nil, ctx.Err()
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", setup.setup, err)
		}
		run.Setup = setup.setup
		env.Log(fmt.Sprintf("%s (%d workers): %.0f req/s, p99 %.1f ms; the neighbour %.1f queries/s", setup.setup, setup.workers, run.RPS, run.P99, run.NeighborQPS))
		sz.Runs = append(sz.Runs, *run)
	}
	return r, nil
}

// sizingRun measures the app with workers, the neighbour busy beside it
// if withNeighbor.
func (s Sizing) sizingRun(ctx context.Context, env Env, neighborURL string, workers int, withNeighbor bool, ctl string) (*results.SizingRun, error) {
	srv, err := env.start(ctx, s.Model, workers, "127.0.0.1:0", "--control", ctl)
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	nctx, stop := context.WithCancel(ctx)
	defer stop()
	got := make(chan neighborResult, 1)
	if withNeighbor {
		go func() { got <- neighbor(nctx, neighborURL, 0) }()
	}
	sum, err := env.Generate(ctx, loadgen.Load{URL: srv.URL + s.Path, Connections: s.Connections, Duration: s.Duration, Workers: workers})
	stop()
	if err != nil {
		return nil, err
	}
	run := &results.SizingRun{Workers: workers, Neighbor: withNeighbor, RPS: sum.RPS, P50: sum.Latency.P50, P99: sum.Latency.P99}
	if withNeighbor {
		n := <-got
		if n.err != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("the neighbour: %w", n.err)
		}
		run.NeighborQPS, run.NeighborP99 = n.qps, n.p99
	}
	return run, nil
}

type neighborResult struct {
	qps, mean, p99 float64
	err            error
}

// neighbor keeps the neighbour busy with one query at a time for d, or
// until ctx is done when d is 0, and returns what it did.
func neighbor(ctx context.Context, url string, d time.Duration) neighborResult {
	c := &http.Client{Timeout: 30 * time.Second}
	u := url + "/cpu?n=" + strconv.Itoa(neighborWork)
	var lat []float64
	start := time.Now()
	for ctx.Err() == nil && (d == 0 || time.Since(start) < d) {
		t0 := time.Now()
		if err := fetch(ctx, c, u); err != nil {
			if ctx.Err() != nil {
				break // the load ended mid-query
			}
			return neighborResult{err: err}
		}
		lat = append(lat, results.Ms(time.Since(t0)))
	}
	el := time.Since(start).Seconds()
	if len(lat) == 0 {
		return neighborResult{}
	}
	total := 0.0
	for _, l := range lat {
		total += l
	}
	slices.Sort(lat)
	return neighborResult{qps: float64(len(lat)) / el, mean: total / float64(len(lat)), p99: quantile(lat, 0.99)}
}
