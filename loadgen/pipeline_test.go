package loadgen

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// pipeServer is a raw HTTP/1.1 server that sees a connection's requests
// as they arrive: in flight from when it read them until it answers.
type pipeServer struct {
	mu    sync.Mutex
	conns []*pipeConn
	url   string
	done  chan struct{} // one per connection whose handler returned
}

// pipeConn is one connection of a pipeServer, with its counts.
type pipeConn struct {
	s        *pipeServer
	id       int
	c        net.Conn
	br       *bufio.Reader
	read     int // requests read
	answered int // responses written
	maxIn    int // most requests in flight at once
	early    bool
	line     []byte // the line being read
	err      error  // what ended next
}

func newPipeServer(t *testing.T, handle func(pc *pipeConn)) *pipeServer {
	s := &pipeServer{done: make(chan struct{}, 1<<16)}
	s.url = rawServer(t, func(c net.Conn, br *bufio.Reader) {
		defer func() { s.done <- struct{}{} }()
		s.mu.Lock()
		pc := &pipeConn{s: s, id: len(s.conns), c: c, br: br}
		s.conns = append(s.conns, pc)
		s.mu.Unlock()
		handle(pc)
	})
	return s
}

// next reads one request; false at the end of the stream or on an
// error, then in pc.err. A request cut by a read deadline is read whole
// by the next call.
func (pc *pipeConn) next() bool {
	for {
		l, err := pc.br.ReadSlice('\n')
		pc.line = append(pc.line, l...)
		if err != nil {
			pc.err = err
			return false
		}
		if len(pc.line) == 2 && pc.line[0] == '\r' {
			pc.line = pc.line[:0]
			break
		}
		if pc.line[len(pc.line)-1] == '\n' {
			pc.line = pc.line[:0]
		}
	}
	pc.s.mu.Lock()
	pc.read++
	pc.maxIn = max(pc.maxIn, pc.read-pc.answered)
	pc.s.mu.Unlock()
	return true
}

// fill reads requests until depth are in flight; after the end of a run
// the client sends no more, so what it has in flight then counts once
// nothing came for a while. It reports false at the end of the stream.
func (pc *pipeConn) fill(depth int) bool {
	defer pc.c.SetReadDeadline(time.Time{})
	for pc.inFlight() < depth {
		var idle time.Time
		if pc.inFlight() > 0 {
			idle = time.Now().Add(100 * time.Millisecond)
		}
		pc.c.SetReadDeadline(idle)
		if !pc.next() {
			ne, ok := pc.err.(net.Error)
			return ok && ne.Timeout()
		}
	}
	return true
}

// inFlight is how many requests were read and not answered.
func (pc *pipeConn) inFlight() int {
	pc.s.mu.Lock()
	defer pc.s.mu.Unlock()
	return pc.read - pc.answered
}

// answer writes n responses in one write, the last with Connection:
// close when closing; each tagged X-Worker: connection·10000 + its number
// on the connection, from 0.
func (pc *pipeConn) answer(n int, closing bool) error {
	var b []byte
	pc.s.mu.Lock()
	for i := range n {
		h := ""
		if closing && i == n-1 {
			h = "Connection: close\r\n"
		}
		b = fmt.Appendf(b, "HTTP/1.1 200 OK\r\nX-Worker: %d\r\n%sContent-Length: 2\r\n\r\nok", pc.id*10000+pc.answered+i, h)
	}
	pc.answered += n
	pc.s.mu.Unlock()
	_, err := pc.c.Write(b)
	return err
}

// drain reads requests until the client closes, after a half-close: they
// are read and never answered.
func (pc *pipeConn) drain() {
	pc.c.(*net.TCPConn).CloseWrite()
	for pc.next() {
	}
}

// totals adds up every connection's counts, once the handlers of the n
// connections the client opened have seen it close them: Run returns
// before the server has read the last requests.
func (s *pipeServer) totals(n int64) (read, answered int) {
	for range n {
		<-s.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, pc := range s.conns {
		read += pc.read
		answered += pc.answered
	}
	return read, answered
}

// pipeModes are the loops a pipeline test runs in.
var pipeModes = []string{"closed", "open"}

// pipeOptions is a short run in mode over conns connections: in the open
// loop at rate hits per second, without connections beyond conns.
func pipeOptions(url, mode string, conns, depth, rate int) Options {
	o := Options{URL: url, Connections: conns, Duration: 300 * time.Millisecond, Pipeline: depth, Timeout: 5 * time.Second}
	if mode == "open" {
		o.Rate, o.MaxConnections = constantRate{Freq: rate, Per: time.Second}, conns
	}
	return o
}

// TestPipelineDepth: a server that answers only once it holds depth
// requests of a connection sees exactly depth in flight, never more, and
// every request it answered is counted once.
func TestPipelineDepth(t *testing.T) {
	for _, mode := range pipeModes {
		t.Run(mode, func(t *testing.T) { testPipelineDepth(t, mode) })
	}
}

func testPipelineDepth(t *testing.T, mode string) {
	const depth = 8
	s := newPipeServer(t, func(pc *pipeConn) {
		for pc.fill(depth) {
			if pc.br.Buffered() > 0 {
				pc.s.mu.Lock()
				pc.early = true // more than depth sent before an answer
				pc.s.mu.Unlock()
			}
			if pc.answer(pc.inFlight(), false) != nil {
				return
			}
		}
	})
	sum := mustRun(t, pipeOptions(s.url, mode, 3, depth, 3000))
	read, answered := s.totals(sum.ConnectionsOpened)
	if sum.Errors != 0 || sum.Requests == 0 || sum.Unsent != 0 {
		t.Fatalf("requests %d, errors %d %v: want some, none failed", sum.Requests, sum.Errors, sum.ErrorExamples)
	}
	if sum.Requests != int64(answered) || read != answered {
		t.Errorf("counted %d requests; the server read %d and answered %d", sum.Requests, read, answered)
	}
	if sum.Pipeline != depth {
		t.Errorf("summary's pipeline %d, want %d", sum.Pipeline, depth)
	}
	for _, pc := range s.conns {
		if pc.maxIn != depth || pc.early {
			t.Errorf("connection %d: at most %d in flight (more sent early: %v), want %d", pc.id, pc.maxIn, pc.early, depth)
		}
	}
}

// TestPipelineFIFOLatency: responses complete the requests in the order
// they were written. Against a server that delays each response by a
// known amount, every request's recorded start and end fall where
// causality puts them: it started before the server read it and after
// the response depth places before it came back; it ended after the
// server wrote its response and before the request depth places after it
// was read. A response matched to the wrong request breaks one of these
// by the delays. In the open loop a request may be due before the
// response depth places before it came back.
func TestPipelineFIFOLatency(t *testing.T) {
	for _, mode := range pipeModes {
		t.Run(mode, func(t *testing.T) { testPipelineFIFOLatency(t, mode) })
	}
}

func testPipelineFIFOLatency(t *testing.T, mode string) {
	const depth = 4
	delays := []time.Duration{0, 15 * time.Millisecond, 0, 6 * time.Millisecond, 0, 0, 25 * time.Millisecond}
	var mu sync.Mutex
	in, out := map[int]time.Time{}, map[int]time.Time{} // by tag
	s := newPipeServer(t, func(pc *pipeConn) {
		arrived := make(chan time.Time, 1<<16)
		go func() {
			defer close(arrived)
			for pc.next() {
				arrived <- time.Now()
			}
		}()
		j := 0
		for at := range arrived {
			tag := pc.id*10000 + j
			due := at.Add(delays[j%len(delays)])
			time.Sleep(time.Until(due)) // the server's delay, not a wait for readiness
			mu.Lock()
			in[tag], out[tag] = at, time.Now()
			mu.Unlock()
			if pc.answer(1, false) != nil {
				break
			}
			j++
		}
		for range arrived {
		}
	})
	type res struct{ start, end time.Time }
	got := map[int]res{}
	o := pipeOptions(s.url, mode, 2, depth, 400)
	o.Output = func(r *vegeta.Result) error {
		tag, err := strconv.Atoi(r.Headers.Get("X-Worker"))
		if err != nil {
			return fmt.Errorf("result without a tag: %+v", r)
		}
		got[tag] = res{r.Timestamp, r.Timestamp.Add(r.Latency)}
		return nil
	}
	sum := mustRun(t, o)
	_, answered := s.totals(sum.ConnectionsOpened)
	if sum.Errors != 0 || sum.Requests != int64(answered) || len(got) != answered {
		t.Fatalf("requests %d (%d results), errors %d; the server answered %d", sum.Requests, len(got), sum.Errors, answered)
	}
	// Records carry wall-clock times, the server's are read from the
	// same clock; the tolerance covers their rounding, not the delays.
	const tol = 2 * time.Millisecond
	bad := 0
	for tag, r := range got {
		mu.Lock()
		tin, tout := in[tag], out[tag]
		before, hasBefore := out[tag-depth]
		after, hasAfter := in[tag+depth]
		mu.Unlock()
		check := func(ok bool, what string, args ...any) {
			if !ok && bad < 10 {
				bad++
				t.Errorf("request %d: "+what, append([]any{tag}, args...)...)
			}
		}
		check(!r.start.After(tin.Add(tol)), "started %v after the server read it", r.start.Sub(tin))
		check(!r.end.Before(tout.Add(-tol)), "ended %v before the server answered it", tout.Sub(r.end))
		// An open-loop request starts when it was due, maybe before a
		// slot was free.
		if mode == "closed" && tag%10000 >= depth && hasBefore {
			check(!r.start.Before(before.Add(-tol)), "started %v before the response %d places before it was written", before.Sub(r.start), depth)
		}
		if hasAfter {
			check(!r.end.After(after.Add(tol)), "ended %v after the request %d places after it was read", r.end.Sub(after), depth)
		}
	}
}

// TestPipelineConnectionLost: a connection that ends with k requests
// outstanding counts k failures; the others are counted once each, and
// the generator goes on with a new connection. The server half-closes
// after answering 2 of each connection's 6 and reads on until the client
// closes, so it reads everything the client wrote (in the closed loop,
// where one goroutine writes and reads, exactly).
func TestPipelineConnectionLost(t *testing.T) {
	for _, mode := range pipeModes {
		t.Run(mode, func(t *testing.T) { testPipelineConnectionLost(t, mode) })
	}
}

func testPipelineConnectionLost(t *testing.T, mode string) {
	const depth, answered = 6, 2
	s := newPipeServer(t, func(pc *pipeConn) {
		if !pc.fill(depth) {
			return
		}
		if pc.answer(min(answered, pc.inFlight()), false) != nil {
			return
		}
		pc.drain()
	})
	sum := mustRun(t, pipeOptions(s.url, mode, 2, depth, 3000))
	read, ok := s.totals(sum.ConnectionsOpened)
	lost := read - ok
	if len(s.conns) < 3 || lost == 0 {
		t.Fatalf("%d connections, %d requests lost: the test did not close any mid-pipeline", len(s.conns), lost)
	}
	if sum.Requests-sum.Errors != int64(ok) {
		t.Errorf("%d successes; the server answered %d", sum.Requests-sum.Errors, ok)
	}
	if mode == "closed" {
		if sum.Requests != int64(read) || sum.Errors != int64(lost) {
			t.Errorf("requests %d, errors %d; the server read %d, answered %d, left %d unanswered", sum.Requests, sum.Errors, read, ok, lost)
		}
		if n := sum.ErrorKinds["closed"]; n != sum.Errors {
			t.Errorf("error kinds %v: want all %d closed", sum.ErrorKinds, sum.Errors)
		}
	} else {
		// A hit written as the link's reader found it closed fails too,
		// unread by the server.
		if sum.Errors < int64(lost) {
			t.Errorf("errors %d; the server left %d unanswered", sum.Errors, lost)
		}
		if n := sum.ErrorKinds["closed"] + sum.ErrorKinds["reset"]; n != sum.Errors {
			t.Errorf("error kinds %v: want all %d closed or reset", sum.ErrorKinds, sum.Errors)
		}
	}
	if int64(len(s.conns)) != sum.ConnectionsOpened {
		t.Errorf("the server saw %d connections, the summary says %d opened", len(s.conns), sum.ConnectionsOpened)
	}
}

// TestPipelineConnectionClose: a response with Connection: close in the
// middle of a pipeline leaves the requests after it unanswered; they go
// again on a new connection, answered and counted once, with no error.
// The first connection waits for its whole pipeline before answering, so
// the close certainly comes with requests behind it; the others answer
// as requests come.
func TestPipelineConnectionClose(t *testing.T) {
	for _, mode := range pipeModes {
		t.Run(mode, func(t *testing.T) { testPipelineConnectionClose(t, mode) })
	}
}

func testPipelineConnectionClose(t *testing.T, mode string) {
	const depth, closeAt = 8, 3
	s := newPipeServer(t, func(pc *pipeConn) {
		if pc.id == 0 {
			if !pc.fill(depth) {
				return
			}
			if pc.answer(min(closeAt, pc.inFlight()), true) == nil {
				pc.drain()
			}
			return
		}
		for n := 1; pc.next(); n++ {
			if pc.answer(1, n == closeAt) != nil {
				return
			}
			if n == closeAt {
				pc.drain()
				return
			}
		}
	})
	sum := mustRun(t, pipeOptions(s.url, mode, 2, depth, 3000))
	read, answered := s.totals(sum.ConnectionsOpened)
	if sum.Errors != 0 || sum.Unsent != 0 {
		t.Errorf("errors %d %v: want none", sum.Errors, sum.ErrorExamples)
	}
	if read-answered < depth-closeAt {
		t.Errorf("the server read %d and answered %d: the first connection left fewer than %d behind its close", read, answered, depth-closeAt)
	}
	if sum.Requests != int64(answered) {
		t.Errorf("counted %d requests; the server answered %d (read %d, with the resent ones twice)", sum.Requests, answered, read)
	}
}
