package loadgen

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// fastEngine speaks HTTP/1.1 over raw TCP connections, one goroutine each.
type fastEngine struct {
	a        *attack
	hostport string // as the URL says, for messages
	addr     string // resolved IP:port
	req      []byte // the request, built once
	reqs     []byte // Pipeline copies of req, for pipelined writes
	head     bool
	maxBody  int64
	timeout  int64
	dialer   net.Dialer
	first    []net.Conn  // opened by connect, one per initial connection (nil when that dial failed)
	tickets  chan int64  // open loop: scheduled send times, handed to idle connections
	timer    *time.Timer // open loop: the dispatcher's, see send
	ds       *recordBuf  // open loop: the dispatcher's, for unsent hits
	backlog  backlog     // open loop: behind for want of a connection
	coalesce time.Duration
	wg       sync.WaitGroup
	nconns   atomic.Int64 // connection goroutines started
}

func newFastEngine(a *attack) (*fastEngine, error) {
	u, err := ParseURL(a.o.URL)
	if err != nil {
		return nil, err
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	hostport := net.JoinHostPort(u.Hostname(), port)
	ta, err := net.ResolveTCPAddr("tcp", hostport)
	if err != nil {
		return nil, &UnreachableError{Addr: hostport, Err: rootCause(err)}
	}
	req := buildRequest(a.o, u)
	var reqs []byte // only a pipelined closed loop writes several at once
	if a.o.Pipeline > 1 && a.o.Rate == nil {
		reqs = bytes.Repeat(req, a.o.Pipeline)
	}
	return &fastEngine{
		a:        a,
		hostport: hostport,
		addr:     ta.String(),
		req:      req,
		reqs:     reqs,
		head:     a.o.Method == http.MethodHead,
		maxBody:  a.o.MaxBody,
		timeout:  int64(a.o.Timeout),
		dialer:   net.Dialer{Timeout: a.o.Timeout, Control: a.o.dialControl},
		coalesce: max(a.o.Coalesce, 0),
	}, nil
}

// buildRequest renders the request every connection sends: the request
// line, Host, what the options add, nothing else (no User-Agent, as wrk),
// so that the server's work per request is the least it can be.
func buildRequest(o Options, u *url.URL) []byte {
	var b bytes.Buffer
	b.WriteString(o.Method + " " + u.RequestURI() + " HTTP/1.1\r\n")
	host := u.Host
	if h := o.Header.Get("Host"); h != "" {
		host = h
	}
	b.WriteString("Host: " + host + "\r\n")
	if o.NoKeepAlive {
		b.WriteString("Connection: close\r\n")
	}
	switch {
	case len(o.Body) > 0, o.Method == http.MethodPost, o.Method == http.MethodPut, o.Method == http.MethodPatch:
		b.WriteString("Content-Length: " + strconv.Itoa(len(o.Body)) + "\r\n")
	}
	keys := make([]string, 0, len(o.Header))
	for k := range o.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if http.CanonicalHeaderKey(k) == "Host" {
			continue
		}
		for _, v := range o.Header[k] {
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	b.Write(o.Body)
	return b.Bytes()
}

// connect opens the initial connections, all at once, before the clock
// starts. When every one of them fails, the target is unreachable.
func (e *fastEngine) connect(ctx context.Context) error {
	n := e.a.o.Connections
	e.first = make([]net.Conn, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.first[i], errs[i] = e.dialer.DialContext(ctx, "tcp", e.addr)
		}()
	}
	wg.Wait()
	ok := 0
	for _, c := range e.first {
		if c != nil {
			ok++
		}
	}
	e.a.opened.Add(int64(ok))
	if ok == 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		return &UnreachableError{Addr: e.hostport, Err: rootCause(errs[0])}
	}
	return nil
}

func (e *fastEngine) abandon() {
	for _, c := range e.first {
		if c != nil {
			c.Close()
		}
	}
}

// rootCause strips the "dial tcp ADDR:" layers off a dial error.
func rootCause(err error) error {
	var errno syscall.Errno
	var dns *net.DNSError
	switch {
	case errors.As(err, &errno):
		return errno
	case errors.As(err, &dns):
		return errors.New(dns.Err)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errors.New("no answer within the timeout")
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

func (e *fastEngine) drive() {
	a := e.a
	n := len(e.first)
	e.nconns.Store(int64(n))
	if !a.open {
		for _, nc := range e.first {
			c := e.newConn(nc)
			e.wg.Add(1)
			if a.o.Pipeline > 1 {
				go c.closedPipeline()
			} else {
				go c.closedLoop()
			}
		}
		e.first = nil
		e.wg.Wait()
		return
	}
	e.tickets = make(chan int64)
	for _, nc := range e.first {
		c := e.newConn(nc)
		e.wg.Add(1)
		go c.open(-1)
	}
	e.first = nil
	e.dispatch()
	close(e.tickets)
	e.wg.Wait()
}

// dispatch hands each open-loop request its scheduled send time (see
// hitClock), waiting until that time comes.
//
// Every hit scheduled within the duration is dispatched, even when the
// dispatcher gets to it after the end (every connection was busy): a
// server that stalls in the last half second must show it as it would
// mid-run. A hit that finds no connection within the timeout of its
// scheduled time is given up and recorded as unsent.
func (e *fastEngine) dispatch() {
	a := e.a
	w, release := a.openWaiter()
	if w == nil {
		return
	}
	defer release()
	e.ds = a.newRecordBuf()
	if a.measure > 0 && !e.pace(w, initialPacer(a.o.Rate), 0, a.measure-1) {
		return
	}
	e.pace(w, a.o.Rate, a.measure, a.end)
}

// spawnAfter is how long the dispatcher waits for a connection to be idle
// before it opens one more.
const spawnAfter = 200 * time.Microsecond

// pace dispatches the hits p schedules after from and up to to (ns
// offsets); it returns false when the run was aborted.
//
// Every wake-up of an idle CPU costs microseconds of system time on both
// sides of the loopback (an inter-processor interrupt, and a VM exit in a
// virtual machine); at tens of thousands of requests per second, one per
// request would eat the core. So when the dispatcher wakes for a request,
// it also sends those due within Options.Coalesce. A request that leaves
// early is measured from when it left, so its latency stays true; only
// the schedule's precision is Coalesce.
func (e *fastEngine) pace(w *waiter, p vegeta.Pacer, from, to int64) bool {
	a := e.a
	clock := hitClock{p: p, from: from, to: to, seg: a.o.Segment}
	awake := int64(-1) // until when the dispatcher sends without waiting
	for {
		sched, ok := clock.next()
		if !ok {
			return true
		}
		if sched > awake {
			now := a.now()
			if d := sched - now; d > 0 {
				if w.wait(time.Duration(d)) != nil {
					return false
				}
				now = sched
			}
			awake = now + int64(e.coalesce)
		}
		if a.stopping.Load() || !e.send(sched) {
			return false
		}
	}
}

// send hands sched to an idle connection, or to a new one when none is
// idle and the cap allows; at the cap it waits for one to be idle, until
// the timeout of sched, and then records the hit as unsent. It returns
// false when the run was aborted.
//
// Before opening a connection it yields, then waits up to spawnAfter: a
// dispatcher that is behind schedule never blocks, so connections whose
// responses came back may be runnable but not yet waiting for a ticket.
// Opening connections for them would feed on itself (a dial costs more
// than a request) until the cap.
func (e *fastEngine) send(sched int64) bool {
	select {
	case e.tickets <- sched:
		e.backlog.note(e.a, sched)
		return true
	default:
	}
	runtime.Gosched()
	select {
	case e.tickets <- sched:
		e.backlog.note(e.a, sched)
		return true
	default:
	}
	// No connection is idle: every one is waiting for a response, or has
	// yet to come back for a ticket.
	e.backlog.on = true
	if e.nconns.Load() < int64(e.a.o.MaxConnections) {
		switch e.await(sched, spawnAfter) {
		case handed:
			return true
		case aborted:
			return false
		}
		e.backlog.note(e.a, sched)
		e.nconns.Add(1)
		c := e.newConn(nil)
		e.wg.Add(1)
		go c.open(sched)
		return true
	}
	switch e.await(sched, time.Duration(sched+e.timeout-e.a.now())) {
	case handed:
		return true
	case aborted:
		return false
	}
	e.a.giveUp(e.ds, sched)
	return true
}

// Outcomes of await.
const (
	handed  = iota // a connection took the ticket
	expired        // none did in time
	aborted        // the run was aborted
)

// await offers sched to the connections for up to d.
func (e *fastEngine) await(sched int64, d time.Duration) int {
	if d <= 0 {
		return expired
	}
	if e.timer == nil {
		e.timer = time.NewTimer(d)
	} else {
		e.timer.Reset(d)
	}
	select {
	case e.tickets <- sched:
		e.timer.Stop()
		e.backlog.note(e.a, sched)
		return handed
	case <-e.timer.C:
		return expired
	case <-e.a.abortCh:
		return aborted
	}
}

// fconn is one connection of the fast engine and the goroutine driving it.
type fconn struct {
	e        *fastEngine
	a        *attack
	s        *recordBuf
	conn     net.Conn
	raw      syscall.RawConn // conn's, for exchange
	rd       *respReader
	resp     response
	deadline int64 // ns offset the connection's deadline is set to

	// exchange's state, kept here so that its callback is a method value
	// made once, not a closure per request.
	onReadable func(uintptr) bool
	wrote      int   // request bytes written by exchange
	ioErr      error // the error of exchange's write or read

	p    pipe  // pipelined: the requests outstanding
	wErr error // pipelined: the current connection's failed write

	dialFailed bool    // the last dial failed
	backoff    backoff // closed loop: the wait before the next dial

	// Pipelined open loop, see openPipeline.
	tokens  chan struct{}  // one per request that may be outstanding
	retry   chan pending   // requests to send again, after a Connection: close
	cur     *link          // the connection requests are written on
	readers sync.WaitGroup // the links' readers
}

func (e *fastEngine) newConn(nc net.Conn) *fconn {
	c := &fconn{e: e, a: e.a, s: e.a.newRecordBuf(), rd: newRespReader()}
	c.onReadable = c.readable
	if n := e.a.o.Pipeline; n > 1 {
		c.p.q = make([]pending, n)
	}
	if nc != nil {
		c.attach(nc)
	}
	return c
}

// attach makes nc the connection's, visible to abort.
func (c *fconn) attach(nc net.Conn) {
	c.conn, c.deadline = nc, 0
	c.raw = nil
	if sc, ok := nc.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	c.rd.reset()
	c.s.mu.Lock()
	c.s.conn = nc
	c.s.mu.Unlock()
	if c.a.aborted.Load() {
		nc.Close() // abort may have missed it
	}
}

func (c *fconn) close() {
	if c.conn == nil {
		return
	}
	c.s.mu.Lock()
	c.s.conn = nil
	c.s.mu.Unlock()
	c.conn.Close()
	c.conn = nil
}

func (c *fconn) closedLoop() {
	defer c.e.wg.Done()
	defer c.close()
	a := c.a
	for !a.stopping.Load() {
		t := a.now()
		if t >= a.end {
			return
		}
		c.s.add(c.do(t, t))
		if c.dialFailed && !c.backOff() {
			return
		}
	}
}

// backOff waits before a closed-loop connection dials again after a
// failed dial, until the end of the attack at most; false when the run
// was aborted. Without it a failure that lasts (no descriptor, no local
// port left) would be retried at once, forever: millions of requests
// that never left. The open loop needs none: its hits are paced.
func (c *fconn) backOff() bool {
	a := c.a
	d := min(c.backoff.next(), time.Duration(a.end-a.now()))
	return pause(a.ctx, a.abortCh, d)
}

// open runs the connection in the open loop; first, if not -1, is the
// hit it was opened for.
func (c *fconn) open(first int64) {
	if len(c.p.q) > 1 {
		c.openPipeline(first)
	} else {
		c.openLoop(first)
	}
}

func (c *fconn) openLoop(first int64) {
	defer c.e.wg.Done()
	defer c.close()
	a := c.a
	if first >= 0 {
		c.s.add(c.do(first, a.now()))
	}
	for sched := range c.e.tickets {
		c.s.add(c.do(sched, a.now()))
	}
}

// do sends one request scheduled at sched that leaves at sent, and reads
// its response.
func (c *fconn) do(sched, sent int64) record {
	a, e := c.a, c.e
	rec := record{start: min(sched, sent), late: sent - sched, worker: -1}
	if c.conn != nil && a.o.ProbeIdle && c.peerClosed() {
		c.close() // the server closed it while it was idle: not this request's failure
	}
	if c.conn == nil {
		nc, err := e.dialer.DialContext(a.ctx, "tcp", e.addr)
		if c.dialFailed = err != nil; c.dialFailed {
			return c.fail(rec, err)
		}
		c.backoff = backoff{}
		a.opened.Add(1)
		c.attach(nc)
	}
	if c.deadline-sent < e.timeout-e.timeout/10 {
		c.deadline = sent + e.timeout
		c.conn.SetDeadline(a.origin.Add(time.Duration(c.deadline)))
	}
	if err := c.exchange(); err != nil {
		return c.fail(rec, err)
	}
	if err := c.rd.readResponse(c.conn, e.head, e.maxBody, &c.resp); err != nil {
		return c.fail(rec, err)
	}
	rec.latency = a.now() - rec.start
	rec.status = uint16(c.resp.status)
	rec.worker = c.resp.worker
	rec.bytesIn = uint32(min(c.resp.bodyLen, math.MaxUint32))
	rec.bytesOut = uint32(len(a.o.Body))
	if c.resp.status >= 400 {
		rec.kind = kindBadStatus
	}
	if c.resp.close || a.o.NoKeepAlive {
		c.close()
	}
	return rec
}

// fail completes rec as a failure and drops the connection: after an
// error, nothing more can be trusted to come on it in order.
func (c *fconn) fail(rec record, err error) record {
	rec.latency = c.a.now() - rec.start
	var msg string
	rec.kind, msg = classify(err)
	if msg != kindPhrase[rec.kind] {
		rec.msg = c.a.msgs.intern(msg)
	}
	c.close()
	return rec
}
