package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

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
		name:     "scenario",
		summary:  "Crash, reload, scale or stall a server under a steady load, block its event loop, or break its state, and chart what it cost",
		usage:    "scenario " + strings.Join(scenario.Names(), "|") + " [--model M] [--rate R] [-d DUR] [flags]",
		examples: scenarioExamples(),
		run:      runScenario,
	})
}

// scenarioExamples are bench scenario's examples, their defaults told
// from the scenario package's.
func scenarioExamples() string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }
	return fmt.Sprintf(`  bench scenario block                          # one %s /cpu among %d req/s of %s: preempted, on an event loop, in a cluster of them
  bench scenario crash                          # SIGKILL one of %d %s workers at %d req/s: only its requests in flight fail
  bench scenario crash --model singlecore       # the whole service is down until it is restarted (here after %v)
  bench scenario crash --workers 2 --path /cpu --share 0.8 --startup 1s   # near capacity, with a slow-loading app: what a restart costs
  bench scenario sizing                         # --workers max against max-1 next to a CPU-bound neighbour (a database)
  bench scenario crashloop --max-restarts 3     # every worker dies %s after it starts: backoff, then errored
  bench scenario reload                         # rolling reload under load: 0 failed requests
  bench scenario reload --model %s --no-handover   # what closing SO_REUSEPORT sockets costs
  bench scenario scale                          # %d -> %d -> %d workers under load: 0 failed requests
  bench scenario state                          # per-process counters and sessions break; the master's counter and sticky work
  bench scenario state --state redis://127.0.0.1:6379   # and the Redis answer
  bench scenario stall --model singlecore       # the server stops for %s: the open loop's p99 shows it
  bench scenario stall --model singlecore --closed   # the closed loop's p99 hides it (coordinated omission)
  bench scenario stall --model singlecore --out results/stall-open
  bench scenario stall --model singlecore --closed --overlay results/stall-open   # both loops' spectra on one chart
  bench scenario crash --server 'node=node examples/node-cluster/server.js --port {port} --workers {workers}'   # SIGKILL a worker of yours`,
		ms(scenario.DefaultWork), scenario.BlockRate, scenario.BlockPath,
		scenario.DefaultWorkers, scenario.DefaultModel, scenario.DefaultRate,
		scenario.DefaultRestart,
		ms(scenario.DefaultExitAfter),
		variant.PreforkReusePort,
		scenario.ScaleFrom, scenario.ScaleTo, scenario.ScaleFrom,
		ms(scenario.DefaultStall))
}

// scenarioFlags are bench scenario's flags. Each defaults to its zero
// value, so that the scenario package's defaults decide, as vegeta's
// attack leaves its library's; the help names them from the package's
// constants.
type scenarioFlags struct {
	model, server, ready string
	workers, connections int
	rate, share          float64
	path                 string
	duration, at         time.Duration
	closed, noKeepAlive  bool
	crash                string
	restart, startup     time.Duration
	noHandover           bool
	stall                time.Duration
	overlay              string
	exitAfter, minUptime time.Duration
	maxRestarts          int
	state                string
	requests, users      int
	work, threshold      time.Duration
	iters                int
	out                  string
	json                 bool
	v                    variant.Variant // the server, from --model or --server
}

// define defines the flags on fs. Those that only some scenarios take
// say which, from build.
func (f *scenarioFlags) define(fs *pflag.FlagSet) {
	fs.StringVar(&f.model, "model", "", fmt.Sprintf("model: %s (default: %s)", strings.Join(variant.Names(variant.All()), ", "), scenario.DefaultModel))
	fs.StringVar(&f.server, "server", "", "a server of yours instead of a model (block: beside bench's own): NAME=COMMAND, as bench run --server")
	fs.StringVar(&f.ready, "ready", "", "with --server: NAME=REGEXP, ready at a stdout line that matches, as bench run --ready")
	fs.IntVar(&f.workers, "workers", 0, fmt.Sprintf("workers (default: %d; scale starts at %d; block: one per CPU, 2 at least)", scenario.DefaultWorkers, scenario.ScaleFrom))
	fs.Float64Var(&f.rate, "rate", 0, fmt.Sprintf("offered load, requests per second (open loop) (default: %d; block: %d)", scenario.DefaultRate, scenario.BlockRate))
	fs.StringVar(&f.path, "path", "", fmt.Sprintf("what the load requests; /io keeps many requests in flight (default: %s; block: %s, sizing: %s)", scenario.DefaultPath, scenario.BlockPath, scenario.SizingPath))
	fs.DurationVarP(&f.duration, "duration", "d", 0, fmt.Sprintf("how long the load runs (default: %v; block: %v, sizing: %v)", scenario.DefaultDuration, scenario.BlockDuration, scenario.SizingDuration))
	fs.DurationVar(&f.at, "at", 0, fmt.Sprintf("when the action happens; scale acts again at twice that (default: a third of the way; block: %v)", scenario.BlockAt))
	fs.StringVar(&f.crash, "crash", "", fmt.Sprintf("how the worker dies: %s (SIGKILL) or %s (/crash) (default: %s)", scenario.CrashKill, scenario.CrashRequest, scenario.CrashKill))
	fs.DurationVar(&f.restart, "restart", 0, fmt.Sprintf("how long the supervisor of a one-process server takes to start it again; negative: never (default: %v)", scenario.DefaultRestart))
	fs.BoolVar(&f.noHandover, "no-handover", false, "with "+variant.PreforkReusePort.Name+", new workers bind their own sockets instead of taking over the old ones")
	fs.BoolVar(&f.noKeepAlive, "no-keepalive", false, "a new connection per request (fills the accept queues)")
	fs.BoolVar(&f.closed, "closed", false, "a closed loop of --connections instead of --rate: see stall")
	fs.IntVarP(&f.connections, "connections", "c", 0, fmt.Sprintf("connections to start with (open loop) or to keep busy (--closed) (default: %d; sizing: %d)", scenario.DefaultConnections, scenario.SizingConnections))
	fs.DurationVar(&f.stall, "stall", 0, fmt.Sprintf("how long the server is stopped (SIGSTOP) (default: %v)", scenario.DefaultStall))
	fs.StringVar(&f.state, "state", "", "a store for the production answer, e.g. redis://127.0.0.1:6379")
	fs.IntVar(&f.requests, "requests", 0, fmt.Sprintf("requests sent to each counter (default: %d)", scenario.DefaultRequests))
	fs.IntVar(&f.users, "users", 0, fmt.Sprintf("users logging in, each from its own loopback address (default: %d)", scenario.DefaultUsers))
	fs.StringVar(&f.overlay, "overlay", "", "also draw this run's latency spectrum over the one of DIR, an earlier stall run with the other loop (its --out), as spectrum.png")
	fs.DurationVar(&f.work, "work", 0, fmt.Sprintf("the CPU time of the slow request, sized on the idle server (default: %v)", scenario.DefaultWork))
	fs.IntVar(&f.iters, "iters", 0, "the slow request's /cpu?n= instead of sizing it to --work")
	fs.DurationVar(&f.threshold, "threshold", 0, fmt.Sprintf("a cheap request waiting longer than this was held up (default: %v)", scenario.DefaultThreshold))
	fs.Float64Var(&f.share, "share", 0, "offer this share of the capacity measured first (a closed-loop burst) instead of --rate, e.g. 0.8")
	fs.DurationVar(&f.startup, "startup", 0, "the server's processes take this long to load before they listen (bench serve --startup): what each restart costs")
	fs.DurationVar(&f.exitAfter, "exit-after", 0, fmt.Sprintf("every worker exits with status 1 this long after it is ready (default: %v)", scenario.DefaultExitAfter))
	fs.DurationVar(&f.minUptime, "min-uptime", 0, "the master's --min-uptime (default: bench serve's, 1s)")
	fs.IntVar(&f.maxRestarts, "max-restarts", 0, "the master's --max-restarts (default: bench serve's, 16)")
	fs.StringVar(&f.out, "out", "", "directory for the timeline, charts and result.json (default: results/scenario-<name>-<UTC time>)")
	fs.BoolVar(&f.json, "json", false, "print the result as JSON instead of the summary")
	// A flag that few scenarios take says which.
	fs.VisitAll(func(fl *pflag.Flag) {
		if by := takers(fl.Name); len(by) <= len(scenario.Names())/2 {
			fl.Usage = strings.Join(by, ", ") + ": " + fl.Usage
		}
	})
}

// build returns s, the scenario the command line names, with its options
// from f, and the flags it takes: every one but --out, --json and, for a
// scenario that runs only bench's own servers, --server and --ready.
func (f *scenarioFlags) build(s scenario.Scenario) (scenario.Scenario, []string) {
	l := scenario.Load{Model: f.v, Workers: f.workers, Rate: f.rate, Path: f.path, Duration: f.duration, Connections: f.connections, Closed: f.closed, NoKeepAlive: f.noKeepAlive}
	load := []string{"model", "workers", "rate", "path", "duration", "connections", "closed", "no-keepalive"}
	switch s.(type) {
	case scenario.Block:
		return scenario.Block{Server: f.v, Workers: f.workers, Rate: f.rate, Path: f.path, Duration: f.duration, At: f.at, Connections: f.connections, Work: f.work, Iters: f.iters, Threshold: f.threshold},
			[]string{"workers", "rate", "path", "duration", "at", "connections", "work", "iters", "threshold"}
	case scenario.Crash:
		return scenario.Crash{Load: l, At: f.at, Share: f.share, How: f.crash, Restart: f.restart, Startup: f.startup, NoHandover: f.noHandover},
			append(load, "at", "share", "crash", "restart", "startup", "no-handover")
	case scenario.Crashloop:
		return scenario.Crashloop{Load: l, ExitAfter: f.exitAfter, MinUptime: f.minUptime, MaxRestarts: f.maxRestarts, Startup: f.startup, NoHandover: f.noHandover},
			append(load, "exit-after", "min-uptime", "max-restarts", "startup", "no-handover")
	case scenario.Reload:
		return scenario.Reload{Load: l, At: f.at, Share: f.share, Startup: f.startup, NoHandover: f.noHandover},
			append(load, "at", "share", "startup", "no-handover")
	case scenario.Scale:
		return scenario.Scale{Load: l, At: f.at, Share: f.share, Startup: f.startup, NoHandover: f.noHandover},
			append(load, "at", "share", "startup", "no-handover")
	case scenario.Sizing:
		return scenario.Sizing{Model: f.v, Path: f.path, Duration: f.duration, Connections: f.connections},
			[]string{"model", "path", "duration", "connections"}
	case scenario.State:
		return scenario.State{Workers: f.workers, Duration: f.duration, Requests: f.requests, Users: f.users, Store: f.state},
			[]string{"workers", "duration", "requests", "users", "state"}
	case scenario.Stall:
		return scenario.Stall{Load: l, At: f.at, Share: f.share, For: f.stall},
			append(load, "at", "share", "stall", "overlay")
	}
	panic(fmt.Sprintf("bench scenario does not know the %s scenario", s.Name()))
}

// takes reports whether s takes the flag named name.
func takes(s scenario.Scenario, name string) bool {
	switch name {
	case "out", "json":
		return true
	case "server", "ready":
		return !s.OwnServersOnly()
	}
	_, flags := new(scenarioFlags).build(s)
	return slices.Contains(flags, name)
}

// takers returns the names of the scenarios that take the flag named name.
func takers(name string) []string {
	var by []string
	for _, s := range scenario.All() {
		if takes(s, name) {
			by = append(by, s.Name())
		}
	}
	return by
}

// scenario returns the scenario the parsed flags of fs name, with its
// options, at smoke scale if smoke; every problem is a usage error.
func (f *scenarioFlags) scenario(fs *pflag.FlagSet, smoke bool) (scenario.Scenario, error) {
	if fs.NArg() != 1 {
		return nil, usagef("want one scenario: %s", strings.Join(scenario.Names(), ", "))
	}
	s, err := scenario.Parse(fs.Arg(0))
	if err != nil {
		return nil, usagef("%v", err)
	}
	var refused error
	fs.Visit(func(fl *pflag.Flag) {
		// --server has a message of its own, which says why.
		if refused == nil && !takes(s, fl.Name) && fl.Name != "server" && fl.Name != "ready" {
			refused = usagef("--%s is for the %s, not %s", fl.Name, scenarioList(takers(fl.Name)), s.Name())
		}
	})
	if refused != nil {
		return nil, refused
	}
	if err := f.resolveServer(fs, s); err != nil {
		return nil, err
	}
	for _, c := range []struct {
		flag string
		bad  bool
		want string
	}{
		{"rate", f.rate <= 0, "a positive rate"},
		{"duration", f.duration <= 0, "a positive duration"},
		{"connections", f.connections <= 0, "1 or more"},
		{"stall", f.stall <= 0, "a positive duration"},
		{"requests", f.requests <= 0, "1 or more"},
		{"users", f.users <= 0 || f.users > 60000, "1 to 60000"},
		{"work", f.work <= 0, "a positive duration"},
		{"threshold", f.threshold <= 0, "a positive duration"},
		{"exit-after", f.exitAfter <= 0, "a positive duration"},
		{"iters", f.iters < 0, "0 (sized to --work) or more"},
		{"startup", f.startup < 0, "0 or more"},
		{"min-uptime", f.minUptime < 0, "0 (bench serve's) or more"},
		{"max-restarts", f.maxRestarts < 0, "0 (bench serve's) or more"},
	} {
		if c.bad && fs.Changed(c.flag) {
			return nil, usagef("--%s %s: want %s", c.flag, fs.Lookup(c.flag).Value, c.want)
		}
	}
	if smoke {
		f.smoke(s)
	}
	s, _ = f.build(s)
	if err := s.Check(); err != nil {
		return nil, usagef("%v", err)
	}
	return s, nil
}

// resolveServer reads the server s runs from --model or --server.
func (f *scenarioFlags) resolveServer(fs *pflag.FlagSet, s scenario.Scenario) error {
	if f.model != "" {
		v, err := variant.Parse(f.model)
		if err != nil {
			return usagef("--model: %v", err)
		}
		f.v = v
	}
	if f.server == "" {
		return nil
	}
	if fs.Changed("model") {
		return usagef("--model and --server both name the server: give one")
	}
	servers := make([]variant.Variant, 1)
	var err error
	if servers[0], err = variant.ParseServer(f.server); err != nil {
		return usagef("--server: %v", err)
	}
	if f.ready != "" {
		if err := variant.ParseReady(servers, f.ready); err != nil {
			return usagef("--ready: %v", err)
		}
	}
	f.v = servers[0]
	if err := scenario.CheckServer(s, f.v); err != nil {
		return usagef("%v", err)
	}
	return nil
}

// smoke shrinks the flags to smoke scale (cli.smoke): a load of 1.5 s,
// at most 300 req/s, and as few requests, users and restart time as
// tell the scenario works.
func (f *scenarioFlags) smoke(s scenario.Scenario) {
	f.duration, f.at, f.rate = 1500*time.Millisecond, 0, upTo(f.rate, 300)
	f.requests, f.users, f.restart = upTo(f.requests, 100), upTo(f.users, 8), upTo(f.restart, 200*time.Millisecond)
	switch s.(type) {
	case scenario.Block:
		f.rate, f.at, f.work = 0, 800*time.Millisecond, upTo(f.work, 50*time.Millisecond)
	case scenario.Sizing:
		f.rate, f.duration = 0, 500*time.Millisecond
	}
}

// upTo returns v, at most limit; 0, the default, is limit.
func upTo[T int | float64 | time.Duration](v, limit T) T {
	if v == 0 {
		return limit
	}
	return min(v, limit)
}

// scenarioList names scenarios in a sentence: "the stall scenario", "the
// crash and stall scenarios".
func scenarioList(names []string) string {
	if len(names) == 1 {
		return names[0] + " scenario"
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + " scenarios"
}

func runScenario(c *cli, args []string) error {
	var f scenarioFlags
	fs := c.flags()
	f.define(fs)
	if err := c.parse(fs, args); err != nil {
		return err
	}
	s, err := f.scenario(fs, c.smoke)
	if err != nil {
		return err
	}
	other, err := f.overlayOf(s)
	if err != nil {
		return err
	}
	proc.ReapOrphans() // as bench run: what a server leaves is ours to reap
	env, cleanup, err := scenarioEnv(c)
	if err != nil {
		return err
	}
	defer cleanup()

	start := time.Now().UTC()
	out := f.out
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
	if f.json {
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

// overlayOf reads the stall run to overlay (--overlay) before this one
// runs: a wrong directory should fail now, not after the load.
func (f *scenarioFlags) overlayOf(s scenario.Scenario) (*results.Scenario, error) {
	st, ok := s.(scenario.Stall)
	if !ok || f.overlay == "" {
		return nil, nil
	}
	other, err := results.LoadScenario(f.overlay)
	if err != nil {
		return nil, usagef("--overlay: %v", err)
	}
	model := st.Load.WithDefaults().Model.Name
	if other.Scenario != s.Name() || other.Model != model || (other.Rate == 0) == st.Closed {
		return nil, usagef("--overlay: %s is a %s of %s with a %s loop; want a stall of %s with the other loop than this run's", f.overlay, other.Scenario, other.Model, loopName(other.Rate == 0), model)
	}
	return other, nil
}

// scenarioEnv is what the scenarios take from the command: servers
// started as this binary's bench serve, the real load generator, a
// private directory for control sockets (cleanup removes it), progress
// on stderr.
func scenarioEnv(c *cli) (env scenario.Env, cleanup func(), err error) {
	exe, err := os.Executable()
	if err != nil {
		return env, nil, err
	}
	dir, err := os.MkdirTemp("", "bench-scenario-")
	if err != nil {
		return env, nil, err
	}
	os.Chmod(dir, 0o700)
	return scenario.Env{
		Serve:    func(args ...string) *exec.Cmd { return exec.Command(exe, args...) },
		Generate: loadgen.Generate,
		Dir:      dir,
		Log:      func(s string) { fmt.Fprintln(c.stderr, s) },
	}, func() { os.RemoveAll(dir) }, nil
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
