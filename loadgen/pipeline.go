package loadgen

import (
	"errors"
	"io"
	"math"
	"net"
	"sync/atomic"
	"time"
)

// HTTP/1.1 pipelining (Options.Pipeline > 1): a connection keeps up to N
// requests written and unanswered, as autocannon -p does (wrk's
// pipeline.lua writes N and waits for all N before the next N). Responses
// come back in the order of the requests, so each one completes the
// oldest request outstanding: the connection keeps them in a FIFO, each
// with the time it was due and the time it was written, and a request's
// latency runs from the earlier of the two to its response, waiting
// behind the earlier requests included.

// pending is a request written on a pipelined connection and not yet
// answered: when it was due (sched) and when it was first written (sent),
// in ns since the run's origin. In the closed loop the two are one.
type pending struct{ sched, sent int64 }

// pipe is the FIFO of a connection's outstanding requests, a ring of
// Options.Pipeline entries.
type pipe struct {
	q       []pending
	head, n int
	// rewrite is how many of the oldest entries were written on a
	// connection that closed without answering them (after a response
	// with Connection: close): they are written again, first, on the
	// next connection, and counted once.
	rewrite int
}

func (p *pipe) push(e pending) {
	p.q[(p.head+p.n)%len(p.q)] = e
	p.n++
}

func (p *pipe) pop() pending {
	e := p.q[p.head]
	p.head = (p.head + 1) % len(p.q)
	p.n--
	return e
}

// errDrained is what a pipelined connection reads when it has nothing
// outstanding and may send nothing more: the run is over for it.
var errDrained = errors.New("nothing outstanding")

// pipeSrc is what a pipelined connection's parser reads from: before each
// read that may block, it writes requests into the free places, so that
// the connection waits for the server with Pipeline requests in flight,
// and the free places are filled by one write, not one per response.
type pipeSrc struct{ c *fconn }

func (s pipeSrc) Read(b []byte) (int, error) {
	c := s.c
	if c.wErr == nil {
		// A failed write leaves the requests in the FIFO; the read that
		// follows tells how the connection ended (a response that was
		// already coming may still arrive whole).
		c.wErr = c.topUp()
	}
	if c.p.n == 0 {
		return 0, errDrained
	}
	c.pipeDeadline()
	return c.conn.Read(b)
}

// topUp writes the requests to resend and, before the end, new ones into
// every free place, all in one write.
func (c *fconn) topUp() error {
	a, p := c.a, &c.p
	k := p.rewrite
	if p.n < len(p.q) && !a.stopping.Load() {
		if t := a.now(); t < a.end {
			for p.n < len(p.q) {
				p.push(pending{t, t})
				k++
			}
		}
	}
	if k == 0 {
		return nil
	}
	p.rewrite = 0
	c.pipeDeadline()
	_, err := c.conn.Write(c.e.reqs[:k*len(c.e.req)])
	return err
}

// pipeDeadline bounds the oldest outstanding request by the timeout, from
// when it was written, within 10% (see Options.Timeout): the others were
// written after it.
func (c *fconn) pipeDeadline() {
	e := c.e
	if h := c.p.q[c.p.head].sent; c.deadline-h < e.timeout-e.timeout/10 {
		c.deadline = h + e.timeout
		c.conn.SetDeadline(c.a.origin.Add(time.Duration(c.deadline)))
	}
}

// closedPipeline is closedLoop with Pipeline requests in flight: it reads
// responses, each completing the oldest request, and pipeSrc writes new
// ones when the parser needs more bytes. After the end it writes nothing
// new and reads what is outstanding.
func (c *fconn) closedPipeline() {
	defer c.e.wg.Done()
	defer c.close()
	a, e, p := c.a, c.e, &c.p
	src := pipeSrc{c}
	for !a.stopping.Load() {
		if p.n == 0 && a.now() >= a.end {
			return
		}
		if c.conn == nil {
			nc, err := e.dialer.DialContext(a.ctx, "tcp", e.addr)
			if err != nil {
				if p.n == 0 {
					// As do counts it: the request this connection was
					// opened for failed.
					t := a.now()
					c.s.add(c.fail(record{start: t, worker: -1}, err))
				}
				c.failAll(err)
				if !c.backOff() {
					return
				}
				continue
			}
			c.backoff = backoff{}
			a.opened.Add(1)
			c.attach(nc)
			c.wErr = nil
		}
		err := c.rd.readResponse(src, e.head, e.maxBody, &c.resp)
		switch {
		case err == errDrained:
			return
		case err != nil:
			c.failAll(err)
			continue
		}
		c.s.add(c.answered(p.pop(), &c.resp))
		if c.resp.close {
			// The server answers nothing after this response: what is
			// outstanding goes again on a new connection.
			p.rewrite = p.n
			c.close()
		}
	}
}

// answered is the record of request q, whose response r just completed.
func (c *fconn) answered(q pending, r *response) record {
	rec := record{start: min(q.sched, q.sent), late: q.sent - q.sched, worker: r.worker}
	rec.latency = c.a.now() - rec.start
	rec.status = uint16(r.status)
	rec.bytesIn = uint32(min(r.bodyLen, math.MaxUint32))
	rec.bytesOut = uint32(len(c.a.o.Body))
	if r.status >= 400 {
		rec.kind = kindBadStatus
	}
	return rec
}

// failAll records every outstanding request as failed by err and drops
// the connection: k requests in flight on a connection that fails are k
// failures. The oldest was being read; the others had nothing of their
// response yet, so an end of stream in the middle of the oldest's is, for
// them, one before their response.
func (c *fconn) failAll(err error) {
	p := &c.p
	for i := 0; p.n > 0; i++ {
		if i == 1 && errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF
		}
		c.s.add(c.failed(p.pop(), err))
	}
	p.rewrite = 0
	c.close()
}

// In the open loop a pipelined connection takes a hit whenever it has
// fewer than Pipeline requests outstanding, and writes it at once: its
// goroutine waits for hits and writes them, a reader goroutine per TCP
// connection (a link) reads the responses. Pipeline tokens bound what is
// outstanding: the writer takes one before it takes a hit, the reader
// gives it back when the request is answered or failed.

// link is one TCP connection of a pipelined open-loop connection.
type link struct {
	nc   net.Conn
	fifo chan pending  // written and unanswered, in order; the writer closes it when done with the link
	dead chan struct{} // closed by the reader when the link can carry no more
	out  atomic.Int32  // outstanding, for ProbeIdle
	werr atomic.Value  // the writer's failed write, an error: the reader reports it
	rd   *respReader
	resp response
	rdl  int64 // the read deadline, ns offset (reader's)
	wdl  int64 // the write deadline, ns offset (writer's)
}

// linkSrc is what a link's parser reads from while it reads the response
// to q: the read deadline follows the oldest request, q.
type linkSrc struct {
	c *fconn
	l *link
	q pending
}

func (s linkSrc) Read(b []byte) (int, error) {
	l, e := s.l, s.c.e
	if l.rdl-s.q.sent < e.timeout-e.timeout/10 {
		l.rdl = s.q.sent + e.timeout
		l.nc.SetReadDeadline(s.c.a.origin.Add(time.Duration(l.rdl)))
	}
	return l.nc.Read(b)
}

// openPipeline is openLoop with Pipeline requests in flight.
func (c *fconn) openPipeline(first int64) {
	defer c.e.wg.Done()
	a := c.a
	n := len(c.p.q)
	c.tokens = make(chan struct{}, n)
	c.retry = make(chan pending, n)
	for range n {
		c.tokens <- struct{}{}
	}
	if c.conn != nil {
		c.newLink(c.conn)
		c.conn = nil
	}
	defer func() {
		c.dropLink()
		c.readers.Wait()
		c.s.mu.Lock()
		c.s.conn = nil
		c.s.mu.Unlock()
	}()
	mine := 0 // tokens in hand: n - mine requests are outstanding
	if first >= 0 {
		<-c.tokens
		mine++
		if c.pwrite(pending{first, a.now()}) {
			mine--
		}
	}
	tickets := c.e.tickets
	for {
		if tickets == nil && mine == n {
			return // the schedule is over and every request answered
		}
		var tk <-chan int64
		var tokens chan struct{}
		if tickets != nil && mine > 0 {
			tk = tickets
		} else {
			tokens = c.tokens
		}
		var dead chan struct{}
		if c.cur != nil {
			dead = c.cur.dead
		}
		select {
		case <-tokens:
			mine++
		case sched, ok := <-tk:
			if !ok {
				tickets = nil
				continue
			}
			if c.pwrite(pending{sched, a.now()}) {
				mine--
			}
		case q := <-c.retry:
			if !c.pwrite(q) {
				mine++
			}
		case <-dead:
			c.dropLink()
		case <-a.abortCh:
			return
		}
	}
}

// pwrite writes request q on the current link, opening one when there is
// none; it reports whether q is outstanding. A q that could not be sent
// is recorded as failed.
func (c *fconn) pwrite(q pending) bool {
	a, e := c.a, c.e
	if l := c.cur; l != nil {
		select {
		case <-l.dead:
			c.dropLink()
		default:
			if a.o.ProbeIdle && l.out.Load() == 0 && linkClosed(l.nc) {
				c.dropLink() // closed while idle: not q's failure
			}
		}
	}
	if c.cur == nil {
		nc, err := e.dialer.DialContext(a.ctx, "tcp", e.addr)
		if err != nil {
			c.s.add(c.failed(q, err))
			return false
		}
		a.opened.Add(1)
		c.newLink(nc)
	}
	l := c.cur
	l.out.Add(1)
	l.fifo <- q // never blocks: the tokens bound what is outstanding
	if now := a.now(); l.wdl-now < e.timeout-e.timeout/10 {
		l.wdl = now + e.timeout
		l.nc.SetWriteDeadline(a.origin.Add(time.Duration(l.wdl)))
	}
	if _, err := l.nc.Write(e.req); err != nil {
		// The reader fails q and what follows it with this error, once
		// it has read the answers already on their way: only the
		// writing half is closed, as closedPipeline does.
		l.werr.Store(err)
		if tc, ok := l.nc.(*net.TCPConn); !ok || tc.CloseWrite() != nil {
			l.nc.Close()
		}
		c.dropLink()
	}
	return true
}

// newLink makes nc the current link and starts its reader.
func (c *fconn) newLink(nc net.Conn) {
	l := &link{nc: nc, fifo: make(chan pending, len(c.p.q)), dead: make(chan struct{}), rd: newRespReader()}
	c.cur = l
	c.s.mu.Lock()
	c.s.conn = nc
	c.s.mu.Unlock()
	if c.a.aborted.Load() {
		nc.Close() // abort may have missed it
	}
	c.readers.Add(1)
	go c.readLink(l)
}

// dropLink stops writing on the current link; its reader reads what is
// outstanding on it, if it still can, and ends.
func (c *fconn) dropLink() {
	if l := c.cur; l != nil {
		close(l.fifo)
		select {
		case <-l.dead:
		default:
			if l.out.Load() == 0 {
				l.nc.Close()
			}
		}
		c.cur = nil
	}
}

// readLink reads the responses of a link's requests, in order. After a
// response with Connection: close the rest goes back to the writer to be
// sent again; after an error the rest fails with it.
func (c *fconn) readLink(l *link) {
	defer c.readers.Done()
	e := c.e
	for q := range l.fifo {
		err := l.rd.readResponse(linkSrc{c, l, q}, e.head, e.maxBody, &l.resp)
		if err != nil {
			if w, ok := l.werr.Load().(error); ok {
				err = w
			}
			l.nc.Close()
			close(l.dead)
			c.s.add(c.failed(q, err))
			c.tokens <- struct{}{}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = io.EOF // the others had nothing of their response yet
			}
			for q := range l.fifo {
				c.s.add(c.failed(q, err))
				c.tokens <- struct{}{}
			}
			return
		}
		c.s.add(c.answered(q, &l.resp))
		l.out.Add(-1)
		c.tokens <- struct{}{}
		if l.resp.close {
			l.nc.Close()
			close(l.dead)
			for q := range l.fifo {
				c.retry <- q
			}
			return
		}
	}
	// The writer dropped the link with nothing outstanding.
	l.nc.Close()
}

// failed is the record of request q failed by err.
func (c *fconn) failed(q pending, err error) record {
	rec := record{start: min(q.sched, q.sent), late: q.sent - q.sched, worker: -1}
	rec.latency = c.a.now() - rec.start
	var msg string
	rec.kind, msg = classify(err)
	if msg != kindPhrase[rec.kind] {
		rec.msg = c.a.msgs.intern(msg)
	}
	return rec
}
