package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
)

var engines = []Engine{EngineFast, EngineVegeta}

// tally is a test server's own count of what it served.
type tally struct {
	mu       sync.Mutex
	requests int64
	status   map[int]int64
	worker   map[int]int64
	conns    int64
}

func (t *tally) add(status, worker int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.status == nil {
		t.status, t.worker = map[int]int64{}, map[int]int64{}
	}
	t.requests++
	t.status[status]++
	if worker >= 0 {
		t.worker[worker]++
	}
}

// countingServer serves every request with status(n) and X-Worker
// worker(n), n the request's number from 0, and tallies them.
func countingServer(t *testing.T, status func(n int64) int, worker func(n int64) int) (*httptest.Server, *tally) {
	t.Helper()
	var seq atomic.Int64
	tl := &tally{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := seq.Add(1) - 1
		code, wk := http.StatusOK, -1
		if status != nil {
			code = status(n)
		}
		if worker != nil {
			wk = worker(n)
			w.Header().Set("X-Worker", strconv.Itoa(wk))
		}
		tl.add(code, wk)
		w.WriteHeader(code)
		io.WriteString(w, "hello")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			tl.mu.Lock()
			tl.conns++
			tl.mu.Unlock()
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, tl
}

func mustRun(t *testing.T, o Options) *results.Summary {
	t.Helper()
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return s
}

// TestClosedLoopCountsMatchServer: every request the server answered is
// counted, by status and by worker, by both engines.
func TestClosedLoopCountsMatchServer(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine.String(), func(t *testing.T) {
			srv, tl := countingServer(t,
				func(n int64) int { return []int{200, 200, 404, 500}[n%4] },
				func(n int64) int { return int(n % 3) })
			s := mustRun(t, Options{URL: srv.URL + "/x", Engine: engine, Connections: 4, Duration: 300 * time.Millisecond})
			tl.mu.Lock()
			defer tl.mu.Unlock()
			if s.Requests == 0 || s.Requests != tl.requests {
				t.Fatalf("generator counted %d requests, server %d", s.Requests, tl.requests)
			}
			for code, n := range tl.status {
				if got := s.StatusCodes[strconv.Itoa(code)]; got != n {
					t.Errorf("status %d: generator %d, server %d", code, got, n)
				}
			}
			for w, n := range tl.worker {
				if got := s.PerWorker[strconv.Itoa(w)]; got != n {
					t.Errorf("worker %d: generator %d, server %d", w, got, n)
				}
			}
			if bad := tl.status[404] + tl.status[500]; s.Errors != bad || s.ErrorKinds[results.ErrBadStatus] != bad {
				t.Errorf("errors %d (%v), want %d bad statuses", s.Errors, s.ErrorKinds, bad)
			}
			if s.Histogram.Count() != uint64(s.Requests) {
				t.Errorf("histogram holds %d latencies, want %d", s.Histogram.Count(), s.Requests)
			}
			if s.BytesIn != 5*s.Requests {
				t.Errorf("bytes in %d, want %d", s.BytesIn, 5*s.Requests)
			}
			var series int64
			for _, x := range s.TimeSeries {
				series += x.Requests
			}
			// The requests in flight at the end complete in the wait after
			// the attack: in the counts, not in the series.
			if series+s.WaitRequests != s.Requests {
				t.Errorf("time series adds up to %d requests and the wait holds %d, want %d", series, s.WaitRequests, s.Requests)
			}
			if n := len(s.TimeSeries); n != 3 {
				t.Errorf("%d time-series slices over 300ms, want 3", n)
			}
			if s.Mode != "closed" || s.Engine != engine.String() || s.Connections != 4 || !s.KeepAlive {
				t.Errorf("summary says mode %q engine %q connections %d keepalive %v", s.Mode, s.Engine, s.Connections, s.KeepAlive)
			}
			if f := s.Fairness; f < 0.99 {
				t.Errorf("fairness %.3f over 3 workers served in turn, want about 1", f)
			}
		})
	}
}

// TestPerWorker: a server whose X-Worker varies unevenly; the per-worker
// counts and Jain's index come out as the server saw them.
func TestPerWorker(t *testing.T) {
	srv, tl := countingServer(t, nil, func(n int64) int {
		if n%4 == 0 {
			return 1
		}
		return 0
	})
	s := mustRun(t, Options{URL: srv.URL, Connections: 2, Duration: 200 * time.Millisecond})
	tl.mu.Lock()
	defer tl.mu.Unlock()
	counts := map[string]int64{}
	for w, n := range tl.worker {
		counts[strconv.Itoa(w)] = n
	}
	if fmt.Sprint(counts) != fmt.Sprint(s.PerWorker) {
		t.Fatalf("per worker %v, server %v", s.PerWorker, counts)
	}
	if want := stats.Jain(counts, 2); s.Fairness != want || want > 0.9 {
		t.Errorf("fairness %.3f, want %.3f (3:1 split)", s.Fairness, want)
	}
}

// TestKnownDelays: half the requests take 1 ms, half 20 ms. The summary's
// percentiles match the exact percentiles of every request's latency
// (written out through Output) within the histogram's 0.78%, and the
// known delays come out: exactly half the requests in each class, none
// under its delay. (On a quiet machine a 1 ms request measures 1.05 to
// 1.2 ms on the loopback of the 2-core VM this is developed on, for any
// client, and the 20 ms class within 5%; docs/performance.md has such
// figures. A test must hold on a busy machine too.)
func TestKnownDelays(t *testing.T) {
	if raceEnabled {
		t.Skip("latencies under the race detector are not the server's")
	}
	var seq, short atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := 20 * time.Millisecond
		if seq.Add(1)%2 == 0 {
			d = time.Millisecond
			short.Add(1)
		}
		// Sleep on a timerfd, then spin the last 200 µs: the delay is
		// exact, not late by a timer's wake-up.
		end := time.Now().Add(d)
		preciseSleep(d - 200*time.Microsecond)
		for time.Now().Before(end) {
		}
	}))
	defer srv.Close()
	var lat []int64
	s := mustRun(t, Options{URL: srv.URL, Connections: 10, Duration: time.Second,
		Output: func(r *vegeta.Result) error { lat = append(lat, int64(r.Latency)); return nil }})
	if int64(len(lat)) != s.Requests || s.Errors != 0 || s.Requests != seq.Load() {
		t.Fatalf("%d results written, %d requests, %d errors, server %d", len(lat), s.Requests, s.Errors, seq.Load())
	}
	slices.Sort(lat)
	h := s.Histogram
	for _, q := range []float64{0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 0.99, 0.999} {
		exact := time.Duration(lat[max(int(math.Ceil(q*float64(len(lat)))), 1)-1])
		if got := h.Quantile(q); got < exact || float64(got) > 1.0079*float64(exact) {
			t.Errorf("p%g = %v, exact %v", 100*q, got, exact)
		}
	}
	var fast int64
	for _, l := range lat {
		if l < int64(10*time.Millisecond) {
			fast++
		}
	}
	// None of the 20 ms class can measure under 10 ms; a 1 ms one can take
	// longer when the CPUs are busy with other packages' tests (go test
	// runs them in parallel, the VM tests among them, which keep both of
	// a 2-core machine's CPUs busy): allow 5% of those.
	if n := short.Load(); fast > n || n-fast > n/20 {
		t.Errorf("%d requests under 10 ms, server gave %d of 1 ms", fast, n)
	}
	// No request measures under its delay, whatever the machine does. How
	// far over it comes depends on the CPUs the other packages' tests
	// leave (a loaded 2-core box adds milliseconds at p90), so the upper
	// bounds are on each class's median and generous: a generator that
	// measured wrong, not one that waited for a CPU, fails them.
	for _, c := range []struct {
		q      float64
		delay  time.Duration
		within time.Duration
	}{
		{0.1, time.Millisecond, -1},
		{0.25, time.Millisecond, 2 * time.Millisecond},
		{0.6, 20 * time.Millisecond, -1},
		{0.75, 20 * time.Millisecond, 10 * time.Millisecond},
		{0.9, 20 * time.Millisecond, -1},
	} {
		got := h.Quantile(c.q)
		if got < c.delay || c.within >= 0 && got > c.delay+c.within {
			t.Errorf("p%g = %v, want %v or more (and at most %v more)", 100*c.q, got, c.delay, c.within)
		}
	}
	if s.Latency.P90 < 20 {
		t.Errorf("latency_ms.p90 = %v, want 20 or more", s.Latency.P90)
	}
}

// preciseSleep sleeps for d on the microsecond (Go's timers wake an idle
// process only to the millisecond).
func preciseSleep(d time.Duration) {
	w, err := newWaiter()
	if err != nil {
		panic(err)
	}
	defer w.close()
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		w.wait(left)
	}
}

// TestOpenLoopRate: 1000 requests per second for 2 s is the 2000 hits
// of its schedule on the virtual clock (hitClock), 1 ms apart, exactly:
// each one sent at its scheduled time (the fast engine may leave up to
// Coalesce early) or, on a machine too busy to send it within the
// timeout, counted unsent; none other. The server got every one sent.
func TestOpenLoopRate(t *testing.T) {
	const d = 2 * time.Second
	for _, engine := range engines {
		t.Run(engine.String(), func(t *testing.T) {
			srv, tl := countingServer(t, nil, nil)
			p, err := ParseRate("1000", d)
			if err != nil {
				t.Fatal(err)
			}
			hits := hitsOf(hitClock{p: p, to: int64(d)})
			if len(hits) != 2000 || hits[0] != int64(time.Millisecond) || hits[len(hits)-1] != int64(d) {
				t.Fatalf("the schedule has %d hits, from %v to %v; want 2000, 1 ms apart", len(hits), time.Duration(hits[0]), time.Duration(hits[len(hits)-1]))
			}
			var buf bytes.Buffer
			s := mustRun(t, Options{URL: srv.URL, Engine: engine, Rate: p, Duration: d, Connections: 10, Output: vegeta.NewEncoder(&buf).Encode})
			if s.Requests+s.Unsent != int64(len(hits)) {
				t.Errorf("%d requests and %d unsent, want the schedule's %d hits", s.Requests, s.Unsent, len(hits))
			}
			sent := make([]bool, len(hits))
			for _, r := range readResults(t, buf.Bytes()) {
				at := int64(r.Timestamp.Sub(s.Start))
				i, _ := slices.BinarySearch(hits, at) // the first hit due at or after it
				if i == len(hits) || hits[i]-at > int64(DefaultCoalesce) || sent[i] {
					t.Errorf("a request scheduled at %v, which is no hit of the schedule, or one sent twice", time.Duration(at))
					continue
				}
				sent[i] = true
			}
			if n := int64(len(slices.DeleteFunc(sent, func(b bool) bool { return !b }))); n != s.Requests {
				t.Errorf("%d results at hits of the schedule, want all %d requests", n, s.Requests)
			}
			tl.mu.Lock()
			defer tl.mu.Unlock()
			if s.Requests != tl.requests {
				t.Errorf("generator counted %d, server %d", s.Requests, tl.requests)
			}
			if s.Mode != "open" || s.Rate != "1000/s" || s.Late.Threshold != 1 {
				t.Errorf("mode %q rate %q late threshold %v", s.Mode, s.Rate, s.Late.Threshold)
			}
		})
	}
}

// stallServer answers at once, except that request number at (from 0)
// starts a 500 ms stall: it and every request arriving during it wait
// until the stall ends, like a server stopped by a long GC pause.
func stallServer(t *testing.T, at int64) *httptest.Server {
	var seq atomic.Int64
	var mu sync.Mutex
	var until time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := seq.Add(1) - 1
		mu.Lock()
		if n == at {
			until = time.Now().Add(500 * time.Millisecond)
		}
		wait := time.Until(until)
		mu.Unlock()
		if wait > 0 {
			time.Sleep(wait)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// stallWindowServer answers at once, except that a request arriving
// between from and to waits until to, like a server stopped by a long GC
// pause.
func stallWindowServer(t *testing.T, from, to time.Time) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if now := time.Now(); !now.Before(from) && now.Before(to) {
			time.Sleep(to.Sub(now))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestCoordinatedOmission: one 500 ms stall, 0.5 s into the run (its
// StartAt), shows in the open loop's p99, where every request scheduled
// during the stall waited for it, but not in the closed loop's, whose
// single connection simply stopped asking while the server stalled: one
// slow request among many.
//
// The open loop's schedule is the virtual clock's (hitClock), so which
// requests fell in the stall is exact, and so is what each must show:
// one scheduled at t in it cannot be answered before the stall's end,
// whether it was sent on time and waited there or sent after it, late
// by as much. A closed loop has no schedule: it must only get through
// 100 requests in the second it is not stalled, for its one stalled
// request to be under 1%.
func TestCoordinatedOmission(t *testing.T) {
	const stallAt, stall = 500 * time.Millisecond, 500 * time.Millisecond
	run := func(o Options) (*results.Summary, []vegeta.Result, time.Time) {
		o.StartAt = time.Now().Add(500 * time.Millisecond) // time to open the connections
		from := o.StartAt.Add(stallAt)
		o.URL = stallWindowServer(t, from, from.Add(stall)).URL
		var buf bytes.Buffer
		o.Output = vegeta.NewEncoder(&buf).Encode
		s := mustRun(t, o)
		return s, readResults(t, buf.Bytes()), from
	}
	closed, _, _ := run(Options{Connections: 1, Duration: 1500 * time.Millisecond})
	p, _ := ParseRate("1000", 2*time.Second)
	open, sent, from := run(Options{Connections: 10, Rate: p, Duration: 2 * time.Second})
	to := from.Add(stall)

	if closed.Latency.Max < 400 {
		t.Errorf("closed loop max %.1f ms, want the stall's (the request that met it arrived within a round trip of its start)", closed.Latency.Max)
	}
	if closed.Requests < 100 || closed.Latency.P99 > 50 {
		t.Errorf("closed loop: %d requests, p99 %.1f ms: want a hundred or more fast requests and a p99 blind to the stall", closed.Requests, closed.Latency.P99)
	}

	// Each request scheduled in the stall shows what it had left of it,
	// measured from its schedule. The schedule's hits in the stall's
	// first 100 ms (100 of 2000, fewer only if the run started over a
	// second late) are then all 400 ms or more, unless unsent, which
	// counts its wait too: the p99 shows the stall.
	var inStall, first100 int64
	for _, at := range hitsOf(hitClock{p: p, to: int64(2 * time.Second)}) {
		if when := open.Start.Add(time.Duration(at)); !when.Before(from) && when.Before(to) {
			inStall++
			if !when.After(to.Add(-400 * time.Millisecond)) {
				first100++
			}
		}
	}
	var sentInStall, held int64
	for _, r := range sent {
		if r.Timestamp.Before(from) || !r.Timestamp.Before(to) {
			continue
		}
		sentInStall++
		if left := to.Sub(r.Timestamp); r.Latency < left-time.Millisecond {
			t.Errorf("a request scheduled %v into the stall shows %v, less than the %v it had left", r.Timestamp.Sub(from), r.Latency, left)
		}
		if r.Latency >= 400*time.Millisecond-time.Millisecond {
			held++
		}
	}
	if sentInStall > inStall || sentInStall+open.Unsent < inStall || held+open.Unsent < first100 || first100 < 20 {
		t.Errorf("open loop: %d requests scheduled in the stall (%d unsent in all), %d held 400 ms or more; the schedule has %d hits in it, %d in its first 100 ms",
			sentInStall, open.Unsent, held, inStall, first100)
	}
	if open.Latency.P99 < 400 {
		t.Errorf("open loop p99 %.1f ms, want the stall (400 ms or more)", open.Latency.P99)
	}
	if open.Latency.P50 > 50 {
		t.Errorf("open loop p50 %.1f ms, want the fast requests", open.Latency.P50)
	}
	if open.ConnectionsOpened <= 10 {
		t.Errorf("open loop opened %d connections, want more than the 10 initial ones to keep the schedule during the stall", open.ConnectionsOpened)
	}
	// What left late did so during the stall and the catching up after
	// it: the server's backlog, not a generator that could not keep up.
	if open.Late.ConnBusy < open.Late.Count/2 || open.Saturated {
		t.Errorf("open loop: late %+v, saturated %v (%s): want the stall's lateness counted as the server's", open.Late, open.Saturated, open.SaturatedWhy)
	}
}

// rawServer accepts connections and runs handle on each; it returns the
// URL.
func rawServer(t *testing.T, handle func(c net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c, bufio.NewReader(c))
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/"
}

// readRequest reads one request's head; false at EOF.
func readRequest(br *bufio.Reader) bool {
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return false
		}
		if l == "\r\n" {
			return true
		}
	}
}

// TestBadServers: garbage, a close mid-response, huge and endless bodies
// are counted as errors of the right kind, and the generator survives.
func TestBadServers(t *testing.T) {
	zeros := make([]byte, 64<<10)
	endless := func(c net.Conn) {
		for {
			if _, err := c.Write(zeros); err != nil {
				return
			}
		}
	}
	for _, tc := range []struct {
		name   string
		handle func(c net.Conn, br *bufio.Reader)
		kind   string
	}{
		{"garbage", func(c net.Conn, br *bufio.Reader) {
			for readRequest(br) {
				io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n\r\n")
			}
		}, results.ErrMalformed},
		{"close mid-response", func(c net.Conn, br *bufio.Reader) {
			if readRequest(br) {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part of it")
			}
		}, results.ErrClosed},
		{"close before responding", func(c net.Conn, br *bufio.Reader) {
			readRequest(br)
		}, results.ErrClosed},
		{"reset", func(c net.Conn, br *bufio.Reader) {
			if readRequest(br) {
				c.(*net.TCPConn).SetLinger(0)
			}
		}, results.ErrReset},
		{"1 GB body", func(c net.Conn, br *bufio.Reader) {
			if readRequest(br) {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n")
				endless(c)
			}
		}, results.ErrMalformed},
		{"endless chunked body", func(c net.Conn, br *bufio.Reader) {
			if readRequest(br) {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
				for {
					if _, err := io.WriteString(c, "10000\r\n"); err != nil {
						return
					}
					if _, err := c.Write(zeros); err != nil {
						return
					}
					if _, err := io.WriteString(c, "\r\n"); err != nil {
						return
					}
				}
			}
		}, results.ErrMalformed},
		{"endless body until close", func(c net.Conn, br *bufio.Reader) {
			if readRequest(br) {
				io.WriteString(c, "HTTP/1.0 200 OK\r\n\r\n")
				endless(c)
			}
		}, results.ErrMalformed},
	} {
		for _, engine := range engines {
			t.Run(tc.name+"/"+engine.String(), func(t *testing.T) {
				url := rawServer(t, tc.handle)
				s := mustRun(t, Options{URL: url, Engine: engine, Connections: 2, Duration: 200 * time.Millisecond, Timeout: 5 * time.Second})
				if s.Requests == 0 || s.Errors != s.Requests {
					t.Fatalf("%d requests, %d errors (%v): want every request failed", s.Requests, s.Errors, s.ErrorKinds)
				}
				if s.ErrorKinds[tc.kind] != s.Errors {
					t.Errorf("error kinds %v (%v), want all %s", s.ErrorKinds, s.ErrorExamples, tc.kind)
				}
				if len(s.StatusCodes) != 0 {
					t.Errorf("status codes %v for failed requests", s.StatusCodes)
				}
			})
		}
	}
}

// TestUnreachable: nothing listens; Run fails at once with a clear error.
func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, engine := range engines {
		t.Run(engine.String(), func(t *testing.T) {
			// A minute-long run: were it not to fail fast, the test would time out.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s, err := Run(ctx, Options{URL: "http://" + addr + "/", Engine: engine, Duration: time.Minute})
			var ue *UnreachableError
			if !errors.As(err, &ue) || s != nil {
				t.Fatalf("Run = %v, %v; want an UnreachableError", s, err)
			}
			if want := "cannot connect to " + addr + ": connection refused"; err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
		})
	}
}

// TestCancel: cancelling stops the run early and keeps what was measured.
func TestCancel(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine.String(), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var seq atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if seq.Add(1) == 200 {
					cancel()
				}
			}))
			defer srv.Close()
			s, err := Run(ctx, Options{URL: srv.URL, Engine: engine, Connections: 2, Duration: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if !s.Interrupted || s.DurationS > 30 {
				t.Errorf("interrupted %v after %.1f s: want the run cut short", s.Interrupted, s.DurationS)
			}
			// The 200 requests up to the cancel all started before the
			// abort, and on each connection at most one was still in
			// flight then. What the server saw after the cancel need not
			// count: the vegeta engine stops a moment after the abort (tens
			// of requests later on a loaded machine), and requests that
			// start after it are left out by design.
			if served := seq.Load(); s.Requests > served || s.Requests < 200-2 {
				t.Errorf("counted %d, server saw %d, the 200th cancelled: want at least 198, the 2 in flight lost at most", s.Requests, served)
			}
		})
	}
}

// TestWarmup: requests of the warm-up reach the server but are not counted.
func TestWarmup(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine.String(), func(t *testing.T) {
			srv, tl := countingServer(t, nil, nil)
			var buf bytes.Buffer
			s := mustRun(t, Options{URL: srv.URL, Engine: engine, Connections: 2, Warmup: 200 * time.Millisecond, Duration: 200 * time.Millisecond, Output: vegeta.NewJSONEncoder(&buf)})
			tl.mu.Lock()
			served := tl.requests
			tl.mu.Unlock()
			if s.Requests == 0 || s.Requests >= served {
				t.Errorf("counted %d of %d served: want the warm-up's left out", s.Requests, served)
			}
			dec := vegeta.NewJSONDecoder(&buf)
			for {
				var r vegeta.Result
				if err := dec.Decode(&r); err != nil {
					break
				}
				if r.Timestamp.Before(s.Start) {
					t.Fatalf("result sent at %v, before measurement started at %v", r.Timestamp, s.Start)
				}
			}
		})
	}
}

// TestKeepAlive: the generator honours Connection: close from the server
// by reconnecting, and --no-keepalive opens a connection per request.
func TestKeepAlive(t *testing.T) {
	for _, engine := range engines {
		t.Run("server closes/"+engine.String(), func(t *testing.T) {
			var seq atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if seq.Add(1)%10 == 0 {
					w.Header().Set("Connection", "close")
				}
			}))
			defer srv.Close()
			s := mustRun(t, Options{URL: srv.URL, Engine: engine, Connections: 2, Duration: 200 * time.Millisecond})
			if s.Errors != 0 || s.Requests != seq.Load() {
				t.Errorf("%d requests, %d errors (%v), server %d: want no errors", s.Requests, s.Errors, s.ErrorExamples, seq.Load())
			}
			if s.ConnectionsOpened < s.Requests/10 {
				t.Errorf("%d connections for %d requests, want one per 10", s.ConnectionsOpened, s.Requests)
			}
		})
		t.Run("no keep-alive/"+engine.String(), func(t *testing.T) {
			srv, tl := countingServer(t, nil, nil)
			s := mustRun(t, Options{URL: srv.URL, Engine: engine, Connections: 2, Duration: 200 * time.Millisecond, NoKeepAlive: true})
			tl.mu.Lock()
			defer tl.mu.Unlock()
			if s.Errors != 0 || s.Requests != tl.requests || tl.conns != tl.requests || s.ConnectionsOpened != tl.conns {
				t.Errorf("%d requests (%d errors), server: %d requests on %d connections; generator opened %d: want one connection per request",
					s.Requests, s.Errors, tl.requests, tl.conns, s.ConnectionsOpened)
			}
			if s.KeepAlive {
				t.Error("summary says keepalive")
			}
		})
	}
}

// TestRequest: method, headers and body reach the server as given.
func TestRequest(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine.String(), func(t *testing.T) {
			var bad atomic.Value
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if r.Method != "POST" || r.URL.RequestURI() != "/p?q=1" || r.Header.Get("X-Test") != "a b" || string(body) != `{"k":1}` || r.Host != "example.test" {
					bad.Store(fmt.Sprintf("%s %s host %q X-Test %q body %q", r.Method, r.URL.RequestURI(), r.Host, r.Header.Get("X-Test"), body))
				}
			}))
			defer srv.Close()
			s := mustRun(t, Options{URL: srv.URL + "/p?q=1", Engine: engine, Method: "POST", Body: []byte(`{"k":1}`),
				Header: http.Header{"X-Test": {"a b"}, "Host": {"example.test"}}, Connections: 1, Duration: 100 * time.Millisecond})
			if b := bad.Load(); b != nil {
				t.Errorf("server got %v", b)
			}
			if s.Requests == 0 || s.Errors != 0 || s.BytesOut != 7*s.Requests {
				t.Errorf("%d requests, %d errors, %d bytes out", s.Requests, s.Errors, s.BytesOut)
			}
		})
	}
}

// TestVegetaTLSAndHTTP2: the vegeta engine speaks https and HTTP/2.
func TestVegetaTLSAndHTTP2(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tls   bool
		http2 bool
		proto int
	}{{"https", true, false, 1}, {"https-http2", true, true, 2}, {"h2c", false, true, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			var wrong atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.ProtoMajor != tc.proto {
					wrong.Add(1)
				}
			}))
			var p http.Protocols
			p.SetHTTP1(true)
			p.SetUnencryptedHTTP2(true)
			srv.Config.Protocols = &p
			srv.EnableHTTP2 = tc.http2
			if tc.tls {
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()
			o := Options{URL: srv.URL, HTTP2: tc.http2, Connections: 2, Duration: 200 * time.Millisecond}
			if tc.tls {
				o.TLSConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
			}
			s := mustRun(t, o)
			if s.Engine != EngineVegeta.String() || s.Requests == 0 || s.Errors != 0 || wrong.Load() != 0 {
				t.Errorf("engine %s, %d requests, %d errors %v, %d over the wrong protocol", s.Engine, s.Requests, s.Errors, s.ErrorExamples, wrong.Load())
			}
		})
	}
}

// TestOutputRoundTrip: results written in each of vegeta's formats decode
// with vegeta's own decoder, one per request, and Merge of two runs adds
// up exactly.
func TestOutputRoundTrip(t *testing.T) {
	for _, f := range []struct {
		name string
		enc  func(io.Writer) vegeta.Encoder
	}{{"gob", vegeta.NewEncoder}, {"json", vegeta.NewJSONEncoder}, {"csv", vegeta.NewCSVEncoder}} {
		t.Run(f.name, func(t *testing.T) {
			srv, _ := countingServer(t, func(n int64) int { return []int{200, 503}[n%2] }, func(n int64) int { return int(n % 2) })
			var bufs [2]bytes.Buffer
			var sums [2]*results.Summary
			for i, engine := range engines {
				sums[i] = mustRun(t, Options{URL: srv.URL, Engine: engine, Connections: 2, Duration: 200 * time.Millisecond, Output: f.enc(&bufs[i]), Name: "t"})
			}
			var srcs []Source
			for i := range bufs {
				data := bufs[i].Bytes()
				dec := vegeta.DecoderFor(bytes.NewReader(data))
				if dec == nil {
					t.Fatalf("vegeta cannot tell the format of %s output", f.name)
				}
				var n, codes503, worker1 int64
				var last vegeta.Result
				for {
					var r vegeta.Result
					if err := dec.Decode(&r); err != nil {
						if err != io.EOF {
							t.Fatal(err)
						}
						break
					}
					if r.Seq != uint64(n) {
						t.Fatalf("result %d has seq %d", n, r.Seq)
					}
					if n > 0 && r.Timestamp.Before(last.Timestamp.Add(-time.Second)) {
						t.Fatalf("result %d sent at %v, long before result %d at %v", n, r.Timestamp, n-1, last.Timestamp)
					}
					if r.Attack != "t" || r.Method != "GET" || r.URL != srv.URL || r.Latency <= 0 || r.BytesIn != 5 {
						t.Fatalf("result %+v", r)
					}
					if r.Code == 503 {
						codes503++
						if r.Error != "503 Service Unavailable" {
							t.Fatalf("error %q for a 503", r.Error)
						}
					}
					if r.Headers.Get("X-Worker") == "1" {
						worker1++
					}
					last = r
					n++
				}
				s := sums[i]
				if n != s.Requests || codes503 != s.StatusCodes["503"] || worker1 != s.PerWorker["1"] {
					t.Errorf("%s: decoded %d results, %d 503s, %d of worker 1; summary %d, %d, %d", engines[i], n, codes503, worker1, s.Requests, s.StatusCodes["503"], s.PerWorker["1"])
				}
				srcs = append(srcs, Source{Name: engines[i].String(), Dec: vegeta.DecoderFor(bytes.NewReader(data))})
			}
			m, err := Merge(srcs, 0)
			if err != nil {
				t.Fatal(err)
			}
			a, b := sums[0], sums[1]
			if m.Requests != a.Requests+b.Requests || m.Errors != a.Errors+b.Errors ||
				m.StatusCodes["200"] != a.StatusCodes["200"]+b.StatusCodes["200"] ||
				m.PerWorker["0"] != a.PerWorker["0"]+b.PerWorker["0"] ||
				m.Histogram.Count() != a.Histogram.Count()+b.Histogram.Count() ||
				m.ErrorKinds[results.ErrBadStatus] != a.Errors+b.Errors {
				t.Errorf("merged %d requests %d errors %v %v, want the sum of %d+%d requests, %d+%d errors", m.Requests, m.Errors, m.StatusCodes, m.PerWorker, a.Requests, b.Requests, a.Errors, b.Errors)
			}
			var merged results.Histogram
			merged.Merge(a.Histogram)
			merged.Merge(b.Histogram)
			if m.Histogram.Max() != merged.Max() || m.Histogram.Quantile(0.99) != merged.Quantile(0.99) {
				t.Errorf("merged histogram max %v p99 %v, want %v %v", m.Histogram.Max(), m.Histogram.Quantile(0.99), merged.Max(), merged.Quantile(0.99))
			}
			var series int64
			for _, x := range m.TimeSeries {
				series += x.Requests
			}
			// What ended after the last request sent is the wait's.
			if series+m.WaitRequests != m.Requests {
				t.Errorf("merged series adds up to %d and the wait holds %d, want %d", series, m.WaitRequests, m.Requests)
			}
		})
	}
}

// TestProgress: the callback sees the run advance.
func TestProgress(t *testing.T) {
	srv, _ := countingServer(t, nil, nil)
	var calls []Progress
	s := mustRun(t, Options{URL: srv.URL, Connections: 1, Duration: 300 * time.Millisecond, SeriesInterval: 50 * time.Millisecond,
		Progress: func(p Progress) { calls = append(calls, p) }})
	if len(calls) < 3 {
		t.Fatalf("%d progress calls over 300 ms at 50 ms", len(calls))
	}
	last := calls[len(calls)-1]
	if last.Requests != s.Requests || last.Duration != 300*time.Millisecond {
		t.Errorf("last progress %+v, summary %d requests", last, s.Requests)
	}
}

// TestMemoryFlat: without Output, the records' buffers are reused, so a
// longer run does not hold more records.
func TestMemoryFlat(t *testing.T) {
	srv, _ := countingServer(t, nil, nil)
	o := Options{URL: srv.URL, Connections: 2, Duration: 300 * time.Millisecond, SeriesInterval: 10 * time.Millisecond}
	o = o.withDefaults()
	a := newAttack(o)
	e, err := newFastEngine(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.origin = time.Now()
	col := newCollector(a)
	done := make(chan struct{})
	colDone := make(chan struct{})
	go func() { col.loop(done); close(colDone) }()
	e.drive()
	close(done)
	<-colDone
	s := col.summary(a.now(), 0, nil)
	var held int
	for _, sl := range a.bufs {
		held += cap(sl.buf) + cap(sl.spare)
	}
	// Each buffer holds at most a few slices' worth of records.
	perSlice := s.Requests / int64(len(s.TimeSeries))
	if limit := int(8*perSlice) + 2048; held > limit {
		t.Errorf("buffers hold room for %d records after %d requests (%d per slice), want at most %d", held, s.Requests, perSlice, limit)
	}
}

// TestPaceSchedule: the dispatcher hands out every scheduled time in
// order, and never more than Coalesce before it is due.
func TestPaceSchedule(t *testing.T) {
	for _, coalesce := range []time.Duration{0, 50 * time.Microsecond, 300 * time.Microsecond} {
		o := Options{URL: "http://127.0.0.1:1/", Connections: 1, MaxConnections: 1, Duration: 20 * time.Millisecond}.withDefaults()
		a := newAttack(o)
		a.origin = time.Now()
		e := &fastEngine{a: a, tickets: make(chan int64), coalesce: coalesce, timeout: int64(o.Timeout), ds: a.newRecordBuf()}
		e.nconns.Store(1) // at the cap: send waits for the receiver below
		w, err := newWaiter()
		if err != nil {
			t.Fatal(err)
		}
		type got struct{ sched, at int64 }
		var gots []got
		done := make(chan struct{})
		go func() {
			for s := range e.tickets {
				gots = append(gots, got{s, a.now()})
			}
			close(done)
		}()
		p := vegeta.ConstantPacer{Freq: 20000, Per: time.Second} // one every 50 µs
		to := int64(20 * time.Millisecond)
		if !e.pace(w, p, 0, to) {
			t.Fatal("pace reports an abort")
		}
		close(e.tickets)
		<-done
		w.close()
		// 400 hits, at 50 µs, 100 µs, ... 20 ms, even when the dispatcher
		// gets to some of them after the end (a busy machine): every hit
		// scheduled within the duration is sent.
		if len(gots) != 400 {
			t.Errorf("coalesce %v: %d hits in 20 ms at 20000/s, want 400", coalesce, len(gots))
		}
		for i, g := range gots {
			if want := int64(i+1) * int64(50*time.Microsecond); g.sched != want {
				t.Fatalf("coalesce %v: hit %d scheduled at %v, want %v", coalesce, i, time.Duration(g.sched), time.Duration(want))
			}
			if g.at < g.sched-int64(coalesce) {
				t.Fatalf("coalesce %v: hit %d handed out %v before its time", coalesce, i, time.Duration(g.sched-g.at))
			}
		}
	}
}

// TestBacklogCatchUp: a request that waits for a connection starts a
// backlog; the requests the dispatcher then sends late while catching up
// count as the server's backlog too, even those that find a connection
// idle; the first request on time ends it. Outside a backlog, a late
// request is the generator's, not counted.
//
// Nothing here depends on the machine's speed. A receiver that polls the
// channel without ever blocking on it is a connection never idle when the
// dispatcher looks, so the send waits; a buffered channel with room is a
// connection always idle. Requests are due an hour ago, or a minute ahead.
func TestBacklogCatchUp(t *testing.T) {
	o := Options{URL: "http://127.0.0.1:1/", Connections: 1, MaxConnections: 1, Duration: time.Second, Timeout: 24 * time.Hour}.withDefaults()
	a := newAttack(o)
	a.origin = time.Now().Add(-time.Hour)
	const late = int64(time.Second) // an hour late, within the timeout
	e := &fastEngine{a: a, tickets: make(chan int64, 1), timeout: int64(o.Timeout), ds: a.newRecordBuf()}
	e.nconns.Store(1) // at the cap: a send with no idle connection waits for one

	e.send(late)
	if n := a.connBusy.Load(); n != 0 {
		t.Fatalf("a late request to an idle connection, outside a backlog: %d counted, want 0", n)
	}

	busy, stop := make(chan int64), make(chan struct{})
	defer close(stop)
	e.tickets = busy
	go func() {
		for {
			select {
			case <-busy:
				return
			case <-stop:
				return
			default:
				runtime.Gosched()
			}
		}
	}()
	e.send(late)
	if n := a.connBusy.Load(); n != 1 {
		t.Fatalf("the request that waited for a connection: %d counted, want 1", n)
	}

	e.tickets = make(chan int64, 20)
	for range 18 {
		e.send(late)
	}
	if n := a.connBusy.Load(); n != 19 {
		t.Errorf("%d of the 19 requests sent late since the wait counted as the backlog, want all", n)
	}
	e.send(a.now() + int64(time.Minute))
	e.send(late)
	if n := a.connBusy.Load(); n != 19 {
		t.Errorf("a request on time did not end the backlog: %d counted after it", n-19)
	}
}

// TestProbeIdle: a server that closes every keep-alive connection after
// one answer, without saying so. Sends on those connections fail, unless
// the generator probes an idle connection before reusing it, as browsers
// and Go's http.Transport do.
func TestProbeIdle(t *testing.T) {
	url := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		if readRequest(br) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	for _, probe := range []bool{false, true} {
		s, err := Run(context.Background(), Options{URL: url, Connections: 2, Duration: 500 * time.Millisecond,
			Rate: vegeta.ConstantPacer{Freq: 100, Per: time.Second}, ProbeIdle: probe})
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case probe && s.Errors != 0:
			t.Errorf("with ProbeIdle: %d of %d requests failed %v", s.Errors, s.Requests, s.ErrorKinds)
		case !probe && s.Errors < s.Requests/3:
			t.Errorf("without ProbeIdle: only %d of %d requests failed; the test server closes every connection after one answer", s.Errors, s.Requests)
		}
	}
}

// TestLateForBusyConnections: an open loop faster than the server, with
// no connection left to open, sends late because every connection waits
// for a response. That is the server's backlog, counted as such, and not
// a generator that could not keep up.
func TestLateForBusyConnections(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // 50 req/s on the one connection
	}))
	t.Cleanup(srv.Close)
	p, _ := ParseRate("200", time.Second)
	s := mustRun(t, Options{URL: srv.URL, Connections: 1, MaxConnections: 1, Rate: p, Duration: 600 * time.Millisecond})
	if s.Late.Share < 0.5 || s.Late.ConnBusy < s.Late.Count*9/10 {
		t.Errorf("late %+v: want most requests late, nearly all for want of a free connection", s.Late)
	}
	if s.Saturated {
		t.Errorf("marked saturated (%s): the server was the bottleneck", s.SaturatedWhy)
	}
}
