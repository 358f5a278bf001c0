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
// name a model with its scheduler (results.Variant: "prefork-rr").
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
	Log     io.Writer // log lines; default os.Stderr
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
	return o
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

// ParseWorkers parses a worker count: a positive number, "max" (one per
// CPU), or "max-K" (K fewer, at least one), as pm2 -i accepts. Zero and
// negative numbers follow pm2 too: 0 is max, -K is max-K.
func ParseWorkers(s string, cpus int) (int, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("bad worker count %q: want a number, max or max-K", s)
	n, err := strconv.Atoi(s)
	switch {
	case err == nil && n > 0:
		if n > MaxWorkers {
			return 0, fmt.Errorf("bad worker count %d: at most %d", n, MaxWorkers)
		}
		return n, nil
	case err == nil:
		return max(cpus+n, 1), nil
	case s == "max":
		return cpus, nil
	case strings.HasPrefix(s, "max-"):
		k, err := strconv.Atoi(s[len("max-"):])
		if err != nil || k < 0 {
			return 0, bad
		}
		return max(cpus-k, 1), nil
	}
	return 0, bad
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
