package loadgen

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// vegetaEngine runs vegeta's Attacker over a net/http client built here
// (keep-alive, HTTP/2, TLS, timeout, body limit) and turns its Results into
// records. In the open loop it corrects vegeta's latencies for coordinated
// omission: each result's scheduled time is recomputed from the pacer by
// its sequence number, on the same virtual clock as the fast engine's.
type vegetaEngine struct {
	a         *attack
	tr        *http.Transport
	client    *http.Client
	targeter  vegeta.Targeter
	dialer    net.Dialer
	s         *recordBuf
	mu        sync.Mutex
	conns     map[*trackedConn]struct{} // open connections, closed on abort
	atk       *vegeta.Attacker
	dialFails int
	backoff   backoff // of the closed loop's failed dials
	// What RoundTrip lets through, see admit: in a closed loop, requests
	// that start before gate (ns offset, the end of the current attack);
	// in an open loop, the hits of sched within the timeout of their time.
	gate     atomic.Int64
	sched    atomic.Pointer[schedule]
	inflight atomic.Int64 // open loop: requests admitted and not yet recorded
}

// errNotSent is RoundTrip's error for a request that admit held back; its
// result is not recorded.
var errNotSent = errors.New("corebench: not sent: past the end of the attack, or the timeout of its scheduled time")

// bodyBytesHeader carries a response's body length from the body reader to
// the Result: vegeta reads and counts the body itself only when it keeps
// it in memory, which a benchmark should not do.
const bodyBytesHeader = "X-Corebench-Body-Bytes"

func newVegetaEngine(a *attack) (*vegetaEngine, error) {
	o := a.o
	u, err := ParseURL(o.URL)
	if err != nil {
		return nil, err
	}
	e := &vegetaEngine{a: a, conns: map[*trackedConn]struct{}{}}
	e.dialer = net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second, Control: o.dialControl}
	maxConns := o.MaxConnections
	if o.Rate == nil {
		maxConns = o.Connections // a closed loop's workers
	}
	var p http.Protocols
	switch {
	case !o.HTTP2:
		p.SetHTTP1(true)
	case u.Scheme == "https":
		p.SetHTTP2(true)
	default:
		p.SetUnencryptedHTTP2(true) // prior knowledge: no HTTP/1.1 upgrade dance
	}
	e.tr = &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         e.dial,
		TLSClientConfig:     o.TLSConfig,
		MaxIdleConnsPerHost: o.MaxConnections,
		// A connection per worker at most, dialling ones included: a
		// failed dial holds its place while it backs off (see dial).
		MaxConnsPerHost:    maxConns,
		DisableKeepAlives:  o.NoKeepAlive,
		DisableCompression: true, // measure what the fast engine measures: the bytes as served
		Protocols:          &p,
		ForceAttemptHTTP2:  o.HTTP2,
		// As the fast engine: a larger head is malformed, and costs no
		// more than this to find out (net/http's default is 10 MB).
		MaxResponseHeaderBytes: maxHeaderBytes,
	}
	e.client = &http.Client{Transport: limitTransport{e.tr, o.MaxBody, e}, Timeout: o.Timeout}
	hdr := o.Header.Clone()
	if hdr == nil {
		hdr = http.Header{}
	}
	if hdr.Get("User-Agent") == "" {
		hdr.Set("User-Agent", "corebench")
	}
	e.targeter = vegeta.NewStaticTargeter(vegeta.Target{Method: o.Method, URL: o.URL, Body: o.Body, Header: hdr})
	return e, nil
}

// connect does nothing: net/http dials on demand. An unreachable target
// shows as dial failures, which abort the run (see dial).
func (e *vegetaEngine) connect(context.Context) error { return nil }

func (e *vegetaEngine) abandon() { e.tr.CloseIdleConnections() }

// dial opens and tracks a connection. When as many dials as there are
// initial connections failed and none ever succeeded, the target is
// unreachable and the run stops.
//
// A failed dial returns after a back-off, which grows with the failures
// in a row (see backoff): a closed loop's worker would otherwise ask for
// its next connection at once, and spin on a failure that lasts, such as
// running out of descriptors. Meanwhile net/http may hand the request a
// connection another one freed.
func (e *vegetaEngine) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := e.dialer.DialContext(ctx, network, addr)
	e.mu.Lock()
	if err != nil {
		if e.a.opened.Load() == 0 {
			if e.dialFails++; e.dialFails >= e.a.o.Connections {
				go e.a.abort(&UnreachableError{Addr: addr, Err: rootCause(err)})
			}
		}
		d := e.backoff.next()
		e.mu.Unlock()
		if !e.a.open {
			pause(ctx, e.a.abortCh, d)
		}
		return nil, err
	}
	defer e.mu.Unlock()
	e.backoff = backoff{}
	e.a.opened.Add(1)
	tc := &trackedConn{Conn: c, e: e}
	e.conns[tc] = struct{}{}
	if e.a.aborted.Load() {
		c.Close()
	}
	return tc, nil
}

type trackedConn struct {
	net.Conn
	e    *vegetaEngine
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.e.mu.Lock()
		delete(c.e.conns, c)
		c.e.mu.Unlock()
	})
	return c.Conn.Close()
}

func (e *vegetaEngine) drive() {
	a := e.a
	e.s = a.newRecordBuf()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-a.abortCh:
			e.mu.Lock()
			if e.atk != nil {
				e.atk.Stop()
			}
			conns := make([]*trackedConn, 0, len(e.conns))
			for c := range e.conns {
				conns = append(conns, c)
			}
			e.mu.Unlock()
			for _, c := range conns {
				c.Conn.Close()
			}
		case <-done:
		}
	}()
	if a.measure > 0 {
		var p vegeta.Pacer = vegeta.ConstantPacer{}
		if a.open {
			p = initialPacer(a.o.Rate)
		}
		e.attack(p, 0, a.measure-1)
	}
	var p vegeta.Pacer = vegeta.ConstantPacer{}
	if a.open {
		p = a.o.Rate
	}
	e.attack(p, a.measure, a.end)
	e.tr.CloseIdleConnections()
}

// attack runs one vegeta attack from the offset from up to to. A closed
// loop stops on the clock; an open loop stops when its schedule has no
// hit left before to, so a hit due just before the end but sent after it
// (every worker was busy) is sent, as in the fast engine.
func (e *vegetaEngine) attack(p vegeta.Pacer, from, to int64) {
	a, o := e.a, e.a.o
	workers := uint64(o.Connections)
	maxWorkers := workers
	if a.open {
		maxWorkers = uint64(o.MaxConnections)
	}
	atk := vegeta.NewAttacker(
		vegeta.Client(e.client),
		vegeta.Redirects(o.Redirects),
		vegeta.MaxBody(0), // the body is counted (limitTransport), never kept
		vegeta.Workers(workers),
		vegeta.MaxWorkers(maxWorkers),
	)
	e.mu.Lock()
	e.atk = atk
	e.mu.Unlock()
	if a.aborted.Load() {
		return
	}
	var sched *schedule
	du := time.Duration(to - a.now())
	e.gate.Store(to)
	if a.open {
		w, release := a.openWaiter()
		if w == nil {
			return
		}
		defer release()
		sched = newSchedule(e, p, w, from, to, int(maxWorkers))
		p, du = sched, 0
	}
	e.sched.Store(sched)
	for res := range atk.Attack(e.targeter, p, du, o.Name) {
		if strings.HasSuffix(res.Error, errNotSent.Error()) {
			continue // held back by admit, never sent
		}
		if sched != nil {
			e.inflight.Add(-1)
		}
		e.s.add(e.record(res, sched))
	}
}

// admit tells whether a request vegeta is about to send may go. vegeta
// hands a hit to a worker once one is free, and a closed loop's workers
// are all busy while the server holds them: without this, each of them
// would send one more request when its timed-out one freed it, after the
// end, and the run would last the duration plus two timeouts. So a closed
// loop's request that starts at or after the end of its attack is not
// sent; nor is an open loop's hit that waited for a worker, every one of
// them busy (at the cap, MaxConnections), past the timeout of its
// scheduled time: it is unsent, as when the fast engine finds no
// connection for it in time. Either way the run ends when the fast
// engine's would: a timeout after the last request sent.
func (e *vegetaEngine) admit(req *http.Request) bool {
	a := e.a
	s := e.sched.Load()
	if s == nil {
		return a.now() < e.gate.Load()
	}
	seq, err := strconv.ParseUint(req.Header.Get("X-Vegeta-Seq"), 10, 64)
	if err == nil && e.inflight.Load() >= int64(a.o.MaxConnections)-1 {
		if at := s.at(seq); a.now()-at > int64(a.o.Timeout) {
			a.giveUp(e.s, at)
			return false
		}
	}
	e.inflight.Add(1)
	return true
}

// record turns a vegeta Result into a record.
func (e *vegetaEngine) record(res *vegeta.Result, sched *schedule) record {
	a := e.a
	sent := int64(res.Timestamp.Sub(a.origin))
	rec := record{start: sent, latency: int64(res.Latency), status: res.Code, worker: -1, bytesOut: uint32(res.BytesOut)}
	if sched != nil {
		if at := sched.at(res.Seq); at < sent {
			rec.start = at
			rec.late = sent - at
			rec.latency += rec.late
		}
	}
	if v := res.Headers.Get("X-Worker"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 32); err == nil && n >= 0 {
			rec.worker = int32(n)
		}
	}
	if v := res.Headers.Get(bodyBytesHeader); v != "" {
		if n, err := strconv.ParseUint(v, 10, 32); err == nil {
			rec.bytesIn = uint32(n)
		}
	}
	if k := errorKind(res.Code, res.Error); k != "" {
		rec.kind = kindByName[k]
		if rec.kind != kindBadStatus && res.Error != "" {
			msg := stripAddrs(res.Error)
			if rec.kind == kindConnect && !strings.HasPrefix(msg, connectPrefix) {
				msg = connectPrefix + msg
			}
			rec.msg = a.msgs.intern(msg)
		}
	}
	if rec.kind != kindOK && rec.kind != kindBadStatus {
		rec.status = 0 // no complete response
	}
	return rec
}

var kindByName = func() map[string]uint8 {
	m := map[string]uint8{}
	for k, n := range kindNames {
		m[n] = uint8(k)
	}
	return m
}()

// schedule is the Pacer the vegeta engine hands its Attacker in the open
// loop: it runs the run's pacer on the fast engine's virtual clock
// (hitClock), waits for each hit with the microsecond waiter instead of
// letting vegeta time.Sleep (whose overshoot, up to a millisecond on an
// idle machine, would show as lateness in every latency), and keeps each
// hit's scheduled time by its number, which is the Seq of its Result
// (results come back nearly in order: at most one per worker is
// outstanding). A hit the attacker asks for later than the timeout of
// its scheduled time is recorded as unsent, and the next one is paced.
//
// A hit handed to vegeta that waits for a free worker is sent late, its
// latency counted from its schedule; one that waited, every worker busy,
// past its timeout is not sent at all but counted as unsent (see admit).
type schedule struct {
	e       *vegetaEngine
	clock   hitClock
	w       *waiter
	ring    []atomic.Int64 // scheduled offsets by hit number, read by the results loop
	mask    uint64
	handed  int64 // when the last Pace returned a hit, -1 before
	lastAt  int64 // that hit's scheduled time
	backlog backlog
}

var _ vegeta.Pacer = (*schedule)(nil)

func newSchedule(e *vegetaEngine, p vegeta.Pacer, w *waiter, from, to int64, workers int) *schedule {
	n := 1024
	for n < 4*workers {
		n *= 2
	}
	return &schedule{e: e, clock: hitClock{p: p, from: from, to: to, seg: e.a.o.Segment}, w: w, ring: make([]atomic.Int64, n), mask: uint64(n - 1), handed: -1}
}

// Pace waits until hit number count's scheduled time and returns no
// wait; stop once the schedule is over or the run aborted.
//
// vegeta asks for the next hit once the last one went to a worker; when
// that took longer than the late threshold, every worker was busy (at
// the cap) and that hit waited for a response to come back: the
// server's backlog, as the fast engine's dispatcher counts it.
func (s *schedule) Pace(_ time.Duration, count uint64) (time.Duration, bool) {
	a := s.e.a
	if s.handed >= 0 && a.now()-s.handed > int64(a.o.LateThreshold) {
		s.backlog.on = true
		s.backlog.note(a, s.lastAt)
	}
	for {
		if a.stopping.Load() {
			return 0, true
		}
		at, ok := s.clock.next()
		if !ok {
			return 0, true
		}
		now := a.now()
		if now-at > int64(a.o.Timeout) {
			a.giveUp(s.e.s, at)
			continue
		}
		if err := s.w.wait(time.Duration(at - now)); err != nil {
			return 0, true
		}
		s.backlog.note(a, at)
		s.ring[count&s.mask].Store(at)
		s.handed, s.lastAt = a.now(), at
		return 0, false
	}
}

// Rate is the run's pacer's rate.
func (s *schedule) Rate(elapsed time.Duration) float64 { return s.clock.p.Rate(elapsed) }

// at returns hit seq's scheduled offset.
func (s *schedule) at(seq uint64) int64 { return s.ring[seq&s.mask].Load() }

// limitTransport counts response bodies and fails those over max bytes;
// it sends only the requests its engine admits (redirects always).
type limitTransport struct {
	rt  http.RoundTripper
	max int64
	e   *vegetaEngine
}

func (t limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Response == nil && t.e != nil && !t.e.admit(req) {
		return nil, errNotSent
	}
	resp, err := t.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &countedBody{ReadCloser: resp.Body, max: t.max, h: resp.Header}
	return resp, nil
}

type countedBody struct {
	io.ReadCloser
	n, max int64
	h      http.Header
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		return n, errBodyTooLarge
	}
	if err == io.EOF && b.h != nil {
		b.h.Set(bodyBytesHeader, strconv.FormatInt(b.n, 10))
	}
	return n, err
}
