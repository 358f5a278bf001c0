package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/loadgen"
	"github.com/corebench/corebench/report"
	"github.com/corebench/corebench/results"
)

func init() {
	register(&command{
		name:    "attack",
		summary: "Load a URL with the built-in generator; report latency, req/s, errors, per-worker share",
		usage:   "attack URL [-c N] [-d DUR] [--rate R|A:B|sine:MEAN:AMP:PERIOD|N%|A%:B%] [--probe DUR] [--engine fast|vegeta] [--workers N] [--pipeline N] [--segment I/N] [--start-at TIME] [--json] [--output FILE] [flags]",
		examples: `  bench attack http://127.0.0.1:8080/ -c 100 -d 10s               # closed loop, like autocannon -c 100 -d 10 / wrk
  bench attack http://127.0.0.1:8080/cpu --rate 5000 -d 30s        # open loop at a constant rate, like wrk2 -R / vegeta -rate
  bench attack URL --rate 1000:20000 -d 60s                        # linear ramp (vegeta's LinearPacer); sine also
  bench attack URL --rate sine:5000:2000:10s -d 60s                # sine around 5000/s, amplitude 2000/s, period 10 s
  bench attack http://127.0.0.1:8080/cpu --rate 80% -d 10s         # probe capacity first (closed loop, -c connections, --probe 2s), then 80% of it
  bench attack URL --rate 50%:150% -d 60s                          # a ramp through this machine's capacity, whatever the machine
  bench attack URL -c 100 --no-keepalive                           # a new connection per request
  bench attack URL -c 100 --pipeline 16                            # 16 requests in flight per connection (HTTP/1.1 pipelining), like wrk's pipeline.lua / autocannon -p
  bench attack URL -c 100 --json                                   # machine-readable summary on stdout
  bench attack URL -c 100 --output run.bin                         # every result, readable by 'vegeta report' / 'vegeta plot'
  bench attack URL --engine vegeta --http2                         # vegeta's attacker: HTTP/2, TLS, redirects, any target
  bench attack URL --cpus 0 -c 100                                 # pin the generator to CPU 0
  bench attack http://127.0.0.1:3000/ --workers 4                  # fairness over the 4 workers of a server that is not corebench
  bench attack URL --rate 20000 --segment 2/4 --start-at 2026-12-01T20:00:05Z --output m2.bin   # this machine's quarter, started with the others
  bench report m1.bin m2.bin m3.bin m4.bin                         # merge results of several load machines`,
		run: runAttack,
	})
}

// attackFlags are the flags of `bench attack`.
type attackFlags struct {
	conns, maxConns      int
	dur, warmup, timeout time.Duration
	rate                 string
	share                shareRate     // --rate in percent
	probe                time.Duration // --probe: how long the probe measures
	noKeepAlive          bool
	probeIdle            bool
	engine               loadgen.Engine
	http2, insecure      bool
	json                 bool
	output, outFormat    string
	cpus                 string
	headers              []string
	method, body         string
	maxBody              string
	name                 string
	redirects            int
	workers              int
	workersSet           bool
	maxConnsSet          bool
	pipeline             int
	segment, startAt     string
	startLateOK          bool
}

func runAttack(c *cli, args []string) error {
	var f attackFlags
	fs := c.flags()
	fs.IntVarP(&f.conns, "connections", "c", loadgen.DefaultConnections, "connections: in the closed loop exactly this many, each sending its next request when the previous response is complete; in the open loop, how many are opened up front")
	fs.DurationVarP(&f.dur, "duration", "d", loadgen.DefaultDuration, "how long requests are measured")
	fs.StringVar(&f.rate, "rate", "", "open loop: requests per second (5000), per period (500/100ms), a linear ramp FROM:TO over the duration (1000:20000), or sine:MEAN:AMP:PERIOD (sine:5000:2000:10s); latency is measured from each request's scheduled time. A rate in percent (80%, 50%:150%, sine:80%:20%:10s) is a share of the capacity a closed-loop probe measures first (see --probe); the probe's req/s and the rate it came to go to stderr, and to the JSON summary's \"probe\"")
	fs.DurationVar(&f.probe, "probe", defaultProbe, "with a --rate in percent: how long the probe measures, after half as long unmeasured: a closed loop of -c connections against the same URL from the same CPUs, just before the attack; longer (up to 30s) when its answers take over a quarter of it")
	fs.IntVar(&f.maxConns, "max-connections", loadgen.DefaultMaxConnections, "open loop: at most this many connections, opened as needed to keep the schedule")
	fs.BoolVar(&f.noKeepAlive, "no-keepalive", false, "a new connection for every request")
	fs.IntVar(&f.pipeline, "pipeline", 1, "requests each connection keeps in flight (HTTP/1.1 pipelining, fast engine); 1 waits for each response. A request's latency then includes its wait behind the earlier ones")
	fs.BoolVar(&f.probeIdle, "probe-idle", false, "before reusing a keep-alive connection, check the server has not closed it (as browsers do; a system call per request)")
	fs.Var(&f.engine, "engine", "fast (raw HTTP/1.1, the default for http://) or vegeta (net/http: https, HTTP/2, redirects)")
	fs.BoolVar(&f.http2, "http2", false, "HTTP/2 (vegeta engine): over TLS for https://, h2c with prior knowledge for http://")
	fs.BoolVar(&f.insecure, "insecure", false, "https: do not verify the server's certificate")
	fs.BoolVar(&f.json, "json", false, "print the summary as one JSON object instead of the table")
	fs.StringVar(&f.output, "output", "", "write every result to FILE in vegeta's format, for 'vegeta report', 'vegeta plot' and 'bench report'")
	fs.StringVar(&f.outFormat, "output-format", "gob", "format of --output: gob, json or csv")
	fs.StringVar(&f.cpus, "cpus", "", "pin the generator to these CPUs, e.g. 0 or 0-3,6 (sets GOMAXPROCS to their number)")
	fs.DurationVar(&f.warmup, "warmup", 0, "send requests this long before measuring, without counting them")
	fs.DurationVar(&f.timeout, "timeout", loadgen.DefaultTimeout, "per request, connecting included")
	fs.StringArrayVarP(&f.headers, "header", "H", nil, "request header 'Name: value' (repeatable)")
	fs.StringVarP(&f.method, "method", "m", http.MethodGet, "request method")
	fs.StringVar(&f.body, "body", "", "request body: a string, or @FILE to read it from FILE")
	fs.StringVar(&f.maxBody, "max-body", "4MiB", "largest response body read; a larger one fails the request (malformed) and closes its connection")
	fs.IntVar(&f.redirects, "redirects", loadgen.DefaultRedirects, "vegeta engine: how many redirects to follow; -1 for none (the 3xx is the response)")
	fs.StringVar(&f.name, "name", "", "attack name written in --output results")
	fs.IntVar(&f.workers, "workers", 0, "how many workers the server runs, for the fairness (a worker that answered nothing counts 0); default: what the server says at "+loadgen.DiscoverPath+", asked once before the run (every corebench server answers)")
	fs.StringVar(&f.segment, "segment", "", "send segment I of N of the load (e.g. 2/4), for running it from N machines: the rate's hits k with k mod N = I-1, at their times, or this segment's share of the connections; the N segments together send exactly what one process would")
	fs.StringVar(&f.startAt, "start-at", "", "open the connections, then wait until this RFC 3339 time (e.g. 2026-12-01T20:00:05.000Z) to start, so that several machines start together; a time already past is refused")
	// bench run's hosts: a start that passed while the ssh session was set
	// up starts at once, start_late_ms and the run's skew warning say so.
	fs.BoolVar(&f.startLateOK, "start-late-ok", false, "with --start-at: a time already past starts at once, recorded as start_late_ms, instead of being refused")
	fs.MarkHidden("start-late-ok")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	f.workersSet = fs.Changed("workers")
	f.maxConnsSet = fs.Changed("max-connections")
	if c.smoke {
		f.dur, f.warmup, f.probe = min(f.dur, 300*time.Millisecond), 0, min(f.probe, 300*time.Millisecond)
	}
	switch fs.NArg() {
	case 0:
		return usagef("no URL: want bench attack http://HOST:PORT/PATH")
	case 1:
	default:
		return usagef("one URL only; got %q and %q", fs.Arg(0), fs.Arg(1))
	}
	o, err := f.options(fs.Arg(0))
	if err != nil {
		return err
	}
	var cpus []int
	if f.cpus != "" {
		if cpus, err = parseCPUs(f.cpus); err != nil {
			return err
		}
		o.AllowedCPUs = len(cpus)
	}

	var out *resultsFile
	if f.output != "" {
		if out, err = createResultsFile(f.output, f.outFormat); err != nil {
			return err
		}
		defer out.close()
		o.Output = out.enc
	}
	if len(cpus) > 0 {
		// Only the command's process is pinned: the loadgen library never
		// touches affinity or GOMAXPROCS.
		if err := affinity.PinProcess(cpus); err != nil {
			return err
		}
		runtime.GOMAXPROCS(len(cpus))
	}
	var bar *progressBar
	if isTerminal(c.stdout) {
		bar = &progressBar{w: c.stderr}
		o.Progress = bar.update
	}

	// Before any request, the discovery's included: a run that cannot
	// open its connections would only measure its own failures.
	if err := loadgen.CheckDescriptors(o); err != nil {
		return descriptorUsage(err, o)
	}
	ctx, stop := signalContext()
	defer stop()
	if o.Workers == 0 {
		// Unknown for a server that cannot say; the table tells.
		o.Workers, _ = loadgen.DiscoverWorkers(ctx, o)
	}
	var pr *probeRecord
	if f.share != "" {
		if pr, err = f.probeRate(ctx, &o, c.stderr); err != nil {
			return err
		}
	}
	s, err := loadgen.Run(ctx, o)
	bar.clear()
	if err := runError(err, o); err != nil || s == nil {
		return err
	}
	if out != nil {
		if cerr := out.close(); cerr != nil && err == nil {
			err = fmt.Errorf("write %s: %v", f.output, cerr)
		}
	}
	if perr := printSummary(c.stdout, s, f.json, pr); perr != nil && err == nil {
		err = perr
	}
	return err
}

// runError says what to do about a run's error: a usage error for
// descriptors, the likely cause of an unreachable server; nil for any
// other error, which a summary then reports.
func runError(err error, o loadgen.Options) error {
	if err := descriptorUsage(err, o); err != nil {
		return err
	}
	var unreachable *loadgen.UnreachableError
	if !errors.As(err, &unreachable) {
		return nil
	}
	var dns *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%v; is the server running and listening there?", err)
	case errors.As(err, &dns) || strings.Contains(err.Error(), "no such host"):
		return fmt.Errorf("%v; check the host name", err)
	}
	return fmt.Errorf("%v; check the address, and that the server is up and reachable", err)
}

// defaultProbe is --probe's default: long enough for a closed loop to
// settle past its start, short beside the attack it sizes
// (loadgen.Capacity lengthens it when its round trips need more).
const (
	defaultProbe = 2 * time.Second
)

// shareRate is a --rate written in percent: each N% is that share of the
// capacity a closed-loop probe measures, in whole requests per second.
type shareRate string

var percentRE = regexp.MustCompile(`(\d+(?:\.\d+)?)%`)

// resolve writes r with each percentage as its share of capacity.
func (r shareRate) resolve(capacity float64) string {
	return percentRE.ReplaceAllStringFunc(string(r), func(m string) string {
		v, _ := strconv.ParseFloat(strings.TrimSuffix(m, "%"), 64)
		return strconv.Itoa(max(1, int(math.Round(v/100*capacity))))
	})
}

// check refuses, before any load, a rate in percent that no capacity
// could make a rate: the forms are ParseRate's, with N% for a number.
func (r shareRate) check(d time.Duration) error {
	s := string(r)
	shares := percentRE.FindAllStringSubmatch(s, -1)
	if strings.Contains(s, "/") || strings.Count(s, "%") != len(shares) {
		return usagef("--rate %q: want a share of the capacity as N%% (80%%), A%%:B%% (50%%:150%%) or sine:M%%:A%%:PERIOD", s)
	}
	for _, m := range shares {
		if v, _ := strconv.ParseFloat(m[1], 64); v <= 0 || v > 1000 {
			return usagef("--rate %q: %s%% is out of range: want above 0%% and at most 1000%% of the capacity", s, m[1])
		}
	}
	// At a capacity of 100,000/s every share above 0 is a whole rate, and
	// the ramp's and sine's checks see the shares' proportions.
	if _, err := loadgen.ParseRate(r.resolve(1e5), d); err != nil {
		_, why, _ := strings.Cut(err.Error(), ": ")
		return usagef("--rate %q: %s", s, why)
	}
	return nil
}

// probeRecord is what the probe measured and what --rate came to: the
// JSON summary's "probe".
type probeRecord struct {
	Rate        string  `json:"rate"`     // as asked, e.g. "80%"
	Resolved    string  `json:"resolved"` // the --rate it came to, e.g. "2487"
	RPS         float64 `json:"rps"`      // the probe's successful responses per second
	Connections int     `json:"connections"`
	DurationS   float64 `json:"duration_s"`
	Requests    int64   `json:"requests"` // measured, the warm-up's left out
	Errors      int64   `json:"errors"`
}

// probeRate measures the capacity --rate's shares are of, with a closed
// loop of o's connections for --probe, and sets o's rate to them; it
// says what it found on w. The probe runs where the attack will, with
// the same request: same CPUs, same engine, same connections.
func (f *attackFlags) probeRate(ctx context.Context, o *loadgen.Options, w io.Writer) (*probeRecord, error) {
	p := *o
	p.Rate, p.Output, p.Progress = nil, nil, nil
	p.Duration, p.Warmup = f.probe, f.probe/2
	fmt.Fprintf(w, "probe: a closed loop of %d connections for %v after %v unmeasured, to measure the capacity --rate %s is a share of\n", p.Connections, p.Duration, p.Warmup, f.share)
	s, err := loadgen.Capacity(ctx, f.probe, func(ctx context.Context, warm, d time.Duration) (*results.Summary, error) {
		p.Warmup, p.Duration = warm, d
		s, err := loadgen.Run(ctx, p)
		if rerr := runError(err, p); rerr != nil {
			return nil, rerr
		}
		if err != nil {
			return nil, fmt.Errorf("probe: %v", err)
		}
		return s, nil
	}, func(mean, warm, d time.Duration) {
		fmt.Fprintf(w, "probe: its answers took %v on average, too long to measure in %v; again for %v after %v\n", mean.Round(time.Millisecond), f.probe, d.Round(time.Millisecond), warm.Round(time.Millisecond))
	})
	if err != nil {
		return nil, err
	}
	if s.RPS < 1 {
		return nil, fmt.Errorf("probe: %d requests, %d failed, %.3g answered a second: no capacity to take %s of; is the server answering %s?", s.Requests, s.Errors, s.RPS, f.share, o.URL)
	}
	resolved := f.share.resolve(s.RPS)
	pacer, err := loadgen.ParseRate(resolved, o.Duration)
	if err == nil {
		o.Rate = pacer
		err = o.Check()
	}
	if err != nil {
		return nil, fmt.Errorf("--rate %s of the probe's %.0f req/s is %s: %v", f.share, s.RPS, resolved, err)
	}
	o.Rate = namedRate{pacer, fmt.Sprintf("%v (%s of %.0f req/s probed)", pacer, f.share, s.RPS)}
	errs := ""
	if s.Errors > 0 {
		errs = fmt.Sprintf(", %d of %d requests failed", s.Errors, s.Requests)
	}
	fmt.Fprintf(w, "probe: %.0f req/s%s; --rate %s of it is --rate %s\n", s.RPS, errs, f.share, resolved)
	return &probeRecord{Rate: string(f.share), Resolved: resolved, RPS: s.RPS, Connections: p.Connections, DurationS: s.DurationS, Requests: s.Requests, Errors: s.Errors}, nil
}

// namedRate is a pacer with the description the summary shows.
type namedRate struct {
	vegeta.Pacer
	name string
}

func (r namedRate) String() string { return r.name }

// options turns the flags into loadgen options; every problem is a usage error.
func (f *attackFlags) options(target string) (loadgen.Options, error) {
	o := loadgen.Options{
		URL:         target,
		Method:      strings.ToUpper(f.method),
		Connections: f.conns,
		Duration:    f.dur,
		Warmup:      f.warmup,
		NoKeepAlive: f.noKeepAlive,
		Pipeline:    f.pipeline,
		ProbeIdle:   f.probeIdle,
		Timeout:     f.timeout,
		Engine:      f.engine,
		HTTP2:       f.http2,
		Redirects:   f.redirects,
		Name:        f.name,
		Workers:     f.workers,
	}
	if _, err := loadgen.ParseURL(target); err != nil {
		return o, usageError{err}
	}
	switch {
	case f.conns < 1:
		return o, usagef("-c/--connections %d: want 1 or more", f.conns)
	case f.maxConns < 1:
		return o, usagef("--max-connections %d: want 1 or more", f.maxConns)
	case f.dur <= 0:
		return o, usagef("-d/--duration %v: want a positive duration, e.g. 10s", f.dur)
	case f.warmup < 0:
		return o, usagef("--warmup %v: want a positive duration", f.warmup)
	case f.timeout <= 0:
		return o, usagef("--timeout %v: want a positive duration", f.timeout)
	case f.workersSet && f.workers < 1:
		return o, usagef("--workers %d: want how many workers the server runs, 1 or more", f.workers)
	case f.pipeline < 1: // 0 is the library's default; as a flag, none
		return o, usagef("--pipeline %d: want 1 or more requests in flight per connection (1: no pipelining)", f.pipeline)
	case f.redirects < -1 || f.redirects == 0:
		return o, usagef("--redirects %d: want a positive count, or -1 to follow none (the 3xx is then the response)", f.redirects)
	}
	if f.maxConnsSet {
		o.MaxConnections = f.maxConns // else the library's default, lowered to the descriptors free
	}
	if strings.Contains(f.rate, "%") {
		// The rate comes from the probe, after the checks; Check below
		// sees a closed loop.
		f.share = shareRate(f.rate)
		if err := f.share.check(f.dur); err != nil {
			return o, err
		}
		switch {
		case f.probe <= 0:
			return o, usagef("--probe %v: want a positive duration, e.g. 2s", f.probe)
		case f.segment != "" || f.startAt != "":
			return o, usagef("--rate %s: a share of the capacity this machine probes, which a load split across machines cannot share; give --segment and --start-at a rate in requests per second", f.rate)
		}
	} else if f.rate != "" {
		p, err := loadgen.ParseRate(f.rate, f.dur)
		if err != nil {
			return o, usagef("--%v", err)
		}
		o.Rate = p
	}
	if f.segment != "" {
		seg, err := loadgen.ParseSegment(f.segment)
		if err != nil {
			return o, usagef("--%v", err)
		}
		o.Segment = seg
		if o.Name == "" {
			o.Name = "segment " + seg.String() // in every --output result: which part of the load it was
		}
	}
	if f.startAt != "" {
		t, err := time.Parse(time.RFC3339Nano, f.startAt)
		if err != nil {
			return o, usagef("--start-at %q: want an RFC 3339 time such as 2026-12-01T20:00:05.000Z", f.startAt)
		}
		// A past time cannot start the machines together any more: the
		// command line is stale, or this clock is off. Refusing says so;
		// starting now would merge a skewed load that looks like a good one.
		if ago := time.Since(t); ago > 0 && !f.startLateOK {
			return o, usagef("--start-at %s is %v in the past by this machine's clock: want a time a few seconds ahead, the same on every machine", f.startAt, ago.Round(time.Millisecond))
		}
		o.StartAt = t
	}
	for _, h := range f.headers {
		name, value, ok := strings.Cut(h, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			return o, usagef("-H %q: want 'Name: value'", h)
		}
		if o.Header == nil {
			o.Header = http.Header{}
		}
		o.Header.Add(name, value)
	}
	if file, ok := strings.CutPrefix(f.body, "@"); ok {
		b, err := os.ReadFile(file)
		if err != nil {
			return o, usagef("--body @%s: %v", file, errors.Unwrap(err))
		}
		o.Body = b
	} else if f.body != "" {
		o.Body = []byte(f.body)
	}
	n, err := parseSize(f.maxBody)
	if err != nil || n < 1 {
		return o, usagef("--max-body %q: want a positive size such as 65536, 64KiB or 4MiB", f.maxBody)
	}
	o.MaxBody = n
	if f.insecure {
		o.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	}
	if err := o.Check(); err != nil {
		return o, usageError{err}
	}
	return o, nil
}

// descriptorUsage turns a *loadgen.DescriptorError into a usage error
// that names the flag; nil for any other error.
func descriptorUsage(err error, o loadgen.Options) error {
	var de *loadgen.DescriptorError
	if !errors.As(err, &de) {
		return nil
	}
	e := *de
	e.Option = "-c/--connections"
	if de.Option != "connections" {
		e.Option = "--max-connections"
	}
	if !o.Segment.Whole() {
		e.Option += " (segment " + o.Segment.String() + "'s share)"
	}
	return usageError{&e}
}

// parseCPUs parses --cpus in the order written (prefork pins worker i
// to the i-th) and checks the CPUs are in this process's cpuset: not in
// the mask it inherited, which may be its starter's (bench run's, pinned
// to the generator's CPUs), and which it is about to replace.
func parseCPUs(s string) ([]int, error) {
	cpus, err := affinity.ParseOrdered(s)
	if err != nil {
		return nil, usagef("--cpus: %v", err)
	}
	allowed, err := affinity.Available()
	if err != nil {
		return nil, err
	}
	if err := affinity.Check(cpus, allowed); err != nil {
		return nil, usagef("--cpus: %v", err)
	}
	return cpus, nil
}

// parseSize parses a byte count with an optional unit: 65536, 64k, 64KiB,
// 4M, 4MiB, 4MB (binary multiples for k, M, G and the iB forms, decimal
// for kB, MB, GB).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, err
	}
	mult := map[string]float64{"": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "kb": 1e3, "m": 1 << 20, "mib": 1 << 20, "mb": 1e6, "g": 1 << 30, "gib": 1 << 30, "gb": 1e9}[strings.ToLower(unit)]
	if mult == 0 {
		return 0, fmt.Errorf("unknown unit %q", unit)
	}
	if v*mult > 1<<62 {
		return 0, errors.New("too large")
	}
	return int64(v * mult), nil
}

// resultsFile is --output: a buffered file and a vegeta encoder over it.
type resultsFile struct {
	f    *os.File
	w    *bufio.Writer
	enc  vegeta.Encoder
	done bool
}

func createResultsFile(path, format string) (*resultsFile, error) {
	var mk func(io.Writer) vegeta.Encoder
	switch format {
	case "gob":
		mk = vegeta.NewEncoder
	case "json":
		mk = vegeta.NewJSONEncoder
	case "csv":
		mk = vegeta.NewCSVEncoder
	default:
		return nil, usagef("--output-format %q: want gob, json or csv", format)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--output: %v", err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	return &resultsFile{f: f, w: w, enc: mk(w)}, nil
}

// close flushes and closes the file, once.
func (r *resultsFile) close() error {
	if r.done {
		return nil
	}
	r.done = true
	err := r.w.Flush()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// printSummary prints s as the table or, with asJSON, as one JSON line,
// with the probe's record when --rate was a share of capacity.
func printSummary(w io.Writer, s *results.Summary, asJSON bool, pr ...*probeRecord) error {
	var probe *probeRecord
	if len(pr) > 0 {
		probe = pr[0]
	}
	if asJSON {
		b, err := json.Marshal(struct {
			*results.Summary
			Probe *probeRecord `json:"probe,omitempty"`
		}{s, probe})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	return report.AttackTable(w, s)
}
