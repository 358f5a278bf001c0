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
		usage:   "scenario " + strings.Join(scenario.Names, "|") + " [--model M] [--rate R] [-d DUR] [flags]",
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

func runScenario(c *cli, args []string) error {
	var o scenario.Options
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
	fs.DurationVar(&o.At, "at", 0, "when the action happens (default: a third of the way; scale acts again at twice that)")
	fs.StringVar(&o.Crash, "crash", "kill", "crash: how the worker dies: kill (SIGKILL) or request (/crash)")
	fs.DurationVar(&o.Restart, "restart", time.Second, "crash, one-process models: how long the supervisor takes to start the server again; negative: never")
	fs.BoolVar(&o.NoHandover, "no-handover", false, "reload, "+variant.PreforkReusePort.Name+": new workers bind their own sockets instead of taking over the old ones")
	fs.BoolVar(&o.NoKeepAlive, "no-keepalive", false, "a new connection per request (fills the accept queues)")
	fs.BoolVar(&o.Closed, "closed", false, "a closed loop of --connections instead of --rate: see stall")
	fs.IntVarP(&o.Connections, "connections", "c", 16, "connections to start with (open loop) or to keep busy (--closed)")
	fs.DurationVar(&o.Stall, "stall", 500*time.Millisecond, "stall: how long the server is stopped (SIGSTOP)")
	fs.StringVar(&o.State, "state", "", "state: a store for the production answer, e.g. redis://127.0.0.1:6379")
	fs.IntVar(&o.Requests, "requests", 1000, "state: requests sent to each counter")
	fs.IntVar(&o.Users, "users", 50, "state: users logging in, each from its own loopback address")
	fs.StringVar(&overlay, "overlay", "", "stall: also draw this run's latency spectrum over the one of DIR, an earlier stall run with the other loop (its --out), as spectrum.png")
	fs.DurationVar(&o.Work, "work", 200*time.Millisecond, "block: the CPU time of the slow request, sized on the idle server")
	fs.IntVar(&o.Iters, "iters", 0, "block: the slow request's /cpu?n= instead of sizing it to --work")
	fs.DurationVar(&o.Threshold, "threshold", 100*time.Millisecond, "block: a cheap request waiting longer than this was held up")
	fs.Float64Var(&o.Share, "share", 0, "crash, reload, scale: offer this share of the capacity measured first (a closed-loop burst) instead of --rate, e.g. 0.8")
	fs.DurationVar(&o.Startup, "startup", 0, "the server's processes take this long to load before they listen (bench serve --startup): what each restart costs")
	fs.DurationVar(&o.ExitAfter, "exit-after", 300*time.Millisecond, "crashloop: every worker exits with status 1 this long after it is ready")
	fs.DurationVar(&o.MinUptime, "min-uptime", 0, "crashloop: the master's --min-uptime (default bench serve's, 1s)")
	fs.IntVar(&o.MaxRestarts, "max-restarts", 0, "crashloop: the master's --max-restarts (default bench serve's, 16)")
	fs.StringVar(&out, "out", "", "directory for the timeline, charts and result.json (default: results/scenario-<name>-<UTC time>)")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON instead of the summary")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one scenario: %s", strings.Join(scenario.Names, ", "))
	}
	o.Name = fs.Arg(0)
	// block and sizing have defaults of their own (scenario.Options): a
	// light load of / for 3 s, a closed loop of 64 on /cpu for 4 s.
	blockDefaults := o.Name == "block" || o.Name == "sizing"
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
	var err error
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
	}
	if c.smoke {
		o.Duration, o.At, o.Rate = 1500*time.Millisecond, 0, min(o.Rate, 300)
		o.Requests, o.Users, o.Restart = min(o.Requests, 100), min(o.Users, 8), min(o.Restart, 200*time.Millisecond)
	}
	if o.Name == "block" && c.smoke {
		o.Rate, o.At, o.Work = 0, 800*time.Millisecond, min(o.Work, 50*time.Millisecond)
	}
	if o.Name == "sizing" && c.smoke {
		o.Rate, o.Duration = 0, 500*time.Millisecond
	}
	if o.Rate < 0 || o.Duration < 0 || !blockDefaults && (o.Rate == 0 || o.Duration == 0) || o.Iters < 0 || o.Work <= 0 || o.Threshold <= 0 ||
		o.Requests <= 0 || o.Users <= 0 || o.Users > 60000 || o.Connections < 0 || o.Connections == 0 && !blockDefaults || o.Stall <= 0 ||
		o.Startup < 0 || o.ExitAfter <= 0 || o.MinUptime < 0 || o.MaxRestarts < 0 {
		return usagef("--rate, --duration, --connections, --stall, --requests, --users, --work and --threshold must be positive (users at most 60000), --iters, --startup, --min-uptime and --max-restarts 0 or more, --exit-after positive")
	}
	if err := o.Check(); err != nil {
		return usagef("%v", err)
	}
	// Read the run to overlay before this one runs: a wrong directory
	// should fail now, not after the load.
	var other *results.Scenario
	if overlay != "" {
		if o.Name != "stall" {
			return usagef("--overlay is for the stall scenario")
		}
		if other, err = results.LoadScenario(overlay); err != nil {
			return usagef("--overlay: %v", err)
		}
		if other.Scenario != o.Name || other.Model != o.Model.Name || (other.Rate == 0) == o.Closed {
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
	o.Dir = dir
	o.Serve = func(args ...string) *exec.Cmd { return exec.Command(exe, args...) }
	o.Generate = loadgen.Generate
	o.Log = func(s string) { fmt.Fprintln(c.stderr, s) }

	start := time.Now().UTC()
	if out == "" {
		out = filepath.Join("results", "scenario-"+o.Name+"-"+start.Format("20060102T150405Z"))
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
	r, err := scenario.Run(ctx, o)
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
