package loadgen

import (
	"errors"
	"io"
	"math"
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
// read that may block, it writes requests into the free slots, so that
// the connection waits for the server with Pipeline requests in flight,
// and the free slots are filled by one write, not one per response.
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
// every free slot, all in one write.
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
				continue
			}
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
		c.s.add(c.answered(p.pop()))
		if c.resp.close {
			// The server answers nothing after this response: what is
			// outstanding goes again on a new connection.
			p.rewrite = p.n
			c.close()
		}
	}
}

// answered is the record of request q, whose response c.resp just
// completed.
func (c *fconn) answered(q pending) record {
	rec := record{start: min(q.sched, q.sent), late: q.sent - q.sched, worker: c.resp.worker}
	rec.latency = c.a.now() - rec.start
	rec.status = uint16(c.resp.status)
	rec.bytesIn = uint32(min(c.resp.bodyLen, math.MaxUint32))
	rec.bytesOut = uint32(len(c.a.o.Body))
	if c.resp.status >= 400 {
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
	if p.n > 0 {
		now := c.a.now()
		for i := 0; p.n > 0; i++ {
			if i == 1 && errors.Is(err, io.ErrUnexpectedEOF) {
				err = io.EOF
			}
			q := p.pop()
			rec := record{start: min(q.sched, q.sent), late: q.sent - q.sched, worker: -1}
			rec.latency = now - rec.start
			var msg string
			rec.kind, msg = classify(err)
			if msg != kindPhrase[rec.kind] {
				rec.msg = c.a.msgs.intern(msg)
			}
			c.s.add(rec)
		}
	}
	p.rewrite = 0
	c.close()
}
