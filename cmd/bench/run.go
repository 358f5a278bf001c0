package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/internal/proc"
	"github.com/corebench/corebench/internal/remote"
	"github.com/corebench/corebench/internal/topology"
	"github.com/corebench/corebench/loadgen"
	"github.com/corebench/corebench/models"
	"github.com/corebench/corebench/report"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/suite"
	"github.com/corebench/corebench/variant"
	"github.com/corebench/corebench/workload"
)

func init() {
	var profiles []string
	for _, n := range suite.ProfileNames {
		profiles = append(profiles, fmt.Sprintf("  %-9s %s", n, suite.Profiles[n].About))
	}
	register(&command{
		name:    "run",
		summary: "Run every model under the same load; write results, charts, tables and a page",
		usage:   "run [--profile smoke|quick|standard|manycore|full] [--models LIST] [--workloads LIST] [--connections LIST] [--server-host H] [--loadgen-host H]... [--ssh CMD] [flags]",
		examples: `  bench run                                  # = bench run --profile quick: every model, under 2 minutes on 2 cores
  bench run --profile standard               # adds connection sweeps, open-loop rate sweeps, /io, no keep-alive
  bench run --profile manycore               # 16 or more cores, under 8 minutes: worker sweep past the CPUs
  bench run --profile full                   # everything: worker sweeps to 2× the server CPUs, repeats 5
  bench run --models prefork-rr,prefork-os --workloads cpu --connections 1,8,64,256 --duration 10s --repeat 5
  bench run --server-cpus 0-5 --loadgen-cpus 6-7   # place the servers and the generator yourself
  bench run --server 'node=node examples/node-cluster/server.js --port {port} --workers {workers}'   # your server beside the models
  bench run --server-host srv --loadgen-host gen1 --loadgen-host gen2   # servers on srv, the load from gen1 and gen2, over ssh (docs/distributed.md)
  bench run --profile full --dry-run         # print the topology, the placement and every case; run nothing
  bench run --dry-run --json --sysfs DIR     # plan for the machine whose /sys tree was copied to DIR

Profiles:
` + strings.Join(profiles, "\n"),
		run: runRun,
	})
}

type runFlags struct {
	profile, models, workloads, conns, workers string
	serverCPUs, loadgenCPUs, out               string
	sysfs                                      string
	engine                                     loadgen.Engine
	servers, ready                             []string // --server NAME=COMMAND, --ready NAME=REGEXP
	duration, warmup, readyTimeout             time.Duration
	repeat, cpuIters, ioMs                     int
	workerSweep, dryRun, json                  bool
	hosts                                      hostFlags
	// set are the flags given: a profile's setting is overridden only by
	// a flag given, so 0 is a value (--warmup 0s: none) or refused, never
	// "the profile's".
	set map[string]bool
}

// define defines the flags of bench run in fs. A setting the profile
// decides has no default of its own: the help says "the profile's".
func (f *runFlags) define(fs *pflag.FlagSet) {
	fs.StringVar(&f.profile, "profile", "quick", strings.Join(suite.ProfileNames, ", ")+" (see below)")
	fs.StringVar(&f.models, "models", "", "models to run, comma-separated: "+strings.Join(variant.Names(variant.All()), ", ")+" (default: "+strings.Join(variant.Names(suite.DefaultModels), ",")+")")
	fs.StringArrayVar(&f.servers, "server", nil, "add a server of yours as the model NAME: NAME=COMMAND, run by /bin/sh -c with {port}, {workers} and {cpus} filled in, ready when the port accepts (repeatable)")
	fs.StringArrayVar(&f.ready, "ready", nil, "NAME=REGEXP: the --server NAME is ready when it prints a stdout line that matches, not when its port accepts (repeatable)")
	fs.DurationVar(&f.readyTimeout, "ready-timeout", 30*time.Second, "how long a server may take to be ready before its case fails")
	fs.StringVar(&f.workloads, "workloads", "", "workloads, comma-separated: hello (/), json, cpu, io (default: the profile's)")
	fs.StringVar(&f.conns, "connections", "", "connections: one count, or several for a connection sweep, e.g. 1,8,64,256 (default: the profile's, 8 per server CPU and at least 100)")
	fs.BoolVar(&f.workerSweep, "worker-sweep", false, "add a sweep of the multi-worker models over 1, 2, 4, ... workers up to one per server CPU, then 1.5× and 2× that (as the full profile does)")
	fs.StringVar(&f.workers, "workers", "", "workers of the multi-worker models: N, max or max-K (default: one per server CPU)")
	fs.DurationVar(&f.duration, "duration", 0, "measured time of each repeat (default: the profile's)")
	fs.DurationVar(&f.warmup, "warmup", 0, "unmeasured load before a case's first repeat; 0s for none (default: the profile's)")
	fs.IntVar(&f.repeat, "repeat", 0, "repeats per case (default: the profile's)")
	fs.StringVar(&f.serverCPUs, "server-cpus", "", "CPUs for the servers (default: all but the generator's)")
	fs.StringVar(&f.loadgenCPUs, "loadgen-cpus", "", "CPUs for the load generator (default: whole cores, about a third of the CPUs, on one NUMA node; shared under 4 CPUs)")
	f.engine = loadgen.EngineFast
	fs.Var(&f.engine, "engine", "load generator engine: fast or vegeta")
	fs.IntVar(&f.cpuIters, "cpu-iters", 0, "SHA-256 rounds per /cpu request (default: the server's, about 0.2 ms)")
	fs.IntVar(&f.ioMs, "io-ms", 10, "milliseconds /io waits per request")
	fs.StringVar(&f.out, "out", "", "directory to write into (default: results/<UTC time>-<host>)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the plan (topology, placement, every case, the estimated time) and run nothing")
	fs.BoolVar(&f.json, "json", false, "with --dry-run: print the plan as one JSON object")
	fs.StringVar(&f.sysfs, "sysfs", "", "with --dry-run: plan for the machine whose /sys-like tree is in this directory (all of its online CPUs)")
	f.hosts.define(fs)
}

// setFrom records which flags of fs were given.
func (f *runFlags) setFrom(fs *pflag.FlagSet) {
	f.set = map[string]bool{}
	fs.Visit(func(fl *pflag.Flag) { f.set[fl.Name] = true })
}

func runRun(c *cli, args []string) error {
	var f runFlags
	fs := c.flags()
	f.define(fs)
	if err := c.parse(fs, args); err != nil {
		return err
	}
	f.setFrom(fs)
	if err := f.hosts.check(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if (f.json || f.sysfs != "") && !f.dryRun {
		return usagef("--json and --sysfs plan without running: add --dry-run")
	}
	prof, err := f.profileOf(c.smoke)
	if err != nil {
		return err
	}
	// Placed before any host is dialled, so a bad list is told at once;
	// placed again once the hosts say which CPUs they have.
	place, topo, workers, err := f.placement(nil)
	if err != nil {
		return err
	}
	// Where the results go, checked before any host is dialled or any
	// load sent, in a dry run too: a run that cannot save measures for
	// nothing. The default directory, results/<id>, is made at the start.
	if f.out != "" {
		if err := results.CheckDir(f.out); err != nil {
			return usagef("--out %s: %v", f.out, err)
		}
	} else if err := results.CheckDir(filepath.Join("results", "run")); err != nil {
		return usagef("the results go in results/ by default: %v; give --out DIR", err)
	}
	var hs *hosts // other machines: docs/distributed.md
	if f.hosts.any() && !f.dryRun {
		if hs, err = f.hosts.dial(context.Background(), c.stderr); err != nil {
			return err
		}
		defer hs.close(c.stderr)
		if place, topo, workers, err = f.placement(hs); err != nil {
			return err
		}
	}
	if f.workers != "" {
		prof.Workers = workers
	}
	cpus := append(slices.Clone(place.ServerCPUs), place.LoadgenCPUs...)
	slices.Sort(cpus)
	if w := prof.FitWarning(len(slices.Compact(cpus))); w != "" {
		fmt.Fprintf(c.stderr, "bench run: %s\n", w)
		if f.dryRun {
			place.Note += "; " + w
		}
	}
	specs, err := suite.Plan(prof, len(place.ServerCPUs))
	if err != nil {
		return usagef("%v", err)
	}
	if f.dryRun {
		return printPlan(c.stdout, f.json, prof, place, suite.TopologyRecord(topo), specs)
	}

	// This process is the load generator: pin it, and size its Go
	// scheduler to the CPUs it may use.
	if hs.localLoad() {
		if err := affinity.PinProcess(place.LoadgenCPUs); err != nil {
			return err
		}
		runtime.GOMAXPROCS(len(place.LoadgenCPUs))
	}
	// What a server's first process leaves behind (a cluster primary under
	// an sh that dies of the group's SIGTERM) becomes ours, so Stop reaps it.
	proc.ReapOrphans()
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	connsFrom := ""
	if f.conns != "" {
		connsFrom = fmt.Sprintf("%d, set by --connections", prof.Connections)
	}
	run := suite.NewRun(prof, suite.Environment(version, commit(), strings.TrimSpace("bench run "+quoteArgs(args))), place, topo,
		results.Settings{Engine: f.engine.String(), CPUIters: cmp.Or(f.cpuIters, workload.DefaultCPUIters), IOMs: f.ioMs}, connsFrom)
	run.Env.Hosts = hs.env()
	// bench serve's own limits on slow clients: bench run gives its
	// servers none of the flags, so they are the defaults.
	to := models.Timeouts{}.WithDefaults()
	run.Settings.ServerTimeouts = &results.Timeouts{HeaderS: to.Header.Seconds(), RequestS: to.Request.Seconds(), IdleS: to.Idle.Seconds()}
	dir := f.out
	if dir == "" {
		dir = filepath.Join("results", run.ID)
	}
	fmt.Fprintf(c.stderr, "bench run: profile %s, %d cases, about %v, connections %s; %s\n",
		prof.Name, len(specs), suite.Estimate(specs, prof).Round(time.Second), run.Settings.ConnectionsFrom, place.Note)

	ctx, stop := signalContext()
	defer stop()
	prog := &runProgress{w: c.stderr, tty: isTerminal(c.stderr)}
	opts := suite.Options{
		Profile: prof, Specs: specs, ServerCPUs: place.ServerCPUs, CPUIters: f.cpuIters, IOMs: f.ioMs, StartupWait: f.readyTimeout,
		Serve:    func(args ...string) *exec.Cmd { return exec.Command(exe, args...) },
		Generate: loadgen.Generate, Engine: f.engine.String(),
		Progress: prog.update,
	}
	hs.apply(&opts, f.loadgenCPUs, c.stderr)
	// Saved now and after every case (suite.Options.Save), marked
	// incomplete until the end: a run that dies keeps what it finished.
	run.Planned = len(specs)
	opts.Save = func(r *results.Run) error {
		r.Finished = time.Now().UTC()
		return r.Save(dir)
	}
	if err := opts.Save(run); err != nil {
		return fmt.Errorf("cannot save results in %s: %v", dir, err)
	}
	err = suite.Run(ctx, opts, run)
	prog.clear()
	if se := (*suite.SaveError)(nil); errors.As(err, &se) {
		// Nothing more can be kept, and a full disk may be the one thing
		// measured next: stop, keeping the last good results.json.
		printRun(c.stdout, run, dir, fmt.Sprintf("%d saved in %s, no report", se.Saved, dir))
		return fmt.Errorf("%v: stopped the run, as what it measured next could not be kept; %s keeps the cases saved before (%d of %d), marked incomplete",
			se, filepath.Join(dir, results.FileName), se.Saved, len(specs))
	}
	run.Finished = time.Now().UTC()
	run.Complete = err == nil
	if serr := run.Save(dir); serr != nil {
		printRun(c.stdout, run, dir, fmt.Sprintf("%d saved in %s, no report", len(run.Cases), dir))
		return fmt.Errorf("saving the finished run: %v; %s keeps every case (%d of %d), marked incomplete",
			serr, filepath.Join(dir, results.FileName), len(run.Cases), len(specs))
	}
	_, rerr := report.Render(run, dir)
	printRun(c.stdout, run, dir, "")
	switch {
	case suite.Interrupted(err):
		return fmt.Errorf("interrupted: what was measured is in %s, marked incomplete", dir)
	case err != nil:
		return err
	case rerr != nil:
		return fmt.Errorf("results saved in %s, but the report failed: %w", dir, rerr)
	}
	if n := failedCases(run); n > 0 {
		return fmt.Errorf("%d of %d cases failed; their errors are in %s", n, len(run.Cases), filepath.Join(dir, report.MarkdownFile))
	}
	return nil
}

// profileOf returns the profile with the flags' overrides applied, cut
// to smoke scale if smoke: the flags are checked here, applied by
// suite.Profile.With.
func (f *runFlags) profileOf(smoke bool) (suite.Profile, error) {
	prof, ok := suite.Profiles[f.profile]
	if !ok {
		return prof, usagef("unknown --profile %q: want %s", f.profile, strings.Join(suite.ProfileNames, ", "))
	}
	o := suite.Overrides{Workloads: splitList(f.workloads), WorkerSweep: f.workerSweep, Smoke: smoke}
	if f.models != "" {
		o.Models = []variant.Variant{}
		for _, name := range splitList(f.models) {
			v, err := variant.Parse(name)
			if err != nil {
				return prof, usagef("--models: %v", err)
			}
			o.Models = append(o.Models, v)
		}
	}
	for _, spec := range f.servers {
		v, err := variant.ParseServer(spec)
		if err != nil {
			return prof, usagef("--server: %v", err)
		}
		if slices.ContainsFunc(o.Servers, func(o variant.Variant) bool { return o.Name == v.Name }) {
			return prof, usagef("--server %s given twice: name each server once", v.Name)
		}
		o.Servers = append(o.Servers, v)
	}
	for _, spec := range f.ready {
		if err := variant.ParseReady(o.Servers, spec); err != nil {
			return prof, usagef("--ready: %v", err)
		}
	}
	for _, s := range splitList(f.conns) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100000 {
			return prof, usagef("--connections: %q is not a count from 1 to 100000", s)
		}
		o.Connections = append(o.Connections, n)
	}
	switch {
	case f.set["duration"] && f.duration <= 0:
		return prof, usagef("--duration %v: want more than 0 (leave it out for the profile's, %v)", f.duration, prof.Duration)
	case f.warmup < 0:
		return prof, usagef("--warmup %v: want 0 or more (0s: no warm-up; leave it out for the profile's, %v)", f.warmup, prof.Warmup)
	case f.set["repeat"] && f.repeat < 1:
		return prof, usagef("--repeat %d: want 1 or more (leave it out for the profile's, %d)", f.repeat, prof.Repeat)
	case f.readyTimeout <= 0:
		return prof, usagef("--ready-timeout %v: want more than 0", f.readyTimeout)
	case f.cpuIters < 0 || f.cpuIters > workload.MaxCPUIters:
		return prof, usagef("--cpu-iters %d: want 0 (the server's default) to %d", f.cpuIters, workload.MaxCPUIters)
	case f.ioMs < 1 || f.ioMs > workload.MaxIOMs:
		return prof, usagef("--io-ms %d: want 1 to %d", f.ioMs, workload.MaxIOMs)
	case len(f.servers) > 0 && f.hosts.server != "":
		// An external command runs here, on loopback; running it on the
		// server host too is not built yet.
		return prof, usagef("--server runs its command on this machine: it cannot be combined with --server-host yet")
	}
	if f.set["duration"] {
		o.Duration = f.duration
	}
	if f.set["warmup"] {
		o.Warmup = &f.warmup
	}
	if f.set["repeat"] {
		o.Repeat = f.repeat
	}
	return prof.With(o), nil
}

// where turns the placement flags into a suite.Where, with the hosts
// dialled (hs) or, when nil, only named.
func (f *runFlags) where(hs *hosts) (suite.Where, error) {
	w := suite.Where{Sysfs: f.sysfs}
	for _, fl := range []struct {
		flag, list string
		to         *[]int
	}{{"--server-cpus", f.serverCPUs, &w.ServerCPUs}, {"--loadgen-cpus", f.loadgenCPUs, &w.LoadgenCPUs}} {
		if fl.list == "" {
			continue
		}
		cpus, err := affinity.ParseOrdered(fl.list)
		if err != nil {
			return w, usagef("%s: %v", fl.flag, err)
		}
		*fl.to = cpus
	}
	if hs == nil {
		if f.hosts.server != "" {
			w.ServerHost = &suite.Host{Name: f.hosts.server}
		}
		for _, h := range f.hosts.load {
			w.LoadHosts = append(w.LoadHosts, suite.Host{Name: h})
		}
		return w, nil
	}
	if hs.server != nil {
		w.ServerHost = &suite.Host{Name: hs.server.Spec.String(), CPUs: hostCPUs(hs.server)}
	}
	for _, x := range hs.load {
		w.LoadHosts = append(w.LoadHosts, suite.Host{Name: x.Spec.String(), CPUs: hostCPUs(x)})
	}
	return w, nil
}

// placement decides where the servers and the generator run (suite.Locate)
// and the worker count.
func (f *runFlags) placement(hs *hosts) (results.Placement, *topology.Topology, int, error) {
	w, err := f.where(hs)
	if err != nil {
		return results.Placement{}, nil, 0, err
	}
	place, topo, err := suite.Locate(w)
	if ue := (suite.UsageError{}); errors.As(err, &ue) {
		return place, nil, 0, usagef("%v", ue.Err)
	} else if err != nil {
		return place, nil, 0, err
	}
	workers := len(place.ServerCPUs)
	if f.workers != "" {
		if workers, err = models.ParseWorkers(f.workers, len(place.ServerCPUs)); err != nil {
			return place, nil, 0, usagef("--workers: %v", err)
		}
	}
	return place, topo, workers, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func failedCases(run *results.Run) int {
	n := 0
	for _, c := range run.Cases {
		if c.Error != "" {
			n++
		}
	}
	return n
}

// runProgress shows where a run is: a bar redrawn in place on a terminal,
// a line per finished case otherwise.
type runProgress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	drawn bool
}

func (p *runProgress) update(pr suite.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr.Finished != nil {
		c := pr.Finished
		line := fmt.Sprintf("[%d/%d] %s: %s", pr.Done, pr.Total, c.ID, report.CaseLine(c))
		if p.tty {
			fmt.Fprint(p.w, "\r\033[K")
		}
		fmt.Fprintln(p.w, line)
		p.drawn = false
		return
	}
	if !p.tty || pr.Current == nil {
		return
	}
	const width = 24
	done := width * pr.Done / max(pr.Total, 1)
	fmt.Fprintf(p.w, "\r\033[K[%s%s] %d/%d  %s  elapsed %v, about %v left",
		strings.Repeat("=", done), strings.Repeat(" ", width-done), pr.Done, pr.Total, pr.Current.ID,
		pr.Elapsed.Round(time.Second), pr.Left.Round(time.Second))
	p.drawn = true
}

func (p *runProgress) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// printRun prints the cases as a table and where the results are: the
// report, or unsaved when not every case could be saved and there is no
// report (how many were, and where).
func printRun(w io.Writer, run *results.Run, dir, unsaved string) {
	report.RunTable(w, run)
	if lines := report.VerdictLines(run); len(lines) > 0 {
		fmt.Fprintln(w, "\nVerdict:")
		for _, l := range lines {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	state := "complete"
	if !run.Complete {
		state = "INCOMPLETE"
	}
	if unsaved != "" {
		fmt.Fprintf(w, "\n%s run: %d of %d cases measured, %s\n", state, len(run.Cases), run.Planned, unsaved)
		return
	}
	fmt.Fprintf(w, "\n%s run of %d cases in %s: %s, %s and the charts\n", state, len(run.Cases), dir,
		report.MarkdownFile, report.HTMLFile)
}

// quoteArgs is args as a shell line: results.json and the report give
// the command as one can paste it, --server's quotes and all.
func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = remote.Quote(a)
	}
	return strings.Join(q, " ")
}
