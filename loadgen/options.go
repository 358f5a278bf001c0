package loadgen

import (
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Engine is how a run sends its requests. It is a flag.Value (String,
// Set) and, with Type, a pflag.Value, so a command line takes one as a
// flag and refuses an unknown name as it parses.
type Engine string

// Engines.
const (
	EngineFast   Engine = "fast"   // raw HTTP/1.1 over net.Conn, plain http:// only
	EngineVegeta Engine = "vegeta" // vegeta's Attacker over net/http: https, HTTP/2, redirects
)

// ParseEngine returns the engine called name.
func ParseEngine(name string) (Engine, error) {
	switch e := Engine(name); e {
	case EngineFast, EngineVegeta:
		return e, nil
	}
	return "", fmt.Errorf("unknown engine %q: want %s or %s", name, EngineFast, EngineVegeta)
}

func (e Engine) String() string { return string(e) }

// Set sets e to the engine called name (flag.Value). Its error leaves
// the name out: the flag package says it.
func (e *Engine) Set(name string) error {
	v, err := ParseEngine(name)
	if err != nil {
		return fmt.Errorf("want %s or %s", EngineFast, EngineVegeta)
	}
	*e = v
	return nil
}

// Type names the flag's value in a command's help (pflag.Value).
func (Engine) Type() string { return "engine" }

// Defaults of the zero Options.
const (
	DefaultConnections    = 100
	DefaultMaxConnections = 10000
	DefaultDuration       = 10 * time.Second
	DefaultTimeout        = 10 * time.Second
	DefaultMaxBody        = 4 << 20
	DefaultSeriesInterval = 100 * time.Millisecond
	DefaultLateThreshold  = time.Millisecond
	DefaultRedirects      = 10
	DefaultCoalesce       = 50 * time.Microsecond
)

// maxPipeline bounds Options.Pipeline: TechEmpower's plaintext test goes
// to 16; past a few hundred a connection's requests no longer fit the
// socket buffers, and writes would wait for reads that never come.
const maxPipeline = 1024

// maxHeaderBytes bounds a response's status line and headers.
const maxHeaderBytes = 64 << 10

// Options configures a run. The zero value, with a URL, is a 10 s closed
// loop over 100 keep-alive connections with the fast engine.
type Options struct {
	// URL is the target, http:// or https:// (https needs the vegeta engine).
	URL string
	// Method is the request method; default GET.
	Method string
	// Header holds extra request headers. A Host header replaces the URL's host.
	Header http.Header
	// Body is sent with every request (with a Content-Length).
	Body []byte

	// Connections is, in the closed loop, exactly how many connections send
	// requests; in the open loop, how many are opened up front. Default 100.
	// They must fit in the file descriptors the process may still open,
	// or Run fails with a *DescriptorError before it opens any.
	Connections int
	// MaxConnections caps the connections an open loop may open to keep up
	// with its schedule; never less than Connections. Default 10000, or
	// what the file descriptors free allow; one set explicitly must fit
	// in them (a *DescriptorError otherwise).
	MaxConnections int
	// Duration is how long requests are measured; default 10 s.
	Duration time.Duration
	// Warmup is how long requests are sent before measurement starts; they
	// are not counted. An open loop warms up at its pacer's initial rate.
	// Default none.
	Warmup time.Duration
	// Rate paces an open loop; nil means a closed loop. ParseRate builds
	// the usual pacers.
	Rate vegeta.Pacer

	// NoKeepAlive makes every request use a new connection.
	NoKeepAlive bool
	// Pipeline is how many requests each connection keeps in flight
	// (HTTP/1.1 pipelining, fast engine, keep-alive only); default 1,
	// which waits for each response before the next request. A request's
	// latency then includes its wait behind the earlier ones on its
	// connection; see docs/performance.md.
	Pipeline int
	// ProbeIdle makes the fast engine check, before it reuses a kept-alive
	// connection, that the server has not closed it meanwhile (a
	// non-blocking peek, one system call a request), and open a new one
	// if it has: what browsers and Go's http.Transport do. Without it a
	// request sent on a connection the server closed while idle fails,
	// which is what wrk reports too. The vegeta engine always does it.
	ProbeIdle bool
	// Timeout bounds each request, connecting included; default 10 s. The
	// fast engine enforces it within 10%: it moves a connection's deadline
	// only when the deadline is due in less than 0.9 Timeout, which spares
	// a runtime timer update per request.
	Timeout time.Duration
	// MaxBody is the largest response body read, in bytes; default 4 MiB.
	// A larger body fails the request (error kind malformed) and closes the
	// connection, so a huge or endless body costs neither memory nor time.
	MaxBody int64

	// Engine is EngineFast or EngineVegeta; default fast for http:// URLs
	// without HTTP2, vegeta otherwise.
	Engine Engine
	// HTTP2 makes the vegeta engine speak HTTP/2: over TLS for https://,
	// prior-knowledge h2c for http://.
	HTTP2 bool
	// TLSConfig is the vegeta engine's TLS configuration; nil means the
	// system roots, verified.
	TLSConfig *tls.Config
	// Redirects is how many redirects the vegeta engine follows; default
	// 10, -1 for none (a 3xx is then the response). The fast engine never
	// follows one.
	Redirects int

	// SeriesInterval is the width of a time-series slice; default 100 ms,
	// at least 1 ms.
	SeriesInterval time.Duration
	// LateThreshold is how long after its scheduled time an open-loop
	// request may leave without counting as late; default 1 ms.
	LateThreshold time.Duration
	// Coalesce is how much before its scheduled time an open-loop request
	// may leave so that it shares the dispatcher's wake-up with the one
	// before (fast engine); default 50 µs, negative for none. Each wake-up
	// of an idle CPU costs microseconds of system time on both sides of
	// the loopback, so at tens of thousands of requests per second this
	// saves a good part of a core. A request is measured from when it
	// left, so latencies stay true; only the schedule's precision is
	// Coalesce.
	Coalesce time.Duration

	// Output, when set, receives every measured request as a vegeta
	// Result (vegeta.NewEncoder and friends fit), from one goroutine.
	// Results come in batches every 10 ms, in time order within a batch,
	// numbered (Seq) in the order written. An error stops the run.
	Output vegeta.Encoder
	// Name is the attack name written in Output's results.
	Name string
	// Progress, when set, is called from one goroutine every
	// SeriesInterval with what has been measured so far.
	Progress func(Progress)

	// Workers is how many workers the server runs, each answering with
	// its own X-Worker slot: the fairness is over them all, one that
	// answered nothing counting 0. 0 means unknown, and the fairness is
	// over the workers that answered. DiscoverWorkers asks a corebench
	// server.
	Workers int

	// Segment is the part of the load this run sends (see Segment):
	// Connections, MaxConnections and Rate describe the whole load, and
	// the run takes its share of each. Default the whole load.
	Segment Segment
	// StartAt, when set, is when the run starts (its warm-up, or its
	// measurement): Run opens its first connections, then waits until
	// then, so that processes on several machines start together. A time
	// already past by then starts the run at once, the summary's
	// StartLateMs saying how late.
	StartAt time.Time

	// AllowedCPUs is how many CPUs the generator may use, for the
	// saturation rule; default the CPUs this process may run on (its
	// affinity), at most GOMAXPROCS.
	AllowedCPUs int

	// dialControl, when set, is every dial's net.Dialer.Control: tests
	// make dials fail with it.
	dialControl func(network, address string, c syscall.RawConn) error
}

// Progress is what a run reports while it runs.
type Progress struct {
	Warmup   bool          // still warming up
	Elapsed  time.Duration // of measurement (of warm-up while Warmup)
	Duration time.Duration // planned measurement
	Requests int64         // measured so far
	Errors   int64
	RPS      float64 // of the last time-series slice
}

// withDefaults fills the zero fields.
func (o Options) withDefaults() Options {
	if o.Method == "" {
		o.Method = http.MethodGet
	}
	if o.Connections == 0 {
		o.Connections = DefaultConnections
	}
	if o.MaxConnections == 0 {
		o.MaxConnections = DefaultMaxConnections
	}
	if !o.Segment.Whole() {
		o.Connections = o.Segment.Share(o.Connections)
		o.MaxConnections = o.Segment.Share(o.MaxConnections)
		if o.Rate != nil { // an open loop needs a connection to start with
			o.Connections, o.MaxConnections = max(o.Connections, 1), max(o.MaxConnections, 1)
		}
	}
	o.MaxConnections = max(o.MaxConnections, o.Connections)
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBody == 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Engine == "" {
		o.Engine = EngineFast
		if !strings.HasPrefix(strings.ToLower(o.URL), "http://") || o.HTTP2 {
			o.Engine = EngineVegeta
		}
	}
	if o.Redirects == 0 {
		o.Redirects = DefaultRedirects
	}
	if o.SeriesInterval == 0 {
		o.SeriesInterval = DefaultSeriesInterval
	}
	if o.LateThreshold == 0 {
		o.LateThreshold = DefaultLateThreshold
	}
	if o.Coalesce == 0 {
		o.Coalesce = DefaultCoalesce
	}
	if o.Pipeline == 0 {
		o.Pipeline = 1
	}
	if o.AllowedCPUs == 0 {
		o.AllowedCPUs = allowedCPUs()
	}
	return o
}

// Check reports the first problem with o, as one line that names the
// option. Run calls it; callers call it to tell bad input from failures.
func (o Options) Check() error {
	if _, err := ParseURL(o.URL); err != nil {
		return err
	}
	u, _ := url.Parse(o.URL)
	switch {
	case o.Connections < 0:
		return fmt.Errorf("connections %d: want 1 or more", o.Connections)
	case o.MaxConnections < 0:
		return fmt.Errorf("max connections %d: want 1 or more", o.MaxConnections)
	case o.Duration < 0:
		return fmt.Errorf("duration %v: want a positive duration", o.Duration)
	case o.Warmup < 0:
		return fmt.Errorf("warm-up %v: want zero or a positive duration", o.Warmup)
	case o.Timeout < 0:
		return fmt.Errorf("timeout %v: want a positive duration", o.Timeout)
	case o.MaxBody < 0:
		return fmt.Errorf("max body %d: want a positive size", o.MaxBody)
	case o.SeriesInterval < 0 || o.SeriesInterval > 0 && o.SeriesInterval < time.Millisecond:
		return fmt.Errorf("series interval %v: want 1ms or more", o.SeriesInterval)
	case o.LateThreshold < 0:
		return fmt.Errorf("late threshold %v: want a positive duration", o.LateThreshold)
	case o.Workers < 0:
		return fmt.Errorf("workers %d: want 1 or more, or 0 for unknown", o.Workers)
	case o.Redirects < -1:
		return fmt.Errorf("redirects %d: want -1 (none) or more", o.Redirects)
	}
	if o.Engine != "" {
		if _, err := ParseEngine(string(o.Engine)); err != nil {
			return err
		}
	}
	if err := o.checkPipeline(u); err != nil {
		return err
	}
	if err := o.Segment.check(); err != nil {
		return err
	}
	if err := checkSchedule(o); err != nil {
		return err
	}
	if conns := max(o.Connections, 0); o.Rate == nil && !o.Segment.Whole() && conns > 0 && conns < o.Segment.Count {
		return fmt.Errorf("%d connections cannot be split into %d segments: a closed loop needs at least one per segment", conns, o.Segment.Count)
	}
	if o.Method != "" && !validToken(o.Method) {
		return fmt.Errorf("method %q is not a valid HTTP method", o.Method)
	}
	for name, vs := range o.Header {
		if !validToken(name) {
			return fmt.Errorf("header name %q is not valid", name)
		}
		for _, v := range vs {
			if strings.ContainsAny(v, "\r\n\x00") {
				return fmt.Errorf("header %s: value %q holds a line break or NUL", name, v)
			}
		}
	}
	if o.Engine == EngineFast {
		if u.Scheme != "http" {
			return fmt.Errorf("the fast engine speaks plain http:// only; use the vegeta engine for %s://", u.Scheme)
		}
		if o.HTTP2 {
			return errors.New("the fast engine speaks HTTP/1.1 only; use the vegeta engine for HTTP/2")
		}
	}
	return nil
}

// checkPipeline is the rules of pipelining, all of them: 1 to
// maxPipeline requests in flight per connection (0 is the default, 1),
// and more than one only on keep-alive connections of the fast engine,
// the one that speaks HTTP/1.1 itself (net/http does not pipeline).
func (o Options) checkPipeline(u *url.URL) error {
	switch {
	case o.Pipeline < 0:
		return fmt.Errorf("pipeline %d: want 1 or more", o.Pipeline)
	case o.Pipeline > maxPipeline:
		return fmt.Errorf("pipeline %d: want at most %d requests in flight per connection", o.Pipeline, maxPipeline)
	case o.Pipeline <= 1:
		return nil
	case o.NoKeepAlive:
		return fmt.Errorf("pipeline %d without keep-alive: pipelining sends several requests on one connection", o.Pipeline)
	case o.Engine == EngineVegeta:
		return fmt.Errorf("pipeline %d with the vegeta engine: net/http does not pipeline; use the fast engine", o.Pipeline)
	case o.Engine == "" && (u.Scheme != "http" || o.HTTP2):
		return fmt.Errorf("pipeline %d: pipelining needs the fast engine, which speaks HTTP/1.1 over plain http:// only", o.Pipeline)
	}
	return nil
}

// checkSchedule refuses an open loop that would send nothing, or without
// end: a pacer whose rate is no positive number (vegeta's zero
// ConstantPacer is an endless burst at one instant, a negative one sends
// nothing), or whose first request is due after the duration (1/1h over
// 1 s, a ramp from 1/s over 100 ms).
func checkSchedule(o Options) error {
	if o.Rate == nil {
		return nil
	}
	if r := o.Rate.Rate(0); math.IsNaN(r) || math.IsInf(r, 0) || r < 0 {
		return fmt.Errorf("rate %s: want a positive rate", rateName(o.Rate))
	}
	d := o.Duration
	if d == 0 {
		d = DefaultDuration
	}
	clock := hitClock{p: o.Rate, to: int64(d)}
	if _, ok := clock.next(); !ok {
		return fmt.Errorf("rate %s schedules no request within the duration %v: want a higher rate or a longer duration", rateName(o.Rate), d)
	}
	return nil
}

// ParseURL checks that s is an absolute http:// or https:// URL with a host.
func ParseURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("no URL: want http://HOST[:PORT]/PATH")
	}
	if !strings.Contains(s, "://") {
		return nil, fmt.Errorf("URL %q has no scheme: want http://%s", s, strings.TrimPrefix(s, "//"))
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q: %v", s, errors.Unwrap(err))
	}
	switch u.Scheme {
	case "http", "https":
	default:
		return nil, fmt.Errorf("URL %q: scheme %q is not supported, want http or https", s, u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("URL %q has no host", s)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("URL %q: port %q is not 1 to 65535", s, p)
		}
	}
	if u.User != nil {
		return nil, fmt.Errorf("URL %q: credentials in URLs are not supported; send an Authorization header with -H", s)
	}
	return u, nil
}

// validToken reports whether s is an RFC 9110 token (method, header name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// namedPacer is a Pacer with the description ParseRate gave it.
type namedPacer struct {
	vegeta.Pacer
	name string
}

func (p namedPacer) String() string { return p.name }

// ParseRate parses an open-loop rate for a run of duration d:
//
//	5000                 constant, requests per second
//	500/100ms            constant, requests per period (vegeta's syntax)
//	1000:20000           linear ramp from 1000/s to 20000/s over d (vegeta's LinearPacer)
//	sine:5000:2000:10s   sine wave around 5000/s, amplitude 2000/s, period 10 s,
//	                     starting at the mean and rising (vegeta's SinePacer)
//
// Rates must be positive; a sine's amplitude must be below its mean. The
// pacer's String method describes it ("5000/s", "linear 1000->20000/s").
func ParseRate(s string, d time.Duration) (vegeta.Pacer, error) {
	s = strings.TrimSpace(s)
	bad := func(format string, args ...any) (vegeta.Pacer, error) {
		return nil, fmt.Errorf("rate %q: "+format, append([]any{s}, args...)...)
	}
	if rest, ok := strings.CutPrefix(s, "sine:"); ok {
		parts := strings.Split(rest, ":")
		if len(parts) != 3 {
			return bad("want sine:MEAN:AMP:PERIOD, e.g. sine:5000:2000:10s")
		}
		mean, err1 := strconv.Atoi(parts[0])
		amp, err2 := strconv.Atoi(parts[1])
		period, err3 := time.ParseDuration(parts[2])
		switch {
		case err1 != nil || err2 != nil || err3 != nil:
			return bad("want sine:MEAN:AMP:PERIOD with whole requests per second and a duration, e.g. sine:5000:2000:10s")
		case mean <= 0:
			return bad("the mean must be positive")
		case amp < 0 || amp >= mean:
			return bad("the amplitude must be at least 0 and below the mean")
		case period <= 0:
			return bad("the period must be positive")
		}
		p := vegeta.SinePacer{Period: period, Mean: vegeta.Rate{Freq: mean, Per: time.Second}, Amp: vegeta.Rate{Freq: amp, Per: time.Second}, StartAt: vegeta.MeanUp}
		return namedPacer{p, fmt.Sprintf("sine %d±%d/s period %v", mean, amp, period)}, nil
	}
	if a, b, ok := strings.Cut(s, ":"); ok {
		from, err1 := strconv.Atoi(a)
		to, err2 := strconv.Atoi(b)
		switch {
		case err1 != nil || err2 != nil:
			return bad("a ramp is FROM:TO in whole requests per second, e.g. 1000:20000")
		case from <= 0 || to <= 0:
			return bad("ramp rates must be positive")
		case d <= 0:
			return bad("a ramp needs a positive duration")
		}
		p := vegeta.LinearPacer{StartAt: vegeta.Rate{Freq: from, Per: time.Second}, Slope: float64(to-from) / d.Seconds()}
		return namedPacer{p, fmt.Sprintf("linear %d->%d/s", from, to)}, nil
	}
	num, per, hasPer := strings.Cut(s, "/")
	n, err := strconv.Atoi(num)
	if err != nil {
		return bad("want requests per second (5000), per period (500/100ms), a ramp (1000:20000) or sine:MEAN:AMP:PERIOD")
	}
	if n <= 0 {
		return bad("the rate must be positive")
	}
	unit := time.Second
	if hasPer {
		if per != "" && (per[0] < '0' || per[0] > '9') {
			per = "1" + per
		}
		if unit, err = time.ParseDuration(per); err != nil || unit <= 0 {
			return bad("the period %q is not a positive duration", per)
		}
	}
	if float64(n)/unit.Seconds() > 1e9 {
		return bad("more than a billion requests per second")
	}
	p := constantRate{Freq: n, Per: unit}
	name := fmt.Sprintf("%d/s", n)
	if unit != time.Second {
		name = fmt.Sprintf("%d/%v (%.6g/s)", n, unit, float64(n)/unit.Seconds())
	}
	return namedPacer{p, name}, nil
}

// rateName describes a pacer for the summary.
func rateName(p vegeta.Pacer) string {
	if s, ok := p.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%.6g/s at start", p.Rate(0))
}

// initialPacer is a constant pacer at p's initial rate, for the warm-up.
func initialPacer(p vegeta.Pacer) vegeta.Pacer {
	r := p.Rate(0)
	if math.IsNaN(r) || r < 1 {
		r = 1
	}
	return constantRate{Freq: int(math.Round(r)), Per: time.Second}
}
