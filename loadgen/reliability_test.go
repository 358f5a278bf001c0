package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
)

// Tests of issue 20: what an attack's figures say when the server stops
// answering or falls behind.

// readResults decodes every result an attack wrote to Output.
func readResults(t *testing.T, b []byte) []vegeta.Result {
	t.Helper()
	var out []vegeta.Result
	dec := vegeta.NewDecoder(bytes.NewReader(b))
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			return out
		}
		out = append(out, r)
	}
}

// window is what a run's own results file says about its attack of
// duration d from start: the successes that completed within it, by
// second, and what ended after it.
type window struct {
	ok               int64   // successes that completed within the attack
	perSecond        []int64 // of them, by second of the attack
	waitN, waitErrs  int64   // results that ended after the attack
	lastEnd          time.Time
	startedAfterEnd  int64 // results sent after the attack's end
	errsByText       map[string]int64
	successesInTotal int64
}

func windowOf(rs []vegeta.Result, start time.Time, d time.Duration) window {
	end := start.Add(d)
	w := window{perSecond: make([]int64, max((d+time.Second/2)/time.Second, 1)), errsByText: map[string]int64{}}
	for _, r := range rs {
		e := r.Timestamp.Add(r.Latency)
		if e.After(w.lastEnd) {
			w.lastEnd = e
		}
		if !r.Timestamp.Before(end) {
			w.startedAfterEnd++
		}
		failed := r.Error != ""
		if failed {
			w.errsByText[r.Error]++
		} else {
			w.successesInTotal++
		}
		if e.After(end) {
			w.waitN++
			if failed {
				w.waitErrs++
			}
			continue
		}
		if !failed {
			w.ok++
			w.perSecond[min(int(e.Sub(start)/time.Second), len(w.perSecond)-1)]++
		}
	}
	return w
}

// TestWaitApart (issue 20, item 9): one of two workers stopped, as with
// kill -STOP. The attack lasts its duration and its rates are over it;
// the wait for the stopped worker's requests to time out is said apart.
// Before, duration_s and every rate followed --timeout: a 300 ms attack
// with a 1 s timeout read as a 1 s run at a third of the rate.
func TestWaitApart(t *testing.T) {
	const d, timeout = 300 * time.Millisecond, time.Second
	for _, engine := range engines {
		t.Run(engine.String(), func(t *testing.T) {
			var conns, answered atomic.Int64
			url := rawServer(t, func(c net.Conn, br *bufio.Reader) {
				if conns.Add(1)%2 == 0 {
					io.Copy(io.Discard, br) // the stopped worker: reads, never answers
					return
				}
				for readRequest(br) {
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
					answered.Add(1)
				}
			})
			var buf bytes.Buffer
			s := mustRun(t, Options{URL: url, Engine: engine, Connections: 4, Duration: d, Timeout: timeout, Output: vegeta.NewEncoder(&buf).Encode})
			w := windowOf(readResults(t, buf.Bytes()), s.Start, d)
			if s.DurationS != d.Seconds() {
				t.Errorf("duration_s %v, want the attack's %v: the wait for the last answers is apart", s.DurationS, d.Seconds())
			}
			if w.ok == 0 || w.waitErrs == 0 {
				t.Fatalf("%d successes within the attack, %d failures after it: want both (results %v)", w.ok, w.waitErrs, w.errsByText)
			}
			if want := float64(w.ok) / d.Seconds(); math.Abs(s.RPS-want) > 1e-9*want {
				t.Errorf("rps %.3f, want the %d successes that completed within the %v attack over it: %.3f", s.RPS, w.ok, d, want)
			}
			if got := answered.Load(); got != s.Requests-s.Errors {
				t.Errorf("the server answered %d, the summary counts %d successes", got, s.Requests-s.Errors)
			}
			checkWait(t, s, w, d)
			// bench report of the summary alone says the same.
			m, err := stats.Merge([]stats.Part{{Host: "a", Summary: s}})
			if err != nil {
				t.Fatal(err)
			}
			if m.RPS != s.RPS || m.RPSAll != s.RPSAll || m.WaitS != s.WaitS || m.WaitRequests != s.WaitRequests || m.WaitErrors != s.WaitErrors {
				t.Errorf("merged alone: rps %v, rps_all %v, wait %v s, %d requests, %d errors; the summary's %v, %v, %v s, %d, %d",
					m.RPS, m.RPSAll, m.WaitS, m.WaitRequests, m.WaitErrors, s.RPS, s.RPSAll, s.WaitS, s.WaitRequests, s.WaitErrors)
			}
			// bench report of the run's results file: vegeta's reading,
			// the attack from the first request sent to the last, the wait
			// after it.
			f, err := Merge([]Source{{Name: "out", Dec: vegeta.NewDecoder(bytes.NewReader(buf.Bytes()))}}, 0)
			if err != nil {
				t.Fatal(err)
			}
			fd := time.Duration(f.DurationS * 1e9)
			fw := windowOf(readResults(t, buf.Bytes()), f.Start, fd)
			if fd > d || f.WaitRequests != fw.waitN || f.WaitErrors != fw.waitErrs || f.WaitS < s.WaitS {
				t.Errorf("bench report of the results file: %v, %d in a %.3f s wait (%d failed); want at most the %v attack, the file's %d ending after its last request sent (%d failed), the wait at least the run's %.3f s",
					fd, f.WaitRequests, f.WaitS, f.WaitErrors, d, fw.waitN, fw.waitErrs, s.WaitS)
			}
			if want := float64(fw.ok) / f.DurationS; math.Abs(f.RPS-want) > 1e-9*want {
				t.Errorf("bench report of the results file: rps %.3f, want the %d successes within its attack over it, %.3f", f.RPS, fw.ok, want)
			}
			// The stopped worker's requests, sent at the start, gave up
			// a timeout later (the fast engine's deadline is within 10%).
			if s.WaitS < (timeout - timeout/10 - d).Seconds() {
				t.Errorf("wait_s %.3f, want the stopped worker's requests timing out about %v after the attack", s.WaitS, timeout-d)
			}
		})
	}
}

// checkWait checks the summary's wait against the run's results file.
func checkWait(t *testing.T, s *results.Summary, w window, d time.Duration) {
	t.Helper()
	if s.WaitRequests != w.waitN || s.WaitErrors != w.waitErrs {
		t.Errorf("wait_requests %d, wait_errors %d; the results file has %d results ending after the attack, %d of them failed", s.WaitRequests, s.WaitErrors, w.waitN, w.waitErrs)
	}
	if want := w.lastEnd.Sub(s.Start.Add(d)).Seconds(); math.Abs(s.WaitS-want) > 1e-9 {
		t.Errorf("wait_s %.9f, want the last result's end %.9f s after the attack", s.WaitS, want)
	}
	var series int64
	for _, x := range s.TimeSeries {
		series += x.Requests - x.Errors
	}
	if series != w.ok {
		t.Errorf("the time series holds %d successes, want the %d that completed within the attack", series, w.ok)
	}
}

// TestPerSecondOfABacklog (issue 20, item 10): an open loop that the
// server falls behind. Each per-second sample is what completed in that
// second of the attack; what completed after it is the wait's. Before,
// responses that came after the last second were added to it (max 7,788
// at 5000/s) and the wait made empty samples of its own (min 0).
func TestPerSecondOfABacklog(t *testing.T) {
	const d, rate, holdFrom = 2 * time.Second, 1000, 1800
	for _, engine := range engines {
		t.Run(engine.String(), func(t *testing.T) {
			// Request 1800 and every later one are held until 1.2 s after
			// request 1800 came: past the end of the attack.
			var seq atomic.Int64
			var once sync.Once
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if seq.Add(1)-1 >= holdFrom {
					once.Do(func() { time.AfterFunc(1200*time.Millisecond, func() { close(release) }) })
					<-release
				}
				io.WriteString(w, "ok")
			}))
			t.Cleanup(srv.Close)
			p, _ := ParseRate("1000", d)
			var buf bytes.Buffer
			s := mustRun(t, Options{URL: srv.URL, Engine: engine, Rate: p, Duration: d, Connections: 10, Output: vegeta.NewEncoder(&buf).Encode})
			w := windowOf(readResults(t, buf.Bytes()), s.Start, d)
			if s.Requests != rate*2 || s.Errors != 0 {
				t.Fatalf("%d requests, %d errors (%v): want all %d answered", s.Requests, s.Errors, w.errsByText, rate*2)
			}
			ps := s.PerSecond
			lo, hi := min(w.perSecond[0], w.perSecond[1]), max(w.perSecond[0], w.perSecond[1])
			if ps.N != 2 || ps.Min != float64(lo) || ps.Max != float64(hi) {
				t.Errorf("per-second samples: %d from %.1f to %.1f; want the 2 seconds of the attack, what completed in each: %v", ps.N, ps.Min, ps.Max, w.perSecond)
			}
			if w.waitN < rate*2-holdFrom {
				t.Fatalf("%d results ended after the attack, want the %d held", w.waitN, rate*2-holdFrom)
			}
			checkWait(t, s, w, d)
		})
	}
}

// TestSamplesOfABacklogExact is TestPerSecondOfABacklog on the virtual
// clock: 1000/s for 2 s (hitClock) to a server that answers one request
// at a time every 1.25 ms (800/s). Hit i (from 1) is due at i ms and
// answered at 1 + 1.25 i ms: 799 within the first second, 800 within the
// second, the other 401 in the 0.501 s after the attack.
func TestSamplesOfABacklogExact(t *testing.T) {
	const d, service = 2 * time.Second, 1250 * time.Microsecond
	p, _ := ParseRate("1000", d)
	clock := hitClock{p: p, to: int64(d)}
	agg := newAggregator(DefaultSeriesInterval, true, DefaultLateThreshold, d)
	done := int64(0)
	for {
		at, ok := clock.next()
		if !ok {
			break
		}
		done = max(at, done) + int64(service)
		agg.add(&record{start: at, latency: done - at, status: 200, worker: -1})
	}
	var s results.Summary
	agg.finish(&s, int64(d))
	if s.Requests != 2000 || s.WaitRequests != 401 || s.WaitErrors != 0 {
		t.Errorf("%d requests, %d in the wait (%d failed); want 2000, 401, 0", s.Requests, s.WaitRequests, s.WaitErrors)
	}
	if ps := s.PerSecond; ps.N != 2 || ps.Min != 799 || ps.Max != 800 {
		t.Errorf("per-second samples %+v, want 799 and 800", ps)
	}
	if s.RPS != 1599.0/2 || s.DurationS != 2 {
		t.Errorf("rps %v over %v s, want the 1599 answered within the 2 s attack: 799.5", s.RPS, s.DurationS)
	}
	if want := (time.Millisecond + 2000*service - d).Seconds(); math.Abs(s.WaitS-want) > 1e-12 {
		t.Errorf("wait_s %v, want %v", s.WaitS, want)
	}
	if h := s.Histogram; h == nil || h.Count() != 2000 {
		t.Errorf("the latencies hold %v values, want all 2000: the wait's too", h.Count())
	}
}

// TestEndsWithinTimeout (issue 20, item 12): servers that never finish a
// response, one stopping in its headers, one sending less body than its
// Content-Length. Both engines stop sending at the end of the attack, so
// the run is over a timeout after it at most, and both count timeouts.
// Before, the vegeta engine sent a closed loop's next requests when the
// timed-out ones freed their workers, after the end: -d 3s --timeout 2s
// ran 6 s.
func TestEndsWithinTimeout(t *testing.T) {
	const d, timeout = 300 * time.Millisecond, 400 * time.Millisecond
	for _, srv := range []struct {
		name   string
		handle func(c net.Conn, br *bufio.Reader)
	}{
		{"headers cut short", func(c net.Conn, br *bufio.Reader) {
			if readRequest(br) {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Slow: a")
				io.Copy(io.Discard, br) // and nothing more until the client gives up
			}
		}},
		{"short body", func(c net.Conn, br *bufio.Reader) {
			for readRequest(br) {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
			}
		}},
	} {
		for _, engine := range engines {
			t.Run(srv.name+"/"+engine.String(), func(t *testing.T) {
				url := rawServer(t, srv.handle)
				var buf bytes.Buffer
				s := mustRun(t, Options{URL: url, Engine: engine, Connections: 2, Duration: d, Timeout: timeout, Output: vegeta.NewEncoder(&buf).Encode})
				w := windowOf(readResults(t, buf.Bytes()), s.Start, d)
				if w.startedAfterEnd > 0 {
					t.Errorf("%d of %d requests sent after the end of the %v attack", w.startedAfterEnd, s.Requests, d)
				}
				if s.Requests != 2 || s.ErrorKinds[results.ErrTimeout] != 2 {
					t.Errorf("%d requests, error kinds %v: want each connection's one request, timed out", s.Requests, s.ErrorKinds)
				}
			})
		}
	}
}

// TestHugeHeader (issue 20, item 12): a response whose header is 10 MB.
// Both engines stop reading at 64 KiB and count it malformed. Before, the
// vegeta engine read up to net/http's 10 MB default for every request,
// 203 MB of memory with 8 connections, and counted it as other.
func TestHugeHeader(t *testing.T) {
	big := []byte("HTTP/1.1 200 OK\r\nX-Big: " + string(bytes.Repeat([]byte("a"), 10<<20)) + "\r\nContent-Length: 2\r\n\r\nok")
	for _, engine := range engines {
		t.Run(engine.String(), func(t *testing.T) {
			url := rawServer(t, func(c net.Conn, br *bufio.Reader) {
				for readRequest(br) {
					if _, err := c.Write(big); err != nil {
						return
					}
				}
			})
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			s := mustRun(t, Options{URL: url, Engine: engine, Connections: 2, Duration: 200 * time.Millisecond, Timeout: 5 * time.Second})
			runtime.ReadMemStats(&after)
			if s.Requests == 0 || s.ErrorKinds[results.ErrMalformed] != s.Requests {
				t.Errorf("%d requests, error kinds %v (%v): want every one malformed", s.Requests, s.ErrorKinds, s.ErrorExamples)
			}
			if per := (after.TotalAlloc - before.TotalAlloc) / uint64(max(s.Requests, 1)); per > 1<<20 {
				t.Errorf("%d bytes allocated per request, want well under the 10 MB header: reading stops at the limit", per)
			}
		})
	}
}

// TestConnectFailuresBackOff (issue 20, item 11): of 6 connections only 2
// can be opened; every other dial fails as it does when the process is
// out of descriptors (EMFILE). The failures are of their own kind,
// connect, and a connection that could not open one tries again after a
// back-off (1 ms, doubling, up to 100 ms), not at once: before, the fast
// engine's closed loop spun on them, 795,170 "other" errors in 3 s.
func TestConnectFailuresBackOff(t *testing.T) {
	const d, conns, good = 500 * time.Millisecond, 6, 2
	// Attempts a connection can make within d, waiting the back-off after
	// each failure, however fast each attempt is; and one in connect.
	attempts := 1
	for at, b := time.Duration(0), time.Duration(0); at < d; at += b {
		attempts++
		b = min(max(2*b, time.Millisecond), 100*time.Millisecond)
	}
	for _, engine := range engines {
		t.Run(engine.String(), func(t *testing.T) {
			srv, tl := countingServer(t, nil, nil)
			var dials atomic.Int64
			o := Options{URL: srv.URL, Engine: engine, Connections: conns, Duration: d}
			o.dialControl = func(string, string, syscall.RawConn) error {
				if dials.Add(1) > good {
					return syscall.EMFILE
				}
				return nil
			}
			s := mustRun(t, o)
			if n := dials.Load(); n > int64(good+conns*attempts) {
				t.Errorf("%d dials in %v, want at most %d: %d connections that cannot open one, each backing off", n, d, good+conns*attempts, conns-good)
			}
			if s.ErrorKinds[results.ErrConnect] != s.Errors || (engine == EngineFast && s.Errors < conns-good) {
				t.Errorf("error kinds %v (%v): want the failed dials, and nothing else, counted as %s", s.ErrorKinds, s.ErrorExamples, results.ErrConnect)
			}
			tl.mu.Lock()
			defer tl.mu.Unlock()
			if ok := s.Requests - s.Errors; ok == 0 || ok != tl.requests {
				t.Errorf("%d successes, the server answered %d: want the 2 open connections' answers, all counted", ok, tl.requests)
			}
		})
	}
}

// TestDescriptorBudget (issue 20, item 11): with 64 descriptors, 8 of
// them open, 40 connections fit (16 are kept for the run). Run refuses
// more before it opens any, and an open loop's default MaxConnections is
// lowered to what fits: its hits wait for a connection, unsent past the
// timeout, instead of failing to open one.
func TestDescriptorBudget(t *testing.T) {
	defer func(f func() (uint64, uint64, int, bool)) { descriptorState = f }(descriptorState)
	descriptorState = func() (uint64, uint64, int, bool) { return 64, 64, 8, true }
	srv, tl := countingServer(t, nil, nil)
	p, _ := ParseRate("1000", 200*time.Millisecond)
	for _, c := range []struct {
		name   string
		o      Options
		option string
		most   int
	}{
		{"closed loop", Options{Connections: 41}, "connections", 40},
		{"open loop", Options{Connections: 41, Rate: p}, "connections", 40},
		{"max connections", Options{Connections: 10, MaxConnections: 41, Rate: p}, "max connections", 40},
		{"HTTP/2", Options{Engine: EngineVegeta, HTTP2: true, Connections: 4001}, "connections", 4000},
	} {
		c.o.URL, c.o.Duration = srv.URL, 200*time.Millisecond
		s, err := Run(context.Background(), c.o)
		var de *DescriptorError
		if !errors.As(err, &de) || s != nil || de.Option != c.option || de.Most != c.most || de.Limit != 64 || de.Open != 8 {
			t.Errorf("%s: Run = %v, %v; want a DescriptorError for the %s, at most %d", c.name, s, err, c.option, c.most)
		}
		if err2 := CheckDescriptors(c.o); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("%s: CheckDescriptors = %v, Run = %v: want the same", c.name, err2, err)
		}
	}
	tl.mu.Lock()
	if tl.conns != 0 {
		t.Errorf("the server saw %d connections: want none, refused before any", tl.conns)
	}
	tl.mu.Unlock()
	if o, err := fitDescriptors(Options{URL: srv.URL, Rate: p, Connections: 10}.withDefaults(), false); err != nil || o.MaxConnections != 40 {
		t.Errorf("an open loop's default max connections: %d (%v), want the 40 that fit", o.MaxConnections, err)
	}
	// Against a server that never answers, 200 hits in 200 ms: the first
	// 40 take the 40 connections and time out 300 ms later, when the hits
	// still within 300 ms of their time take them again and time out too;
	// the others find no connection in time. With a connection each (the
	// cap of 10,000), every hit would be sent.
	for _, engine := range engines {
		s := mustRun(t, Options{URL: hangServer(t).URL, Engine: engine, Rate: p, Duration: 200 * time.Millisecond, Connections: 10, Timeout: 300 * time.Millisecond})
		if s.Unsent < 80 || s.Requests+s.Unsent != 200 {
			t.Errorf("%s: %d requests sent, %d unsent; want the 200 hits mostly unsent, the 40 connections that fit taken", engine, s.Requests, s.Unsent)
		}
	}
}
