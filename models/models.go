// Package models is the small contract the three server models share: their
// options, the readiness report, and the HTTP serving loop with its graceful
// drain.
//
// A model owns the process it runs in: it may set GOMAXPROCS and CPU
// affinity, which is why the suite always runs a model as its own
// `bench serve` child and never in the load generator's process.
package models

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Model names, as `bench serve --model` takes them. Results and charts
// name a model with its scheduler (variant.Variant: "prefork-rr").
const (
	SingleCore = "singlecore"
	Goroutines = "goroutines"
	Prefork    = "prefork"
)

// Scheduling policies of the prefork model.
const (
	SchedRR        = "rr"
	SchedOS        = "os"
	SchedReusePort = "reuseport"
	SchedSticky    = "sticky"
)

// DefaultAddr is where a server listens unless told otherwise: loopback only.
const DefaultAddr = "127.0.0.1:8080"

// MaxWorkers is the most worker processes (or GOMAXPROCS) a server runs.
const MaxWorkers = 4096

// DefaultGrace is how long a draining server waits for requests in flight.
const DefaultGrace = 10 * time.Second

// Options configure any model. The zero value of each field means its
// default.
type Options struct {
	Addr     string        // listen address; default DefaultAddr, port 0 picks a free port
	Workers  int           // prefork: worker processes; goroutines: GOMAXPROCS; singlecore: always 1
	CPUs     []int         // pin the server's processes to these CPUs; none means no pinning
	Chaos    bool          // enable /crash
	CPUIters int           // default work of /cpu; 0 means workload.DefaultCPUIters
	Grace    time.Duration // drain limit on shutdown; default DefaultGrace
	State    string        // URL of a store for /counter/shared and /session (redis://...); empty: the model's own
	// EventLoop runs each process's handler code one request at a time,
	// in arrival order (workload.EventLoop), as a Node.js process does;
	// singlecore and prefork only.
	EventLoop bool
	// Startup is how long a process takes to get ready before it listens
	// (prefork: each worker, each time it starts), standing in for an
	// app's loading, as real ones take; default none.
	Startup time.Duration
	// Timeouts bound how long a client may take; zero fields take the
	// defaults, as Node's http.Server has them.
	Timeouts Timeouts
	Log      io.Writer // log lines; default os.Stderr
	// Ready is called once, when every worker accepts connections.
	Ready func(Info)
}

// WithDefaults returns o with its zero fields set to their defaults.
func (o Options) WithDefaults() Options {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if o.Ready == nil {
		o.Ready = func(Info) {}
	}
	o.Timeouts = o.Timeouts.WithDefaults()
	return o
}

// The limits a server puts on its clients unless told otherwise: Node's
// http.Server's (headersTimeout, requestTimeout and keepAliveTimeout in
// lib/_http_server.js, Node 20), so that every model, and the Node
// examples beside them, treat a slow client alike.
const (
	DefaultHeaderTimeout  = 60 * time.Second
	DefaultRequestTimeout = 300 * time.Second
	DefaultIdleTimeout    = 5 * time.Second
)

// Timeouts bound how long a client may hold a connection without making
// progress: a slow or stalled one (slowloris) would otherwise keep its
// descriptor, and with enough of them nobody else gets one. Zero fields
// take the defaults; a negative one is no limit.
type Timeouts struct {
	Header  time.Duration // to send a request's headers, from its first byte; default DefaultHeaderTimeout
	Request time.Duration // to send a whole request, body included; default DefaultRequestTimeout
	Idle    time.Duration // a kept-alive connection waits this long for its next request; default DefaultIdleTimeout
}

// WithDefaults returns t with its zero fields set to the defaults.
func (t Timeouts) WithDefaults() Timeouts {
	if t.Header == 0 {
		t.Header = DefaultHeaderTimeout
	}
	if t.Request == 0 {
		t.Request = DefaultRequestTimeout
	}
	if t.Idle == 0 {
		t.Idle = DefaultIdleTimeout
	}
	return t
}

// Info describes a server that is ready.
type Info struct {
	Addr    string `json:"addr"`  // the address actually bound, host:port
	Model   string `json:"model"` // SingleCore, Goroutines or Prefork
	Sched   string `json:"sched"` // prefork's policy; "go" for goroutines, "none" for singlecore
	Workers int    `json:"workers"`
	PID     int    `json:"pid"`               // the server's (master's) pid
	Control string `json:"control,omitempty"` // prefork: the control socket's path, if any
}

// URL returns the server's base URL.
func (i Info) URL() string { return "http://" + i.Addr }

// Name returns the model's name as results and charts use it:
// singlecore, goroutines, prefork-rr, prefork-os, ...
func (i Info) Name() string {
	if i.Model == Prefork {
		return Prefork + "-" + i.Sched
	}
	return i.Model
}

// Line is the one line `bench serve` prints on stdout when ready. Tools
// wait for it and parse "listening on http://HOST:PORT" out of it.
func (i Info) Line() string {
	s := fmt.Sprintf("listening on %s model=%s sched=%s workers=%d pid=%d", i.URL(), i.Model, i.Sched, i.Workers, i.PID)
	if i.Control != "" {
		s += " control=" + i.Control
	}
	return s
}

// ParseWorkers parses the worker count a server starts with, for cpus
// CPUs: N (1 to MaxWorkers), max (one per CPU) or max-K (K fewer, one at
// least), as pm2 -i takes them. pm2 -i also reads 0 as max and -K as
// max-K; those are refused here with the spelling to use, because bench
// scale, like pm2 scale, reads -K as K fewer than now.
func ParseWorkers(s string, cpus int) (int, error) {
	c, err := ParseCount(s)
	if err != nil {
		return 0, err
	}
	if c.Relative() {
		if c.n < 0 {
			return 0, fmt.Errorf("%s workers: a negative count is relative, for bench scale only; for %d fewer than the CPUs write max-%d (what pm2 -i %s means)", s, -c.n, -c.n, s)
		}
		return 0, fmt.Errorf("%s workers: a relative count is for bench scale only; write %d", s, c.n)
	}
	return c.Resolve(0, cpus)
}

// Count is a worker count as written: N, max, max-K, or +N or -N, N
// more or fewer than the server runs now (bench scale only).
type Count struct {
	s   string
	max bool // max or max-K: n is -K
	rel bool // +N or -N: n is the change
	n   int
}

// ParseCount checks the spelling of a worker count; Resolve says what it
// comes to.
func ParseCount(s string) (Count, error) {
	c := Count{s: s}
	digits := func(d string) (int, bool) {
		if d == "" || strings.Trim(d, "0123456789") != "" || len(d) > 6 {
			return 0, false
		}
		v, err := strconv.Atoi(d)
		return v, err == nil
	}
	var ok bool
	switch {
	case s == "max":
		c.max, ok = true, true
	case strings.HasPrefix(s, "max-"):
		c.max = true
		c.n, ok = digits(s[len("max-"):])
		c.n = -c.n
	case strings.HasPrefix(s, "+"), strings.HasPrefix(s, "-"):
		c.rel = true
		c.n, ok = digits(s[1:])
		ok = ok && c.n > 0
		if s[0] == '-' {
			c.n = -c.n
		}
	default:
		c.n, ok = digits(s)
		if ok && c.n == 0 {
			return c, errors.New("0 workers: want 1 or more (pm2 -i 0 means one per CPU: write max)")
		}
	}
	if !ok {
		return c, fmt.Errorf("bad worker count %q: want N, max or max-K (bench scale also +N and -N)", s)
	}
	return c, nil
}

// Relative reports whether c counts from the workers running (+N, -N).
func (c Count) Relative() bool { return c.rel }

// IsMax reports whether c counts from the CPUs (max, max-K).
func (c Count) IsMax() bool { return c.max }

// Resolve returns the number of workers c means for a server running cur
// workers on cpus CPUs, or why it means none: fewer than 1 or more than
// MaxWorkers.
func (c Count) Resolve(cur, cpus int) (int, error) {
	var n int
	switch {
	case c.max:
		n = cpus + c.n
		if n < 1 {
			most := "max"
			if cpus > 1 {
				most = fmt.Sprintf("max-%d", cpus-1)
			}
			return 0, fmt.Errorf("%s leaves no worker on %s: at most %s", c.s, plural(cpus, "CPU"), most)
		}
	case c.rel:
		n = cur + c.n
		if n < 1 {
			most := "at most -" + strconv.Itoa(cur-1)
			if cur == 1 {
				most = "it runs one only"
			}
			return 0, fmt.Errorf("%s from %s leaves none: %s", c.s, plural(cur, "worker"), most)
		}
	default:
		n = c.n
	}
	if n > MaxWorkers {
		return 0, fmt.Errorf("%s is %d workers: at most %d", c.s, n, MaxWorkers)
	}
	return n, nil
}

// plural returns n and what it counts, an s added unless n is 1.
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// Listen opens a TCP listener with an error message that says what to do.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, ListenError(addr, err)
	}
	return ln, nil
}

// ListenError explains a failure to listen on addr.
func ListenError(addr string, err error) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("cannot listen on %s: address already in use; stop what is using it or pick another with --addr (127.0.0.1:0 picks a free port)", addr)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("cannot listen on %s: permission denied; ports below 1024 need privileges, pick another with --addr", addr)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("cannot listen on %s: no such local address; use 127.0.0.1 or an address of this machine", addr)
	}
	return fmt.Errorf("cannot listen on %s: %v", addr, err)
}
