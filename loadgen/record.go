package loadgen

import (
	"errors"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/corebench/corebench/results"
)

// record is what the hot path keeps of one request: fixed size, no
// pointers, so buffers of records cost the garbage collector nothing.
type record struct {
	start    int64  // ns since the run's origin: when the request was scheduled (open loop; when it left, if early) or started
	latency  int64  // ns from start to the complete response, or to the failure
	late     int64  // open loop: ns from the scheduled time to the actual send
	bytesIn  uint32 // response body bytes
	bytesOut uint32 // request body bytes sent
	worker   int32  // X-Worker, -1 when none
	status   uint16 // 0 when no response
	kind     uint8  // kindOK or the error kind
	msg      uint8  // index in the run's message table, 0 for the kind's phrase
}

// Error kinds as small numbers; kindNames maps them to results' names.
const (
	kindOK uint8 = iota
	kindRefused
	kindReset
	kindClosed
	kindTimeout
	kindBadStatus
	kindMalformed
	kindOther
	kindConnect
	numKinds
	// kindUnsent is an open-loop request that could not be sent within
	// the timeout of its scheduled time: latency is how long it waited.
	// It is no request (the aggregator counts it apart), so it has no
	// name, phrase or message.
	kindUnsent = numKinds
)

var kindNames = [numKinds]string{"", results.ErrRefused, results.ErrReset, results.ErrClosed, results.ErrTimeout, results.ErrBadStatus, results.ErrMalformed, results.ErrOther, results.ErrConnect}

// kindPhrase is the error text of a record without a message of its own,
// worded so that errorKind reads it back as the same kind.
var kindPhrase = [numKinds]string{"", "connection refused", "connection reset by peer",
	"unexpected EOF: the server closed the connection before the response was complete",
	"timeout: no complete response in time", "", "malformed response", "error", connectPrefix + "no connection could be opened"}

// connectPrefix begins the text of every connect failure, so that
// errorKind reads a results file's back as the same kind.
const connectPrefix = "cannot connect: "

// complete reports whether the request got a whole response, whatever
// its status: only those have a latency worth a percentile.
func (r *record) complete() bool { return r.kind == kindOK || r.kind == kindBadStatus }

// recordBuf is where one connection (or one engine goroutine) records: its own
// buffer under its own mutex, which only the collector contends for, once
// per SeriesInterval.
type recordBuf struct {
	mu    sync.Mutex
	buf   []record
	spare []record    // the collector's, swapped with buf
	conn  net.Conn    // the fast engine's current connection, closed on abort
	dirty atomic.Bool // buf holds records: lets the collector skip idle buffers without locking
}

func (s *recordBuf) add(r record) {
	s.mu.Lock()
	if len(s.buf) == 0 {
		s.dirty.Store(true)
	}
	s.buf = append(s.buf, r)
	s.mu.Unlock()
}

// swap hands the collector what s recorded since the last swap. A record
// added while swap runs is there at the next swap.
func (s *recordBuf) swap() []record {
	if !s.dirty.Load() {
		return nil
	}
	s.mu.Lock()
	full := s.buf
	s.buf = s.spare[:0]
	s.dirty.Store(false)
	s.mu.Unlock()
	s.spare = full
	return full
}

// msgTable interns error messages, so a record carries one byte for them.
// Messages here come from a small fixed set (parser errors, errno texts,
// vegeta's error strings with addresses stripped); past 255 distinct ones
// records fall back to their kind's phrase.
type msgTable struct {
	mu    sync.Mutex
	list  []string
	index map[string]uint8
}

func (t *msgTable) intern(s string) uint8 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i, ok := t.index[s]; ok {
		return i
	}
	if len(t.list) >= 255 {
		return 0
	}
	if t.index == nil {
		t.index = map[string]uint8{}
		t.list = []string{""}
	}
	i := uint8(len(t.list))
	t.list = append(t.list, s)
	t.index[s] = i
	return i
}

func (t *msgTable) get(i uint8) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if int(i) < len(t.list) {
		return t.list[i]
	}
	return ""
}

// classify returns the kind of a request's failure and a message free of
// addresses and ports, so the message table stays small.
func classify(err error) (kind uint8, msg string) {
	var pe *parseError
	var errno syscall.Errno
	var ne net.Error
	var op *net.OpError
	switch {
	case errors.As(err, &op) && op.Op == "dial" && !errors.Is(err, syscall.ECONNREFUSED) &&
		!errors.Is(err, syscall.ETIMEDOUT) && !(errors.As(err, &ne) && ne.Timeout()):
		// No connection could be opened, for want of something on this
		// side (descriptors, ports, a route), not because the server
		// refused it or did not answer in time.
		return kindConnect, connectPrefix + rootCause(err).Error()
	case errors.As(err, &pe):
		return kindMalformed, pe.Error()
	case errors.Is(err, io.ErrUnexpectedEOF):
		return kindClosed, kindPhrase[kindClosed]
	case errors.Is(err, io.EOF):
		return kindClosed, "EOF: the server closed the connection before responding"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return kindTimeout, kindPhrase[kindTimeout]
	case errors.As(err, &errno):
		switch errno {
		case syscall.ECONNREFUSED:
			return kindRefused, errno.Error()
		case syscall.ECONNRESET, syscall.EPIPE, syscall.ECONNABORTED:
			return kindReset, errno.Error()
		case syscall.ETIMEDOUT:
			return kindTimeout, "timeout: " + errno.Error()
		}
		return kindOther, errno.Error()
	case errors.As(err, &ne) && ne.Timeout():
		return kindTimeout, kindPhrase[kindTimeout]
	}
	return kindOther, stripAddrs(err.Error())
}

// errorKind tells the kind of a vegeta Result from its status code and
// error text: the inverse of the phrases above, and it understands
// net/http's and vegeta's own error texts.
func errorKind(code uint16, errText string) string {
	if errText == "" {
		if code >= 400 {
			return results.ErrBadStatus
		}
		if code == 0 {
			return results.ErrOther
		}
		return ""
	}
	e := strings.ToLower(errText)
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(e, s) {
				return true
			}
		}
		return false
	}
	switch {
	case code >= 400:
		return results.ErrBadStatus
	case has("connection refused"):
		return results.ErrRefused
	case has("connection reset", "broken pipe", "connection aborted"):
		return results.ErrReset
	case has("timeout", "deadline exceeded", "timed out"):
		return results.ErrTimeout
	case has(connectPrefix, "dial tcp", "dial unix"):
		// net/http's "dial tcp ADDR: socket: too many open files".
		return results.ErrConnect
	case has("malformed", "body over the size limit", "invalid", "bad chunk", "unsupported transfer", "too large",
		"response headers exceeded", "header list larger"):
		return results.ErrMalformed
	case has("eof", "server closed", "connection closed", "closed the connection"):
		return results.ErrClosed
	case code > 0 && code < 400:
		// vegeta marks 1xx as errors with the status text.
		return results.ErrOther
	}
	return results.ErrOther
}

// netPrefix matches the parts of net and net/http error texts that name
// addresses and ports ("Get \"http://h/\": ", "read tcp 1.2.3.4:5->6.7.8.9:80: ";
// net/http writes the method as Get, not GET).
var netPrefix = regexp.MustCompile(`^[A-Z][A-Za-z]* "[^"]*": |(?:dial|read|write) (?:tcp|tcp4|tcp6|unix) \S+: `)

// stripAddrs removes addresses and ports from a network error's text,
// keeping what went wrong.
func stripAddrs(s string) string { return netPrefix.ReplaceAllString(s, "") }
