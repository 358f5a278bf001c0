package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/corebench/corebench/internal/proc"
	"github.com/corebench/corebench/loadgen"
	"github.com/corebench/corebench/report"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/scenario"
	"github.com/corebench/corebench/suite"
	"github.com/corebench/corebench/variant"
)

func init() {
	register(&command{
		name:    "scenario",
		summary: "Crash, reload, scale or stall a server under a steady load, block its event loop, or break its state, and chart what it cost",
		usage:   "scenario " + strings.Join(scenario.Names(), "|") + " [--model M] [--rate R] [-d DUR] [flags]",
		examples: `  bench scenario block                          # one 200 ms /cpu among 500 req/s of /: preempted, on an event loop, in a cluster of them
  bench scenario crash                          # SIGKILL one of 4 prefork-rr workers at 2000 req/s: only its requests in flight fail
  bench scenario crash --model singlecore       # the whole service is down until it is restarted (here after 1s)
  bench scenario crash --workers 2 --path /cpu --share 0.8 --startup 1s   # near capacity, with a slow-loading app: what a restart costs
  bench scenario sizing                         # --workers max against max-1 next to a CPU-bound neighbour (a database)
  bench scenario crashloop --max-restarts 3     # every worker dies 300 ms after it starts: backoff, then errored
  bench scenario reload                         # rolling reload under load: 0 failed requests
  bench scenario reload --model ` + variant.PreforkReusePort.Name + ` --no-handover   # what closing SO_REUSEPORT sockets costs
  bench scenario scale                          # 2 -> 8 -> 2 workers under load: 0 failed requests
  bench scenario state                          # per-process counters and sessions break; the master's counter and sticky work
  bench scenario state --state redis://127.0.0.1:6379   # and the Redis answer
  bench scenario stall --model singlecore       # the server stops for 500 ms: the open loop's p99 shows it
  bench scenario stall --model singlecore --closed   # the closed loop's p99 hides it (coordinated omission)
  bench scenario stall --model singlecore --out results/stall-open
  bench scenario stall --model singlecore --closed --overlay results/stall-open   # both loops' spectra on one chart
  bench scenario crash --server 'node=node examples/node-cluster/server.js --port {port} --workers {workers}'   # SIGKILL a worker of yours`,
		run: runScenario,
	})
}

// scenarioFlags are the flags of bench scenario.
type scenarioFlags struct {
	load                                scenario.Load
	at, restart, stall, work, threshold time.Duration
	startup, exitAfter, minUptime       time.Duration
	crash, state                        string
	noHandover                          bool
	share                               float64
	requests, users, iters, maxRestarts int
}

// build returns s, the scenario the command line names, with its options
// from the flags.
func (f *scenarioFlags) build(s scenario.Scenario) scenario.Scenario {
	l := f.load
	switch s.(type) {
	case scenario.Block:
		b := scenario.Block{Workers: l.Workers, Rate: l.Rate, Path: l.Path, Duration: l.Duration, At: f.at, Connections: l.Connections, Work: f.work, Iters: f.iters, Threshold: f.threshold}
		if l.Model.External() {
			b.Server = l.Model
		}
		return b
	case scenario.Crash:
		return scenario.Crash{Load: l, At: f.at, Share: f.share, How: f.crash, Restart: f.restart, Startup: f.startup, NoHandover: f.noHandover}
	case scenario.Crashloop:
		return scenario.Crashloop{Load: l, ExitAfter: f.exitAfter, MinUptime: f.minUptime, MaxRestarts: f.maxRestarts, Startup: f.startup, NoHandover: f.noHandover}
	case scenario.Reload:
		return scenario.Reload{Load: l, At: f.at, Share: f.share, Startup: f.startup, NoHandover: f.noHandover}
	case scenario.Scale:
		return scenario.Scale{Load: l, At: f.at, Share: f.share, Startup: f.startup, NoHandover: f.noHandover}
	case scenario.Sizing:
		return scenario.Sizing{Model: l.Model, Path: l.Path, Duration: l.Duration, Connections: l.Connections}
	case scenario.State:
		return scenario.State{Workers: l.Workers, Duration: l.Duration, Requests: f.requests, Users: f.users, Store: f.state}
	case scenario.Stall:
		return scenario.Stall{Load: l, At: f.at, Share: f.share, For: f.stall}
	}
	return s
}

func runScenario(c *cli, args []string) error {
	var f scenarioFlags
	o := &f.load
	var model, out, overlay, server, ready string
	var asJSON bool
	fs := c.flags()
	fs.StringVar(&model, "model", variant.PreforkRR.Name, "model: "+strings.Join(variant.Names(variant.All()), ", "))
	fs.StringVar(&server, "server", "", "crash or stall a server of yours instead of a model: NAME=COMMAND, as bench run --server")
	fs.StringVar(&ready, "ready", "", "with --server: NAME=REGEXP, ready at a stdout line that matches, as bench run --ready")
	fs.IntVar(&o.Workers, "workers", 0, "workers (default 4; scale starts at 2)")
	fs.Float64Var(&o.Rate, "rate", 2000, "offered load, requests per second (open loop)")
	fs.StringVar(&o.Path, "path", "/io?ms=5", "what the load requests; /io keeps many requests in flight")
	fs.DurationVarP(&o.Duration, "duration", "d", 6*time.Second, "how long the load runs")
	fs.DurationVar(&f.at, "at", 0, "when the action happens (default: a third of the way; scale acts again at twice that)")
	fs.StringVar(&f.crash, "crash", "kill", "crash: how the worker dies: kill (SIGKILL) or request (/crash)")
	fs.DurationVar(&f.restart, "restart", time.Second, "crash, one-process models: how long the supervisor takes to start the server again; negative: never")
	fs.BoolVar(&f.noHandover, "no-handover", false, "reload, "+variant.PreforkReusePort.Name+": new workers bind their own sockets instead of taking over the old ones")
	fs.BoolVar(&o.NoKeepAlive, "no-keepalive", false, "a new connection per request (fills the accept queues)")
	fs.BoolVar(&o.Closed, "closed", false, "a closed loop of --connections instead of --rate: see stall")
	fs.IntVarP(&o.Connections, "connections", "c", 16, "connections to start with (open loop) or to keep busy (--closed)")
	fs.DurationVar(&f.stall, "stall", 500*time.Millisecond, "stall: how long the server is stopped (SIGSTOP)")
	fs.StringVar(&f.state, "state", "", "state: a store for the production answer, e.g. redis://127.0.0.1:6379")
	fs.IntVar(&f.requests, "requests", 1000, "state: requests sent to each counter")
	fs.IntVar(&f.users, "users", 50, "state: users logging in, each from its own loopback address")
	fs.StringVar(&overlay, "overlay", "", "stall: also draw this run's latency spectrum over the one of DIR, an earlier stall run with the other loop (its --out), as spectrum.png")
	fs.DurationVar(&f.work, "work", 200*time.Millisecond, "block: the CPU time of the slow request, sized on the idle server")
	fs.IntVar(&f.iters, "iters", 0, "block: the slow request's /cpu?n= instead of sizing it to --work")
	fs.DurationVar(&f.threshold, "threshold", 100*time.Millisecond, "block: a cheap request waiting longer than this was held up")
	fs.Float64Var(&f.share, "share", 0, "crash, reload, scale: offer this share of the capacity measured first (a closed-loop burst) instead of --rate, e.g. 0.8")
	fs.DurationVar(&f.startup, "startup", 0, "the server's processes take this long to load before they listen (bench serve --startup): what each restart costs")
	fs.DurationVar(&f.exitAfter, "exit-after", 300*time.Millisecond, "crashloop: every worker exits with status 1 this long after it is ready")
	fs.DurationVar(&f.minUptime, "min-uptime", 0, "crashloop: the master's --min-uptime (default bench serve's, 1s)")
	fs.IntVar(&f.maxRestarts, "max-restarts", 0, "crashloop: the master's --max-restarts (default bench serve's, 16)")
	fs.StringVar(&out, "out", "", "directory for the timeline, charts and result.json (default: results/scenario-<name>-<UTC time>)")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON instead of the summary")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one scenario: %s", strings.Join(scenario.Names(), ", "))
	}
	s, err := scenario.Parse(fs.Arg(0))
	if err != nil {
		return usagef("%v", err)
	}
	// block and sizing have defaults of their own (scenario.Block,
	// scenario.Sizing): a light load of / for 3 s, a closed loop of 64 on
	// /cpu for 4 s.
	_, isBlock := s.(scenario.Block)
	_, isSizing := s.(scenario.Sizing)
	blockDefaults := isBlock || isSizing
	if blockDefaults {
		if !fs.Changed("rate") {
			o.Rate = 0
		}
		if !fs.Changed("path") {
			o.Path = ""
		}
		if !fs.Changed("duration") {
			o.Duration = 0
		}
		if !fs.Changed("connections") {
			o.Connections = 0
		}
	}
	if o.Model, err = variant.Parse(model); err != nil {
		return usagef("--model: %v", err)
	}
	if server != "" {
		if fs.Changed("model") {
			return usagef("--model and --server both name the server: give one")
		}
		servers := make([]variant.Variant, 1)
		if servers[0], err = variant.ParseServer(server); err != nil {
			return usagef("--server: %v", err)
		}
		if ready != "" {
			if err := variant.ParseReady(servers, ready); err != nil {
				return usagef("--ready: %v", err)
			}
		}
		o.Model = servers[0]
		if err := scenario.CheckServer(s, o.Model); err != nil {
			return usagef("%v", err)
		}
	}
	if c.smoke {
		o.Duration, f.at, o.Rate = 1500*time.Millisecond, 0, min(o.Rate, 300)
		f.requests, f.users, f.restart = min(f.requests, 100), min(f.users, 8), min(f.restart, 200*time.Millisecond)
	}
	if isBlock && c.smoke {
		o.Rate, f.at, f.work = 0, 800*time.Millisecond, min(f.work, 50*time.Millisecond)
	}
	if isSizing && c.smoke {
		o.Rate, o.Duration = 0, 500*time.Millisecond
	}
	if o.Rate < 0 || o.Duration < 0 || !blockDefaults && (o.Rate == 0 || o.Duration == 0) || f.iters < 0 || f.work <= 0 || f.threshold <= 0 ||
		f.requests <= 0 || f.users <= 0 || f.users > 60000 || o.Connections < 0 || o.Connections == 0 && !blockDefaults || f.stall <= 0 ||
		f.startup < 0 || f.exitAfter <= 0 || f.minUptime < 0 || f.maxRestarts < 0 {
		return usagef("--rate, --duration, --connections, --stall, --requests, --users, --work and --threshold must be positive (users at most 60000), --iters, --startup, --min-uptime and --max-restarts 0 or more, --exit-after positive")
	}
	s = f.build(s)
	if err := s.Check(); err != nil {
		return usagef("%v", err)
	}
	// Read the run to overlay before this one runs: a wrong directory
	// should fail now, not after the load.
	var other *results.Scenario
	if overlay != "" {
		st, ok := s.(scenario.Stall)
		if !ok {
			return usagef("--overlay is for the stall scenario")
		}
		if other, err = results.LoadScenario(overlay); err != nil {
			return usagef("--overlay: %v", err)
		}
		if other.Scenario != s.Name() || other.Model != o.Model.Name || (other.Rate == 0) == st.Closed {
			return usagef("--overlay: %s is a %s of %s with a %s loop; want a stall of %s with the other loop than this run's", overlay, other.Scenario, other.Model, loopName(other.Rate == 0), o.Model.Name)
		}
	}
	proc.ReapOrphans() // as bench run: what a server leaves is ours to reap
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "bench-scenario-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o700)
	env := scenario.Env{
		Serve:    func(args ...string) *exec.Cmd { return exec.Command(exe, args...) },
		Generate: loadgen.Generate,
		Dir:      dir,
		Log:      func(s string) { fmt.Fprintln(c.stderr, s) },
	}

	start := time.Now().UTC()
	if out == "" {
		out = filepath.Join("results", "scenario-"+s.Name()+"-"+start.Format("20060102T150405Z"))
	}
	// As bench run: a directory the result cannot be written in is
	// refused before any load.
	if err := results.CheckDir(out); err != nil {
		if fs.Changed("out") {
			return usagef("--out %s: %v", out, err)
		}
		return usagef("the result goes in results/ by default: %v; give --out DIR", err)
	}

	ctx, stop := signalContext()
	defer stop()
	r, err := s.Run(ctx, env)
	var stopped *scenario.InterruptedError
	if errors.As(err, &stopped) {
		// As bench run on Ctrl-C: what was measured is kept, marked, and
		// the status is 1.
		err = fmt.Errorf("%v: what was measured is in %s, marked interrupted", stopped, out)
		if !stopped.Kept {
			err = fmt.Errorf("%v, before anything was measured: nothing written", stopped)
		}
	}
	if r == nil {
		return err
	}
	files, werr := writeScenario(r, out, start, other)
	if asJSON {
		json.NewEncoder(c.stdout).Encode(r)
	} else {
		report.ScenarioText(c.stdout, r)
		if len(files) > 0 {
			fmt.Fprintf(c.stdout, "written: %s\n", strings.Join(files, " "))
		}
	}
	if err != nil {
		return err
	}
	return werr
}

// writeScenario saves r and draws its charts into dir, and, with other,
// both runs' latency spectra over each other (the open loop's first), and
// returns the files written.
func writeScenario(r *results.Scenario, dir string, start time.Time, other *results.Scenario) ([]string, error) {
	p, err := r.Save(dir)
	if err != nil {
		return nil, err
	}
	env := suite.Environment(version, "", "")
	charts, err := report.RenderScenario(r, env, start, dir)
	files := append([]string{p}, charts...)
	if err != nil || other == nil || r.Load == nil {
		return files, err
	}
	runs := []*results.Scenario{other, r}
	if r.Rate > 0 {
		runs = []*results.Scenario{r, other}
	}
	spectra, err := report.RenderSpectra(runs, env, start, dir)
	return append(files, spectra...), err
}

func loopName(closed bool) string {
	if closed {
		return "closed"
	}
	return "open"
}
