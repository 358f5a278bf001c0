package main

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/models"
	"github.com/corebench/corebench/models/goroutines"
	"github.com/corebench/corebench/models/prefork"
	"github.com/corebench/corebench/models/prefork/control"
	"github.com/corebench/corebench/models/singlecore"
	"github.com/corebench/corebench/models/state"
	"github.com/corebench/corebench/variant"
	"github.com/corebench/corebench/workload"
)

func init() {
	_, scheds := preforkVariants()
	register(&command{
		name:    "serve",
		summary: "Serve the workload under one concurrency model until SIGINT or SIGTERM",
		usage:   "serve [--model singlecore|goroutines|prefork] [--sched " + strings.Join(scheds, "|") + "] [--workers N|max|max-K] [flags]",
		examples: `  bench serve --model singlecore --cpus 1            # one process, GOMAXPROCS=1, pinned to CPU 1
  bench serve --model goroutines --workers 8          # one process, GOMAXPROCS=8
  bench serve --model prefork --sched rr --workers 8  # master + 8 workers, master passes connections round-robin
  bench serve --model prefork --sched os              # workers accept on one shared socket
  bench serve --model prefork --sched sticky          # a client address always reaches the same worker
  bench serve --model prefork --state redis://127.0.0.1:6379   # shared counter and sessions in Redis
  bench serve --model ` + variant.PreforkReusePort.Name + ` --workers max-1 --addr 127.0.0.1:0
  bench serve --model singlecore --event-loop        # one request's handler at a time, like a Node.js process
  bench serve --model prefork --chaos                 # enables /crash, to watch a worker restart
  bench serve --model prefork --exit-after 300ms --max-restarts 3   # a crash loop: backoff, then errored
  bench serve --model prefork --max-memory 512M       # replace a worker gracefully above 512 MB, like PM2's max_memory_restart
  bench serve --header-timeout 10s --idle-timeout 0   # slow clients: 10 s for a request's headers, kept-alive connections kept
  kill -HUP $(pgrep -f "bench serve")                 # rolling reload, like bench reload`,
		run: runServe,
	})
}

// serveFlags are the flags of `bench serve`.
type serveFlags struct {
	model, sched, addr, workers, cpus    string
	chaos                                bool
	cpuIters                             int
	grace, minUptime, startup, exitAfter time.Duration
	unresponsiveRestart                  time.Duration
	maxRestarts                          int
	control, maxMemory, state            string
	noHandover, eventLoop                bool
	headerTimeout, requestTimeout        time.Duration
	idleTimeout                          time.Duration
}

func runServe(c *cli, args []string) error {
	var f serveFlags
	fs := c.flags()
	names, _ := preforkVariants()
	fs.StringVar(&f.model, "model", models.Prefork, "singlecore, goroutines or prefork (also "+strings.Join(names, ", ")+")")
	fs.StringVar(&f.sched, "sched", "", "prefork scheduling: rr (master passes connections round-robin), os (shared accept queue), reuseport (SO_REUSEPORT), sticky (master picks the worker by client address); default rr")
	fs.StringVar(&f.addr, "addr", models.DefaultAddr, "listen address; port 0 picks a free port")
	fs.StringVar(&f.workers, "workers", "max", "worker processes (prefork) or GOMAXPROCS (goroutines): N, max or max-K")
	fs.StringVar(&f.cpus, "cpus", "", "pin the server to these CPUs, e.g. 1 or 0-3,6 (prefork pins worker i to the i-th CPU of the list)")
	fs.BoolVar(&f.chaos, "chaos", false, "enable /crash, which exits the worker serving it")
	fs.IntVar(&f.cpuIters, "cpu-iters", workload.DefaultCPUIters, "SHA-256 rounds of /cpu when the request does not say ?n=")
	fs.DurationVar(&f.grace, "grace", models.DefaultGrace, "on shutdown, how long requests in flight may take to finish")
	fs.DurationVar(&f.minUptime, "min-uptime", time.Second, "prefork: a worker that dies sooner counts as an unstable restart")
	fs.IntVar(&f.maxRestarts, "max-restarts", 16, "prefork: unstable restarts in a row before a slot is left errored")
	fs.StringVar(&f.state, "state", "", "keep /counter/shared and /session in a store all workers reach, e.g. redis://127.0.0.1:6379")
	fs.StringVar(&f.maxMemory, "max-memory", "", "prefork: replace a worker gracefully when its memory passes this, e.g. 512M or 2G")
	fs.BoolVar(&f.noHandover, "no-handover", false, "prefork reuseport: do not hand a slot's socket to the worker replacing it (to measure the connections that resets)")
	fs.BoolVar(&f.eventLoop, "event-loop", false, "singlecore, prefork: run handler code one request at a time per process, in arrival order, as a Node.js event loop does (a long /cpu stops the others; /io waits off the loop)")
	fs.DurationVar(&f.startup, "startup", 0, "how long the server (prefork: each worker, each start) takes to load before it listens, as a real app does")
	fs.DurationVar(&f.exitAfter, "exit-after", 0, "prefork: every worker exits with status 1 this long after it is ready, a bad deploy's crash loop for --min-uptime and --max-restarts to deal with")
	fs.DurationVar(&f.headerTimeout, "header-timeout", models.DefaultHeaderTimeout, "close a connection whose request headers take longer than this to arrive (a slow or stalled client, slowloris); 0 never does; Node's headersTimeout")
	fs.DurationVar(&f.requestTimeout, "request-timeout", models.DefaultRequestTimeout, "close a connection whose whole request, body included, takes longer than this to arrive; 0 never does; Node's requestTimeout")
	fs.DurationVar(&f.idleTimeout, "idle-timeout", models.DefaultIdleTimeout, "close a kept-alive connection that sends no new request for this long; 0 never does; Node's keepAliveTimeout")
	fs.DurationVar(&f.unresponsiveRestart, "unresponsive-restart", prefork.DefaultUnresponsiveRestart, "prefork rr, sticky: restart a worker that has left a connection passed to it unacknowledged this long (stopped, wedged; it gets none after a second); 0 never does")
	fs.StringVar(&f.control, "control", "", "prefork: control socket path for bench ps/top/reload/scale/logs (default: one per master under "+control.ControlDir()+")")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	o, sched, err := f.options()
	if err != nil {
		return err
	}
	o.Log = c.stderr
	ctx, stop := signalContext()
	defer stop()
	o.Ready = func(i models.Info) {
		fmt.Fprintln(c.stdout, i.Line())
		if c.smoke {
			stop() // it started: that is all a smoke run asks
		}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	switch o.model {
	case models.SingleCore, models.Goroutines:
		go func() {
			for range hup {
				fmt.Fprintf(c.stderr, "bench serve: SIGHUP ignored: rolling reload is a prefork feature\n")
			}
		}()
		if o.model == models.Goroutines {
			return goroutines.Run(ctx, o.Options)
		}
		if fs.Changed("workers") && o.Workers != 1 {
			fmt.Fprintf(c.stderr, "bench serve: singlecore always runs one worker; --workers %s ignored\n", f.workers)
		}
		return singlecore.Run(ctx, o.Options)
	}
	m, err := prefork.New(prefork.Options{
		Options:             o.Options,
		Sched:               sched,
		Policy:              prefork.Policy{MinUptime: f.minUptime, MaxRestarts: f.maxRestarts},
		MaxMemory:           o.maxMemory,
		ExitAfter:           f.exitAfter,
		Control:             f.control,
		NoHandover:          f.noHandover,
		UnresponsiveRestart: cmp.Or(f.unresponsiveRestart, -1), // 0: never
	})
	if err != nil {
		return err
	}
	// SIGHUP reloads, as it does for nginx and PM2.
	go func() {
		for range hup {
			m.Reload(ctx, 1, func(s string) {})
		}
	}()
	return m.Run(ctx)
}

// preforkVariants returns the names and schedulers of the prefork
// variants: --model takes the names, --sched the schedulers.
func preforkVariants() (names, scheds []string) {
	for _, v := range variant.All() {
		if v.Prefork() {
			names, scheds = append(names, v.Name), append(scheds, v.Sched)
		}
	}
	return names, scheds
}

type serveOptions struct {
	models.Options
	model     string
	maxMemory int64
}

// options validates the flags; every problem is a usage error.
func (f *serveFlags) options() (serveOptions, string, error) {
	var o serveOptions
	model, sched := f.model, f.sched
	if v, ok := variant.Lookup(model); ok && v.Sched != "" { // prefork-rr for --model prefork --sched rr
		if sched != "" && sched != v.Sched {
			return o, "", usagef("--model %s and --sched %s disagree", model, sched)
		}
		model, sched = v.Model, v.Sched
	}
	switch model {
	case models.SingleCore, models.Goroutines:
		if sched != "" {
			return o, "", usagef("--sched applies to --model prefork only")
		}
	case models.Prefork:
		if sched == "" {
			sched = models.SchedRR
		}
		if _, scheds := preforkVariants(); !slices.Contains(scheds, sched) {
			return o, "", usagef("unknown --sched %q: want %s", sched, strings.Join(scheds, ", "))
		}
	default:
		return o, "", usagef("unknown --model %q: want singlecore, goroutines or prefork", f.model)
	}
	o.model = model
	if err := checkAddr(f.addr); f.addr != "" && err != nil { // "": the default
		return o, "", usagef("--addr %q: %v", f.addr, err)
	}

	allowed, err := affinity.Allowed()
	if err != nil {
		return o, "", err
	}
	if f.cpus != "" {
		if o.CPUs, err = parseCPUs(f.cpus); err != nil {
			return o, "", err
		}
		allowed = o.CPUs
	}
	if o.Workers, err = models.ParseWorkers(f.workers, len(allowed)); err != nil {
		return o, "", usagef("--workers: %v", err)
	}
	if model == models.SingleCore {
		o.Workers = 1
	}
	if f.cpuIters < 0 || f.cpuIters > workload.MaxCPUIters {
		return o, "", usagef("--cpu-iters %d: want 0 to %d", f.cpuIters, workload.MaxCPUIters)
	}
	if f.grace <= 0 {
		return o, "", usagef("--grace %v: want a positive duration", f.grace)
	}
	if f.minUptime <= 0 || f.maxRestarts <= 0 {
		return o, "", usagef("--min-uptime and --max-restarts must be positive")
	}
	if f.maxMemory != "" {
		if model != models.Prefork {
			return o, "", usagef("--max-memory applies to --model prefork only")
		}
		if o.maxMemory, err = parseSize(f.maxMemory); err != nil || o.maxMemory <= 0 {
			return o, "", usagef("--max-memory %q: want a size such as 512M or 2G", f.maxMemory)
		}
	}
	if f.state != "" {
		if err := state.Check(f.state); err != nil {
			return o, "", usagef("--state: %v", err)
		}
		o.State = f.state
	}
	if f.noHandover && sched != models.SchedReusePort {
		return o, "", usagef("--no-handover applies to --model prefork --sched reuseport only")
	}
	if f.startup < 0 || f.exitAfter < 0 || f.unresponsiveRestart < 0 {
		return o, "", usagef("--startup, --exit-after and --unresponsive-restart must not be negative")
	}
	if f.exitAfter > 0 && model != models.Prefork {
		return o, "", usagef("--exit-after applies to --model prefork only: a crash loop needs a master to restart the workers")
	}
	if f.eventLoop && model == models.Goroutines {
		return o, "", usagef("--event-loop applies to --model singlecore or prefork: one loop per process, as Node runs one per process")
	}
	if f.control != "" && model != models.Prefork {
		return o, "", usagef("--control applies to --model prefork only")
	}
	if f.headerTimeout < 0 || f.requestTimeout < 0 || f.idleTimeout < 0 {
		return o, "", usagef("--header-timeout, --request-timeout and --idle-timeout must not be negative (0 is none)")
	}
	if f.headerTimeout > f.requestTimeout && f.requestTimeout > 0 {
		return o, "", usagef("--header-timeout %v is longer than --request-timeout %v, which the headers are part of", f.headerTimeout, f.requestTimeout)
	}
	none := func(d time.Duration) time.Duration { return cmp.Or(d, -1) } // 0 on the command line: no limit
	o.Timeouts = models.Timeouts{Header: none(f.headerTimeout), Request: none(f.requestTimeout), Idle: none(f.idleTimeout)}
	o.Addr, o.Chaos, o.CPUIters, o.Grace, o.EventLoop, o.Startup = f.addr, f.chaos, f.cpuIters, f.grace, f.eventLoop, f.startup
	return o, sched, nil
}

// checkAddr checks that addr reads as a listen address, HOST:PORT with a
// port of 0 to 65535 (or a service name); whether the host is one of this
// machine's is for the listen to say.
func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want HOST:PORT, e.g. 127.0.0.1:8080, or 127.0.0.1:0 for a free port")
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("bad port %q: want 0 to 65535", port)
	}
	return nil
}
