package scenario

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/variant"
	"github.com/corebench/corebench/workload"
)

// blockSetup is one server the block scenario measures.
type blockSetup struct {
	name      string
	v         variant.Variant
	eventLoop bool
}

// blockSetups are the servers compared: Go's scheduler preempts the slow
// request (singlecore, goroutines); an event loop does not, so on one it
// stops everyone (singlecore --event-loop), and in a cluster of them,
// as Node's, it stops the requests of one worker (prefork --event-loop).
var blockSetups = []blockSetup{
	{"singlecore", variant.SingleCore, false},
	{"singlecore, event loop", variant.SingleCore, true},
	{"goroutines", variant.Goroutines, false},
	{"prefork-rr, event loop", variant.PreforkRR, true},
}

// Block sends, At into a light steady load of cheap requests, one slow
// request of Work of CPU to each of four servers, and measures what the
// cheap requests due meanwhile waited: Go's scheduler preempts the slow
// one (singlecore, goroutines); an event loop does not, so on one it
// stops everyone, and in a cluster of them, as Node's, the requests of
// one worker. Zero fields take the defaults named: a load light enough
// that every wait in it is the slow request's doing.
type Block struct {
	// Server, when set, is an external server (another stack's, a Node
	// cluster say) measured beside bench's own, its slow request sized on
	// its own /cpu to the same time.
	Server      variant.Variant
	Workers     int           // of each server; default one per CPU, 2 at least
	Rate        float64       // of the cheap requests, req/s; default BlockRate
	Path        string        // of the cheap requests; default BlockPath
	Duration    time.Duration // default BlockDuration
	At          time.Duration // when the slow request is sent; default BlockAt
	Connections int           // the cheap requests take these in turn; default DefaultConnections
	Work        time.Duration // the slow request's CPU time; default DefaultWork
	// Iters is the slow request's /cpu?n=; 0: sized to Work on the idle
	// server.
	Iters int
	// Threshold is the wait past which a cheap request counts as held up;
	// default DefaultThreshold.
	Threshold time.Duration
}

// The defaults of Block.
const (
	BlockRate        = 500
	BlockPath        = "/"
	BlockDuration    = 3 * time.Second
	BlockAt          = time.Second
	DefaultWork      = 200 * time.Millisecond
	DefaultThreshold = 100 * time.Millisecond
)

func (Block) Name() string         { return "block" }
func (Block) OwnServersOnly() bool { return false }

func (b Block) withDefaults() Block {
	b.Rate = orDefault(b.Rate, BlockRate)
	if b.Path == "" {
		b.Path = BlockPath
	}
	b.Duration = orDefault(b.Duration, BlockDuration)
	b.At = orDefault(b.At, BlockAt)
	b.Connections = orDefault(b.Connections, DefaultConnections)
	b.Work = orDefault(b.Work, DefaultWork)
	b.Threshold = orDefault(b.Threshold, DefaultThreshold)
	if b.Workers <= 0 {
		cpus, _ := affinity.Allowed()
		b.Workers = max(len(cpus), 2)
	}
	return b
}

func (b Block) Check() error {
	b = b.withDefaults()
	switch {
	case b.Server.Name != "" && !b.Server.External():
		return fmt.Errorf("the block scenario runs %s already; its Server is another stack's, an external server", b.Server)
	case b.Iters > workload.MaxCPUIters:
		return fmt.Errorf("--iters %d is over /cpu's limit of %d", b.Iters, workload.MaxCPUIters)
	}
	return checkAt(b.At, b.Duration)
}

// Run measures each server in turn: the cheap load, the slow request at
// b.At.
func (b Block) Run(ctx context.Context, env Env) (*results.Scenario, error) {
	if err := b.Check(); err != nil {
		return nil, err
	}
	b = b.withDefaults()
	return interruptible(ctx, 0, func() (*results.Scenario, error) { return b.run(ctx, env.withDefaults()) })
}

// calibIters is the /cpu work timed on the idle server to size the slow
// request: long enough to time well, short enough to try a few times.
const calibIters = 200_000

// run runs the block scenario: on each server, a steady open loop of
// cheap requests and, b.At into it, one request of b.Work of CPU; what the
// cheap requests due meanwhile waited is the lesson.
func (b Block) run(ctx context.Context, env Env) (*results.Scenario, error) {
	workers := b.Workers
	br := &results.BlockResult{Rate: b.Rate, Path: b.Path, TargetMs: results.Ms(b.Work), Iters: b.Iters, ThresholdMs: results.Ms(b.Threshold)}
	r := &results.Scenario{Scenario: b.Name(), Workers: workers, Rate: b.Rate, Path: b.Path, KeepAlive: true, Block: br}
	setups := blockSetups
	if b.Server.Name != "" {
		// Another stack's server (a Node cluster, say) beside bench's own.
		setups = append(slices.Clone(setups), blockSetup{name: b.Server.Name, v: b.Server})
	}
	r.Model = fmt.Sprintf("%d servers", len(setups))
	for i, s := range setups {
		extra := []string{}
		if s.v.Prefork() {
			extra = append(extra, "--control", fmt.Sprintf("%s/block-%d.sock", env.Dir, i))
		}
		if s.eventLoop {
			extra = append(extra, "--event-loop")
		}
		srv, err := env.start(ctx, s.v, workers, "127.0.0.1:0", extra...)
		if err != nil {
			if ctx.Err() != nil && len(br.Runs) > 0 {
				return r, ctx.Err()
			}
			return nil, err
		}
		iters := 0
		run, err := func() (*results.BlockRun, error) {
			defer srv.Stop()
			switch {
			case s.v.External() && b.Iters == 0:
				// Its own rounds for the same CPU time: another stack's
				// SHA-256 costs what it costs (Node's is a call into
				// OpenSSL per round), and the lesson is about the time.
				var err error
				if iters, _, err = b.sizeWork(ctx, env, srv.URL, s.name); err != nil {
					return nil, err
				}
				return b.blockRun(ctx, srv.URL, iters)
			case br.Iters == 0:
				// Sized once, on the first server, so every server gets
				// the same work.
				n, best, err := b.sizeWork(ctx, env, srv.URL, s.name)
				if err != nil {
					return nil, err
				}
				br.Iters, br.CalibIters, br.CalibMs = n, calibIters, results.Ms(best)
			}
			return b.blockRun(ctx, srv.URL, br.Iters)
		}()
		if err != nil {
			if ctx.Err() != nil && len(br.Runs) > 0 {
				return r, ctx.Err() // interrupted: the servers measured whole are kept
			}
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		run.Setup, run.Model, run.EventLoop, run.Workers, run.Iters = s.name, s.v.Name, s.eventLoop, s.v.Workers(workers), iters
		env.Log(fmt.Sprintf("%s: slow request %.0f ms; of %d cheap requests due meanwhile, p99 %.1f ms, %d waited over %v",
			s.name, run.SlowMs, run.Due, run.P99, run.Over, b.Threshold))
		br.Runs = append(br.Runs, *run)
		r.Sent += int64(run.Sent)
		r.Failed += int64(run.Failed)
	}
	return r, nil
}

// sizeWork times /cpu on the idle server at url and returns the rounds
// that take b.Work there, and the best time of calibIters rounds.
func (b Block) sizeWork(ctx context.Context, env Env, url, name string) (int, time.Duration, error) {
	best, err := timeCPU(ctx, url, calibIters, 5)
	if err != nil {
		return 0, 0, fmt.Errorf("timing /cpu: %w", err)
	}
	n := min(int(float64(calibIters)*float64(b.Work)/float64(best)), workload.MaxCPUIters)
	env.Log(fmt.Sprintf("/cpu?n=%d took %.1f ms at best of 5 on idle %s: n=%d for %v", calibIters, results.Ms(best), name, n, b.Work))
	return n, best, nil
}

// timeCPU returns the best of tries sequential /cpu?n=iters on url.
func timeCPU(ctx context.Context, url string, iters, tries int) (time.Duration, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	best := time.Duration(math.MaxInt64)
	for range tries {
		t0 := time.Now()
		if err := fetch(ctx, c, url+"/cpu?n="+strconv.Itoa(iters)); err != nil {
			return 0, err
		}
		best = min(best, time.Since(t0))
	}
	return best, nil
}

func fetch(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: status %d", url, resp.StatusCode)
	}
	return err
}

// shot is one request of the block scenario's load, in time since the
// load began: when it was due and when its answer (or failure) came.
type shot struct {
	due, end time.Duration
	failed   bool
}

// blockRun drives one server: cheap requests at b.Rate for b.Duration and
// the slow request at b.At on a connection of its own. The cheap requests
// take b.Connections keep-alive connections in turn, as that many users
// would, each sent at its due time unless its connection is still busy
// with the one before (an HTTP/1.1 connection carries one at a time):
// latency counts from the due time, so that wait is in it, and a server
// that stalls some connections and not others shows which.
func (b Block) blockRun(ctx context.Context, url string, iters int) (*results.BlockRun, error) {
	type job struct {
		i   int
		due time.Duration
	}
	n := int(b.Rate * b.Duration.Seconds())
	shots := make([]shot, n)
	queues := make([]chan job, b.Connections)
	clients := make([]*http.Client, b.Connections)
	for c := range clients {
		tr := &http.Transport{MaxConnsPerHost: 1, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
		defer tr.CloseIdleConnections()
		clients[c] = &http.Client{Transport: tr, Timeout: 10 * time.Second}
		// Open each connection now, one after the other, so a scheduler
		// that deals connections round-robin spreads them evenly.
		if err := fetch(ctx, clients[c], url+b.Path); err != nil {
			return nil, err
		}
		queues[c] = make(chan job, n/b.Connections+1)
	}
	slowTr := &http.Transport{}
	defer slowTr.CloseIdleConnections()
	slow := &http.Client{Transport: slowTr, Timeout: 30 * time.Second}
	if err := fetch(ctx, slow, url+"/"); err != nil { // open its connection now
		return nil, err
	}

	began := time.Now()
	var wg sync.WaitGroup
	for c, q := range queues {
		wg.Go(func() {
			for j := range q {
				err := fetch(ctx, clients[c], url+b.Path)
				shots[j.i] = shot{due: j.due, end: time.Since(began), failed: err != nil}
			}
		})
	}
	var slowShot shot
	var slowErr error
	wg.Go(func() {
		t := time.NewTimer(b.At)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			slowErr = ctx.Err()
			return
		}
		slowShot.due = time.Since(began)
		slowErr = fetch(ctx, slow, url+"/cpu?n="+strconv.Itoa(iters))
		slowShot.end = time.Since(began)
	})
	for i := range n {
		due := time.Duration(float64(i) / b.Rate * float64(time.Second))
		if d := time.Until(began.Add(due)); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
		if ctx.Err() != nil {
			n = i
			break
		}
		queues[i%len(queues)] <- job{i, due}
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	run := account(shots[:n], slowShot, b.Threshold)
	if slowErr != nil {
		run.SlowError = slowErr.Error()
	}
	return run, nil
}

// sameMoment is how far apart the load generator may read two answers
// that left the server together: on an event loop the slow answer is
// sent before the cheap ones queued behind it, yet the client's
// goroutines can read them in either order, a millisecond or so apart.
const sameMoment = 5 * time.Millisecond

// account sums up a block run: the cheap requests due while the slow one
// ran (from its send to its answer), their latency and how many waited
// past the threshold or until the slow request's own answer (within
// sameMoment), and the undisturbed latency of those due before it.
func account(shots []shot, slow shot, threshold time.Duration) *results.BlockRun {
	run := &results.BlockRun{BlockAt: slow.due.Seconds(), BlockEnd: slow.end.Seconds(), SlowMs: results.Ms(slow.end - slow.due), Sent: len(shots)}
	var during, before []float64
	for _, s := range shots {
		lat := s.end - s.due
		run.Requests = append(run.Requests, results.BlockSample{T: s.due.Seconds(), Ms: results.Ms(lat), Failed: s.failed})
		if s.failed {
			run.Failed++
			continue
		}
		switch {
		case s.due < slow.due:
			before = append(before, results.Ms(lat))
		case s.due < slow.end:
			during = append(during, results.Ms(lat))
			if lat > threshold {
				run.Over++
			}
			if s.end > slow.end-sameMoment {
				run.AfterEnd++
			}
		}
	}
	slices.Sort(during)
	slices.Sort(before)
	run.Due = len(during)
	run.P50, run.P99, run.Max = quantile(during, 0.5), quantile(during, 0.99), quantile(during, 1)
	run.BeforeP50, run.BeforeP99 = quantile(before, 0.5), quantile(before, 0.99)
	return run
}

// quantile is the q-quantile of sorted values by the nearest rank; 0 for
// none.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
