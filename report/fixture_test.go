package report

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/corebench/corebench/assess"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
)

// The golden fixture testdata/results.json is a simulated `bench run
// --profile full` on an 8-core machine: every model, workloads hello and
// cpu, every sweep, 2 repeats, histograms, per-worker counts and the
// worker count each repeat saw, one failed case, and the incidents below
// that the report must flag rather than take at face value. It is
// generated once by this file and committed:
//
//	go test ./report -run TestFixture -fixture
//
// The numbers follow simple models of the servers (a per-core capacity
// bent by the Universal Scalability Law, Little's law for closed-loop
// latency, a queue for the open loop) with seeded noise: realistic enough
// to exercise every chart, not a measurement.
var regenFixture = flag.Bool("fixture", false, "regenerate testdata/results.json")

const fixturePath = "testdata/results.json"

func TestFixture(t *testing.T) {
	if !*regenFixture {
		t.Skip("run with -fixture to regenerate " + fixturePath)
	}
	run := simulatedRun()
	b, err := json.Marshal(run)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(fixturePath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fixturePath, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d cases, %d bytes", fixturePath, len(run.Cases), len(b))
}

// simModel is how a simulated model scales.
type simModel struct {
	name         string
	unit         float64            // throughput of one worker relative to singlecore's
	sigma, kappa map[string]float64 // USL in workers, by workload
	cpuPerReq    map[string]float64 // server CPU µs per request
	tail         float64            // spread of latency (lognormal σ)
	shares       []float64          // relative share of requests per worker slot (prefork)
	noKeepAlive  float64            // throughput without keep-alive, relative
}

var simModels = []simModel{
	{"singlecore", 1, map[string]float64{"hello": 0, "cpu": 0}, map[string]float64{"hello": 0, "cpu": 0},
		map[string]float64{"hello": 38, "cpu": 310}, 0.45, nil, 0.45},
	{"goroutines", 0.96, map[string]float64{"hello": 0.04, "cpu": 0.01}, map[string]float64{"hello": 0.002, "cpu": 0.0003},
		map[string]float64{"hello": 46, "cpu": 318}, 0.5, nil, 0.4},
	{"prefork-rr", 0.88, map[string]float64{"hello": 0.05, "cpu": 0.015}, map[string]float64{"hello": 0.001, "cpu": 0},
		map[string]float64{"hello": 52, "cpu": 324}, 0.45, []float64{1, 1, 1, 1, 1, 1}, 0.25},
	{"prefork-os", 0.95, map[string]float64{"hello": 0.03, "cpu": 0.01}, map[string]float64{"hello": 0.004, "cpu": 0.0005},
		map[string]float64{"hello": 47, "cpu": 320}, 0.7, []float64{1.45, 1.2, 1.0, 0.9, 0.8, 0.65}, 0.38},
	{"prefork-reuseport", 0.97, map[string]float64{"hello": 0.02, "cpu": 0.008}, map[string]float64{"hello": 0.001, "cpu": 0},
		map[string]float64{"hello": 44, "cpu": 316}, 0.55, []float64{18, 15, 17, 19, 14, 17}, 0.42},
}

// Per-core capacity of singlecore, req/s, and the round trip at one
// connection, ms.
var simCapacity = map[string]float64{"hello": 22000, "cpu": 3100}
var simRTT = map[string]float64{"hello": 0.07, "cpu": 0.36}

// incident is something that went wrong in one simulated case.
type incident struct {
	failed    float64 // share of requests that failed
	saturated bool    // the generator was the bottleneck in the second repeat
	idle      int     // 1 + the slot of a worker that served nothing (0: none)
	unknown   bool    // the server did not say how many workers it runs
}

// incidents are the cases the report must flag or qualify, by case ID.
// TestFixtureIncidents checks that each happened in the committed fixture.
var incidents = map[string]incident{
	// Over 1% failed: in a worker sweep (left out of the fit and COST)
	// and past the knee of the open loop.
	"prefork-os/cpu/closed-c100/w4": {failed: 0.03},
	"singlecore/cpu/open-r3400/w1":  {failed: 0.02},
	// The generator saturated: the fastest model side by side, and an
	// open-loop point.
	"prefork-reuseport/hello/closed-c100/w6": {saturated: true},
	"goroutines/cpu/open-r16000/w6":          {saturated: true},
	// A prefork-os worker that never won a connection: Jain over the 6
	// workers counts it as 0.
	"prefork-os/cpu/closed-c100/w6": {idle: 3},
	// A server that does not say its worker count.
	"prefork-reuseport/hello/closed-c100-nokeepalive/w6": {unknown: true},
}

type sim struct {
	rng   *rand.Rand
	run   *results.Run
	clock time.Time
}

func simulatedRun() *results.Run {
	start := time.Date(2026, 11, 22, 10, 15, 0, 0, time.UTC)
	s := &sim{rng: rand.New(rand.NewPCG(4, 2026)), clock: start.Add(3 * time.Second)}
	s.run = &results.Run{
		Schema:   results.SchemaVersion,
		ID:       "20261122T101500Z-bench8",
		Started:  start,
		Complete: true,
		Profile:  "full",
		Env: results.Env{Host: "bench8", OS: "linux", Arch: "amd64", Kernel: "6.1.0-27-amd64",
			CPUModel: "AMD EPYC 7B13 64-Core Processor", CPUs: 8, MemoryMB: 32096, GoVersion: "go1.24.4",
			Version: "v0.3.0", Commit: "3a14013c0ffee5e4d0b1a2f3c4d5e6f708192a3b", CommandLine: "bench run --profile full"},
		Placement: results.Placement{ServerCPUs: []int{2, 3, 4, 5, 6, 7}, LoadgenCPUs: []int{0, 1},
			Note: "servers on CPUs 2-7 (6 cores), load generator on CPUs 0-1 (2 cores)"},
		Settings: results.Settings{Duration: 10, Warmup: 2, Repeat: 2, Engine: "fast", CPUIters: 2000, IOMs: 5},
	}
	const W = 6
	for _, wl := range []string{"hello", "cpu"} {
		for _, m := range simModels {
			s.closed("models", m, wl, 100, workersOf(m, W), true)
		}
	}
	for _, wl := range []string{"hello", "cpu"} {
		for _, m := range simModels {
			for _, c := range []int{1, 16, 256} {
				if m.name == "prefork-os" && wl == "hello" && c == 256 {
					s.failed(m, wl, c, W)
					continue
				}
				s.closed("connections", m, wl, c, workersOf(m, W), true)
			}
		}
	}
	for _, m := range simModels {
		capacity := s.capacity(m, "cpu", workersOf(m, W))
		for _, f := range []float64{0.4, 0.8, 0.95, 1.1} {
			s.open(m, "cpu", math.Round(f*capacity/100)*100, workersOf(m, W))
		}
	}
	for _, m := range simModels {
		if m.name == "singlecore" {
			continue
		}
		for _, w := range []int{1, 2, 4} {
			s.closed("workers", m, "cpu", 100, w, true)
		}
	}
	for _, m := range simModels {
		s.closed("keepalive", m, "hello", 100, workersOf(m, W), false)
	}
	s.run.Finished = s.clock.Add(2 * time.Second)
	return s.run
}

func workersOf(m simModel, w int) int {
	if m.name == "singlecore" {
		return 1
	}
	return w
}

func (s *sim) capacity(m simModel, wl string, w int) float64 {
	n := float64(w)
	return simCapacity[wl] * m.unit * n / (1 + m.sigma[wl]*(n-1) + m.kappa[wl]*n*(n-1))
}

func (s *sim) noise(sd float64) float64 { return 1 + sd*s.rng.NormFloat64() }

func caseID(model, wl, load string, w int) string {
	return fmt.Sprintf("%s/%s/%s/w%d", model, wl, load, w)
}

func (s *sim) newCase(sweep results.Sweep, m simModel, wl string, conns, w int, keepAlive bool) results.Case {
	path := map[string]string{"hello": "/", "cpu": "/cpu"}[wl]
	load := fmt.Sprintf("closed-c%d", conns)
	if !keepAlive {
		load += "-nokeepalive"
	}
	return results.Case{ID: caseID(m.name, wl, load, w), Sweep: sweep, Model: m.name, Workers: w, Workload: wl,
		Path: path, Mode: "closed", Connections: conns, KeepAlive: keepAlive}
}

func (s *sim) failed(m simModel, wl string, conns, w int) {
	c := s.newCase("connections", m, wl, conns, w, true)
	c.Error = "bench serve exited during warm-up: worker 3: accept4: too many open files (raise ulimit -n)"
	s.run.Cases = append(s.run.Cases, c)
	s.clock = s.clock.Add(4 * time.Second)
}

func (s *sim) closed(sweep results.Sweep, m simModel, wl string, conns, w int, keepAlive bool) {
	c := s.newCase(sweep, m, wl, conns, w, keepAlive)
	capacity := s.capacity(m, wl, w)
	if !keepAlive {
		capacity *= m.noKeepAlive
	}
	// A closed loop of C connections: X = C / (round trip + queueing),
	// bent down a little at high C by contention among connections.
	rtt := simRTT[wl] / 1000
	base := capacity * float64(conns) / (float64(conns) + capacity*rtt) / (1 + 0.0004*m.sigma[wl]*float64(conns))
	inc := incidents[c.ID]
	for r := range s.run.Settings.Repeat {
		x := base * s.noise(0.015)
		saturated := sweep == "connections" && m.name == "goroutines" && wl == "hello" && conns == 256 && r == 1
		saturated = saturated || inc.saturated && r == 1
		meanMs := float64(conns) / x * 1000
		c.Repeats = append(c.Repeats, s.repeat(m, wl, "closed", conns, "", keepAlive, w, x, 0.85*meanMs, m.tail, inc.failed, saturated, inc))
	}
	stats.Summarize(&c)
	s.run.Cases = append(s.run.Cases, c)
}

func (s *sim) open(m simModel, wl string, rate float64, w int) {
	c := results.Case{ID: caseID(m.name, wl, fmt.Sprintf("open-r%.0f", rate), w), Sweep: "rate", Model: m.name,
		Workers: w, Workload: wl, Path: "/cpu", Mode: "open", Connections: 512, Rate: rate, KeepAlive: true}
	capacity := s.capacity(m, wl, w)
	service := 1000 / simCapacity[wl] // ms of work per request
	inc := incidents[c.ID]
	for r := range s.run.Settings.Repeat {
		rho := rate / (capacity * s.noise(0.01))
		var x, medMs, tail, errShare float64
		if rho < 1 {
			x = rate * s.noise(0.002)
			medMs = service * (1 + 0.6*rho/(1-rho))
			tail = m.tail + 0.9*rho*rho
		} else {
			x = rate / rho
			medMs = 250 * (rho - 0.9) * 10 * s.noise(0.05)
			tail = m.tail + 0.8
			errShare = 0.004 * rho
		}
		if inc.failed > 0 {
			errShare = inc.failed
		}
		c.Repeats = append(c.Repeats, s.repeat(m, wl, "open", 512, fmt.Sprintf("%.0f/s", rate), true, w, x, medMs, tail, errShare, inc.saturated && r == 1, inc))
	}
	stats.Summarize(&c)
	s.run.Cases = append(s.run.Cases, c)
}

// repeat simulates one measurement: x requests per second for the
// settings' duration, errShare of them failed, latencies lognormal around
// medMs.
func (s *sim) repeat(m simModel, wl string, mode results.Mode, conns int, rate string, keepAlive bool, w int, x, medMs, tail, errShare float64, saturated bool, inc incident) results.Repeat {
	dur := s.run.Settings.Duration
	requests := int64(x * dur)
	errs := int64(errShare * float64(requests))
	h := lognormalHistogram(requests, medMs, tail)
	per := map[string]int64{}
	if m.shares == nil {
		per["0"] = requests
	} else {
		var sum float64
		jit := make([]float64, w)
		for i := range jit {
			jit[i] = m.shares[i%len(m.shares)] * s.noise(0.01)
			if i == inc.idle-1 {
				jit[i] = 0
			}
			sum += jit[i]
		}
		left := requests
		for i := range jit {
			n := int64(float64(requests) * jit[i] / sum)
			if i == w-1 {
				n = left
			}
			if n > 0 { // the generator sees only the workers that answered
				per[results.WorkerKey(i)] = n
			}
			left -= n
		}
	}
	// Workers is what the server said: one process for singlecore and
	// goroutines, w for prefork.
	workers := 1
	if m.shares != nil {
		workers = w
	}
	if inc.unknown {
		workers = 0
	}
	cores := math.Min(x/62000*s.noise(0.02), 1.9)
	why := ""
	if saturated {
		cores, why = 1.97, "the generator used 1.97 of its 2 cores"
	}
	var late results.Late
	if mode == "open" && x < 0.95*parseRate(rate) {
		late = results.Late{Count: requests / 3, Share: 0.33, MeanMs: 180, MaxMs: 900, Threshold: 1}
	}
	procs := 1
	rss := int64(12 << 20)
	if m.name == "goroutines" {
		rss = 18 << 20
	}
	if m.shares != nil {
		procs = w + 1
		rss = int64(w+1) * (8 << 20)
	}
	st := s.clock
	s.clock = s.clock.Add(time.Duration(dur*float64(time.Second)) + 500*time.Millisecond)
	kinds := map[string]int64{}
	if errs > 0 {
		kinds[map[results.Mode]string{results.ModeOpen: results.ErrTimeout, results.ModeClosed: results.ErrReset}[mode]] = errs
	}
	load := results.Summary{
		Engine: "fast", Target: "http://127.0.0.1:41873" + map[string]string{"hello": "/", "cpu": "/cpu"}[wl], Method: "GET",
		Mode: mode, Connections: conns, Rate: rate, KeepAlive: keepAlive, Start: st, DurationS: dur,
		Requests: requests, Errors: errs, ErrorKinds: kinds, StatusCodes: map[string]int64{"200": requests - errs},
		RPS: float64(requests-errs) / dur, RPSAll: float64(requests) / dur, Latency: stats.LatencyOf(h), Histogram: h,
		PerWorker: per, Workers: workers, Fairness: stats.Jain(per, workers), Late: late,
		LoadgenCPU: round3(cores * dur), LoadgenCores: round3(cores), CoresAllowed: 2, Saturated: saturated, SaturatedWhy: why,
		ConnectionsOpened: int64(conns),
	}
	if !keepAlive {
		load.ConnectionsOpened = requests
	}
	return results.Repeat{Load: load, ServerCPU: round3(m.cpuPerReq[wl] * s.noise(0.02) * float64(requests) / 1e6),
		ServerRSS: rss, ServerProcs: procs}
}

// round2 rounds x to two significant digits.
func round2(x float64) float64 {
	e := math.Pow(10, math.Floor(math.Log10(x))-1)
	return math.Round(x/e) * e
}

// round3 rounds x to three decimals.
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

func parseRate(r string) float64 {
	var v float64
	fmt.Sscanf(r, "%g/s", &v)
	return v
}

// lognormalHistogram spreads n requests over 20 latencies, evenly spaced
// in "nines" so the tail is as detailed as the body, each rounded to two
// significant digits so that repeats share buckets and the file stays
// small.
func lognormalHistogram(n int64, medMs, sigma float64) *results.Histogram {
	const k = 20
	h := &results.Histogram{}
	q := func(x float64) float64 { return 1 - math.Pow(10, -x) }
	left := n
	for i := range k {
		x0, x1 := 5*float64(i)/k, 5*float64(i+1)/k
		mass := q(x1) - q(x0)
		if i == k-1 {
			mass = 1 - q(x0)
		}
		c := int64(math.Round(mass * float64(n)))
		if i == k-1 || c > left {
			c = left
		}
		left -= c
		u := q((x0 + x1) / 2)
		ms := medMs * math.Exp(sigma*math.Sqrt2*math.Erfinv(2*u-1))
		h.RecordN(int64(round2(ms)*1e6), uint64(c))
	}
	return h
}

// TestFixtureIncidents checks that the committed fixture holds every
// incident the report must handle, so a regenerated fixture cannot drop
// one silently.
func TestFixtureIncidents(t *testing.T) {
	run := loadFixture(t)
	found := map[string]bool{}
	for i := range run.Cases {
		c := &run.Cases[i]
		inc, ok := incidents[c.ID]
		if !ok || c.Summary == nil {
			continue
		}
		found[c.ID] = true
		s := c.Summary
		if inc.failed > 0 && s.FailedShare <= assess.FailedFlag {
			t.Errorf("%s: %.2f%% failed, want over %g%%", c.ID, 100*s.FailedShare, 100*assess.FailedFlag)
		}
		if inc.saturated && !s.Saturated {
			t.Errorf("%s: not saturated", c.ID)
		}
		if inc.idle > 0 && (s.Workers != c.Workers || len(s.PerWorker) != c.Workers-1) {
			t.Errorf("%s: %d of %d workers answered, want all but one", c.ID, len(s.PerWorker), s.Workers)
		}
		if inc.unknown != (s.Workers == 0) {
			t.Errorf("%s: worker count %d", c.ID, s.Workers)
		}
	}
	for id := range incidents {
		if !found[id] {
			t.Errorf("no measured case %s in %s", id, fixturePath)
		}
	}
	for _, c := range run.Cases {
		for _, r := range c.Repeats {
			if r.Load.Workers == 0 && !incidents[c.ID].unknown {
				t.Fatalf("%s: a repeat without its worker count", c.ID)
			}
		}
	}
}
