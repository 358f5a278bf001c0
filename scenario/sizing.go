package scenario

import (
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

// runSizing measures `--workers max` against `max-1` next to a neighbour:
// a singlecore server pinned to the last CPU, kept busy by one client
// asking for neighborWork back to back, as a database on the same box
// would be. The app is prefork-rr unpinned, as pm2 -i runs it; its load a
// closed loop on o.Path. Each setup reports the app's req/s and p99 and
// the neighbour's queries per second, which is what max-1 protects.
func runSizing(ctx context.Context, o Options) (*results.Scenario, error) {
	cpus, err := affinity.Allowed()
	if err != nil {
		return nil, err
	}
	if len(cpus) < 2 {
		return nil, fmt.Errorf("the sizing scenario needs 2 CPUs or more: max-1 of %d is no worker", len(cpus))
	}
	sz := &results.SizingResult{CPUs: len(cpus), NeighborCPU: cpus[len(cpus)-1], Path: o.Path, Connections: o.Connections}
	r := &results.Scenario{Scenario: "sizing", Model: o.Model.Name, Workers: len(cpus), Path: o.Path, KeepAlive: true, Connections: o.Connections, Sizing: sz}

	nb, err := o.start(ctx, variant.SingleCore, "127.0.0.1:0", "--cpus", strconv.Itoa(sz.NeighborCPU))
	if err != nil {
		return nil, fmt.Errorf("the neighbour: %w", err)
	}
	defer nb.Stop()
	alone := neighbor(ctx, nb.URL, o.Duration/2)
	if alone.err != nil {
		return nil, fmt.Errorf("the neighbour: %w", alone.err)
	}
	sz.NeighborQPS, sz.NeighborMs = alone.qps, alone.mean
	o.Log(fmt.Sprintf("the neighbour alone on CPU %d: %.1f queries/s of %.1f ms each", sz.NeighborCPU, alone.qps, alone.mean))

	setups := []struct {
		setup    string
		workers  int
		neighbor bool
	}{
		{"max, alone", len(cpus), false},
		{"max, with the neighbour", len(cpus), true},
		{"max-1, with the neighbour", len(cpus) - 1, true},
	}
	for i, s := range setups {
		run, err := sizingRun(ctx, o, nb.URL, s.workers, s.neighbor, fmt.Sprintf("%s/sizing-%d.sock", o.Dir, i))
		if ctx.Err() != nil {
			// Interrupted: this setup's load was cut short; those
			// measured whole are kept.
			if len(sz.Runs) > 0 {
				return r, ctx.Err()
			}
			return nil, ctx.Err()
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.setup, err)
		}
		run.Setup = s.setup
		o.Log(fmt.Sprintf("%s (%d workers): %.0f req/s, p99 %.1f ms; the neighbour %.1f queries/s", s.setup, s.workers, run.RPS, run.P99, run.NeighborQPS))
		sz.Runs = append(sz.Runs, *run)
	}
	return r, nil
}

func sizingRun(ctx context.Context, o Options, neighborURL string, workers int, withNeighbor bool, ctl string) (*results.SizingRun, error) {
	oo := o
	oo.Workers = workers
	srv, err := oo.start(ctx, o.Model, "127.0.0.1:0", "--control", ctl)
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
	sum, err := o.Generate(ctx, loadgen.Load{URL: srv.URL + o.Path, Connections: o.Connections, Duration: o.Duration, Workers: workers})
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
