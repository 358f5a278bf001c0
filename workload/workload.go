// Package workload is the one HTTP handler every model serves, so that the
// models differ only in how they use the machine, never in what they do.
//
// The handler sits on the measured path: it allocates nothing it can
// precompute, routes with a switch, and keeps per-process state in atomics.
// The only state meant to be shared across processes is reached through the
// Counter a model passes in; everything else is per process on purpose, since
// showing what breaks when state is per process is one of the lessons.
package workload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"
)

// Limits on query parameters, so a request can never tie up a worker for
// long: larger values get 400.
const (
	// MaxCPUIters allows the event-loop lesson's ~200 ms CPU task (2.5M
	// rounds at 80 ns) with room for a slower core: about 0.8 s here.
	MaxCPUIters = 10_000_000
	MaxIOMs     = 30_000
)

// DefaultCPUIters is the default work of /cpu: about 0.2 ms per request on
// the 2-core AMD EPYC the project measures on (80 ns per SHA-256 round).
const DefaultCPUIters = 2500

// DefaultIOMs is the default wait of /io.
const DefaultIOMs = 10

// Counter is a counter shared by every worker of a server.
type Counter interface {
	// Add adds delta and returns the new value.
	Add(ctx context.Context, delta int64) (int64, error)
}

// LocalCounter is a Counter for a server that is a single process.
type LocalCounter struct{ v atomic.Int64 }

// Add adds delta and returns the new value.
func (c *LocalCounter) Add(_ context.Context, delta int64) (int64, error) {
	return c.v.Add(delta), nil
}

// AboutPath is where every corebench server describes itself, as an About
// in JSON. A load generator reads it once before a run to learn how many
// workers the server runs, so that a worker serving nothing counts in the
// fairness. It is answered off the routing of the measured endpoints, which
// pay nothing for it.
const AboutPath = "/.well-known/corebench"

// About is the body of AboutPath. Workers is the contract; the other
// fields help a reader.
type About struct {
	Server string `json:"server"` // "corebench"
	Model  string `json:"model,omitempty"`
	Sched  string `json:"sched,omitempty"`
	// Workers is how many worker processes the server runs, each with its
	// own X-Worker slot (0 to Workers-1): 1 for singlecore and goroutines,
	// N for prefork, following bench scale.
	Workers    int `json:"workers"`
	Slot       int `json:"slot"`       // the worker that answered
	PID        int `json:"pid"`        // its pid
	GOMAXPROCS int `json:"gomaxprocs"` // its GOMAXPROCS
}

// Config configures a Handler. The zero value is valid: slot 0, this
// process's pid, /crash disabled, DefaultCPUIters, a process-local shared
// counter and session store.
type Config struct {
	Slot     int      // reported in X-Worker
	PID      int      // reported in X-Worker-Pid; 0 means os.Getpid()
	Chaos    bool     // enables /crash
	CPUIters int      // default n of /cpu; 0 means DefaultCPUIters
	Shared   Counter  // backs /counter/shared; nil means a LocalCounter
	Sessions Sessions // backs /session; nil means this process's memory
	// About returns what AboutPath reports of the server as a whole
	// (Model, Sched, Workers; the handler fills in the rest); nil means a
	// server of one process.
	About func(ctx context.Context) (About, error)
	// Exit ends the process for /crash; nil means os.Exit.
	Exit func(code int)
	// Log receives the handler's few log lines; nil means os.Stderr.
	Log io.Writer
	// Loop, when set, runs handler code one request at a time (see
	// EventLoop): serve Handler.Serving, and /io leaves the loop while
	// it waits. nil: requests run concurrently, as Go serves them.
	Loop *EventLoop
}

// Handler serves the workload endpoints. Create it with New.
type Handler struct {
	cfg      Config
	local    atomic.Int64 // /counter: one per process, on purpose
	served   atomic.Int64
	inFlight atomic.Int64

	worker, pid []string // header values, built once
}

// New returns a Handler for cfg.
func New(cfg Config) *Handler {
	if cfg.PID == 0 {
		cfg.PID = os.Getpid()
	}
	if cfg.CPUIters <= 0 {
		cfg.CPUIters = DefaultCPUIters
	}
	if cfg.Shared == nil {
		cfg.Shared = &LocalCounter{}
	}
	if cfg.Sessions == nil {
		cfg.Sessions = &LocalSessions{}
	}
	if cfg.Exit == nil {
		cfg.Exit = os.Exit
	}
	if cfg.Log == nil {
		cfg.Log = os.Stderr
	}
	return &Handler{
		cfg:    cfg,
		worker: []string{strconv.Itoa(cfg.Slot)},
		pid:    []string{strconv.Itoa(cfg.PID)},
	}
}

// Stats returns the requests this handler has completed and those it is
// serving now.
func (h *Handler) Stats() (served, inFlight int64) {
	return h.served.Load(), h.inFlight.Load()
}

var (
	hdrServer    = []string{"corebench"}
	hdrText      = []string{"text/plain; charset=utf-8"}
	hdrJSON      = []string{"application/json"}
	helloBody    = []byte("Hello, World!")
	jsonMessage  = "Hello, World!"
	notFoundBody = []byte("404 page not found\n")
)

// ServeHTTP routes by exact path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.inFlight.Add(1)
	hd := w.Header()
	hd["Server"] = hdrServer
	hd["X-Worker"] = h.worker
	hd["X-Worker-Pid"] = h.pid
	switch r.URL.Path {
	case "/":
		hd["Content-Type"] = hdrText
		w.Write(helloBody)
	case "/json":
		// Serialised per request, as the TechEmpower JSON test requires.
		b, _ := json.Marshal(struct {
			Message string `json:"message"`
		}{jsonMessage})
		h.write(w, http.StatusOK, hdrJSON, b)
	case "/cpu":
		h.cpu(w, r)
	case "/io":
		h.io(w, r)
	case "/counter":
		h.counter(w, h.local.Add(1))
	case "/counter/shared":
		v, err := h.cfg.Shared.Add(r.Context(), 1)
		if err != nil {
			h.error(w, http.StatusServiceUnavailable, "shared counter unavailable: "+err.Error())
			break
		}
		h.counter(w, v)
	case "/session", "/session/me":
		h.session(w, r)
	case "/crash":
		if !h.cfg.Chaos {
			h.write(w, http.StatusNotFound, hdrText, notFoundBody)
			break
		}
		fmt.Fprintf(h.cfg.Log, "worker %d (pid %d): /crash requested, exiting with status 1\n", h.cfg.Slot, h.cfg.PID)
		h.cfg.Exit(1)
	default:
		if r.URL.Path == AboutPath {
			h.about(w, r)
			break
		}
		h.write(w, http.StatusNotFound, hdrText, notFoundBody)
	}
	h.inFlight.Add(-1)
	h.served.Add(1)
}

// write sends a whole small body. net/http adds Content-Length itself for a
// body under 2 KB written before the handler returns, on a path cheaper than
// a header set here.
func (h *Handler) write(w http.ResponseWriter, code int, ctype []string, body []byte) {
	w.Header()["Content-Type"] = ctype
	w.WriteHeader(code)
	w.Write(body)
}

func (h *Handler) error(w http.ResponseWriter, code int, msg string) {
	h.write(w, code, hdrText, []byte(msg+"\n"))
}

// intParam reads a non-negative integer query parameter no larger than max.
func intParam(r *http.Request, name string, def, max int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%s=%q: want a whole number from 0 to %d", name, s, max)
	}
	if v > max {
		return 0, fmt.Errorf("%s=%d is over the limit of %d", name, v, max)
	}
	return v, nil
}

// CPUDigest is the body of /cpu?n=iters: the hex SHA-256 after iters
// rounds of hashing the previous digest, starting from the hash of
// "corebench". Each round depends on the last, so the work cannot be
// skipped or parallelised.
func CPUDigest(iters int) string {
	d := sha256.Sum256([]byte("corebench"))
	for range iters {
		d = sha256.Sum256(d[:])
	}
	return hex.EncodeToString(d[:])
}

func (h *Handler) cpu(w http.ResponseWriter, r *http.Request) {
	n, err := intParam(r, "n", h.cfg.CPUIters, MaxCPUIters)
	if err != nil {
		h.error(w, http.StatusBadRequest, err.Error())
		return
	}
	h.write(w, http.StatusOK, hdrText, []byte(CPUDigest(n)+"\n"))
}

func (h *Handler) io(w http.ResponseWriter, r *http.Request) {
	ms, err := intParam(r, "ms", DefaultIOMs, MaxIOMs)
	if err != nil {
		h.error(w, http.StatusBadRequest, err.Error())
		return
	}
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	l := h.cfg.Loop
	if l != nil {
		// An asynchronous wait, as a setTimeout: the loop serves others
		// meanwhile, and the answer is written back on the loop, queued
		// behind whatever arrived during the wait.
		l.Leave()
	}
	select {
	case <-t.C:
		if l != nil {
			l.Enter()
		}
		h.write(w, http.StatusOK, hdrText, []byte("waited "+strconv.Itoa(ms)+" ms\n"))
	case <-r.Context().Done():
		// The client went away; nobody reads an answer.
		if l != nil {
			l.Enter() // Serving's wrapper leaves it
		}
	}
}

func (h *Handler) about(w http.ResponseWriter, r *http.Request) {
	a := About{Workers: 1}
	if h.cfg.About != nil {
		var err error
		if a, err = h.cfg.About(r.Context()); err != nil {
			h.error(w, http.StatusServiceUnavailable, "worker count unavailable: "+err.Error())
			return
		}
	}
	a.Server, a.Slot, a.PID, a.GOMAXPROCS = "corebench", h.cfg.Slot, h.cfg.PID, runtime.GOMAXPROCS(0)
	b, _ := json.Marshal(a)
	h.write(w, http.StatusOK, hdrJSON, b)
}

func (h *Handler) counter(w http.ResponseWriter, v int64) {
	b := fmt.Appendf(nil, `{"value":%d,"worker":%d,"pid":%d}`, v, h.cfg.Slot, h.cfg.PID)
	h.write(w, http.StatusOK, hdrJSON, b)
}
