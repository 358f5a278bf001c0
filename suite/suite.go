package suite

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/corebench/corebench/assess"
	"github.com/corebench/corebench/internal/affinity"
	"github.com/corebench/corebench/internal/child"
	"github.com/corebench/corebench/internal/proc"
	"github.com/corebench/corebench/loadgen"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
)

// Options configure Run.
type Options struct {
	Profile     Profile
	Specs       []Spec
	ServerCPUs  []int // the servers' CPUs; singlecore is pinned to the first
	CPUIters    int   // /cpu work; 0 is the server's default
	IOMs        int   // /io wait
	StartupWait time.Duration
	Grace       time.Duration // how long a stopping server may drain
	// Serve returns the command that runs `bench serve` with args.
	Serve    func(args ...string) *exec.Cmd
	Generate loadgen.Generator
	Engine   string // load generator engine; default fast
	// Progress is called before each case and after it.
	Progress func(Progress)
	// Save, when set, saves the run after each case, before the case's
	// progress: a run that dies keeps every case it finished. A failed
	// save stops the run with a *SaveError.
	Save func(*results.Run) error

	// ServerHost, when set, is the host Serve runs servers on (over ssh):
	// they listen on every address and are loaded at this host name.
	ServerHost string
	// ReadServer reads the CPU and memory of the server on ServerHost,
	// not this machine's to read; without it they go unmeasured.
	ReadServer func(ctx context.Context) (ServerReading, error)
}

// ServerReading is a reading of a server's processes on another host.
type ServerReading struct {
	CPU, MasterCPU float64 // seconds: every process's, the master's
	PeakRSS        int64   // bytes, summed over the processes
	Procs          int
}

// Progress reports where a run is.
type Progress struct {
	Done, Total int
	Current     *Spec         // the case starting, or nil
	Finished    *results.Case // the case just finished, or nil
	Elapsed     time.Duration
	Left        time.Duration // estimated
}

// Run runs the cases in order, appending each finished case to run.Cases
// and saving the run (Options.Save) as it goes, so an interrupted run
// keeps what it measured. A case whose server fails is recorded with its
// error and the run goes on. It returns ctx's error when interrupted,
// and a *SaveError when a save fails: it stops then, as what it measured
// next could not be kept, and the last good save stays as it was.
func Run(ctx context.Context, o Options, run *results.Run) error {
	if o.StartupWait == 0 {
		o.StartupWait = 30 * time.Second
	}
	if o.Grace == 0 {
		o.Grace = 15 * time.Second
	}
	start := time.Now()
	per := Estimate([]Spec{{}}, o.Profile)
	capacity := map[string]float64{} // model/workload -> req/s of its models-sweep case
	saved := 0
	for i := range o.Specs {
		sp := o.Specs[i]
		left := time.Duration(len(o.Specs)-i) * per
		if o.Progress != nil {
			o.Progress(Progress{Done: i, Total: len(o.Specs), Current: &sp, Elapsed: time.Since(start), Left: left})
		}
		c := runCase(ctx, o, sp, capacity)
		if c.Summary != nil && sp.Sweep == results.SweepModels {
			capacity[sp.Model.Name+"/"+sp.Workload] = c.Summary.RPS.Median
		}
		assess.Case(&c, run.Placement, run.Env)
		run.Cases = append(run.Cases, c)
		if v := run.Env.Virtualization; v != nil {
			v.Steal = stats.RunSteal(run.Cases, v.OnlineCPUs) // what the repeats met, in every save
		}
		var serr error
		if o.Save != nil {
			if serr = o.Save(run); serr == nil {
				saved = len(run.Cases)
			}
		}
		if o.Progress != nil {
			o.Progress(Progress{Done: i + 1, Total: len(o.Specs), Finished: &run.Cases[len(run.Cases)-1], Elapsed: time.Since(start), Left: left - per})
		}
		if serr != nil {
			return &SaveError{Done: i + 1, Total: len(o.Specs), Saved: saved, Err: serr}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// SaveError is a save after a case that failed: the run stopped there.
type SaveError struct {
	Done, Total int // the case after which the save failed, of how many
	Saved       int // the cases the last good save holds
	Err         error
}

func (e *SaveError) Error() string {
	return fmt.Sprintf("saving the results after case %d of %d: %v", e.Done, e.Total, e.Err)
}

func (e *SaveError) Unwrap() error { return e.Err }

// serveArgs returns the `bench serve` arguments for a case.
func serveArgs(o Options, sp Spec) []string {
	args := append([]string{"serve"}, sp.Model.ServeArgs(sp.Workers)...)
	addr := "127.0.0.1:0"
	if o.ServerHost != "" {
		addr = "0.0.0.0:0" // reached from the load hosts
	}
	args = append(args, "--addr", addr)
	if cpus := serverCPUs(o, sp); len(cpus) > 0 {
		args = append(args, "--cpus", affinity.Format(cpus))
	}
	if o.CPUIters > 0 {
		args = append(args, "--cpu-iters", strconv.Itoa(o.CPUIters))
	}
	return args
}

// serverCPUs are the CPUs a case's server may run on: singlecore the
// first of the servers' CPUs, goroutines with fewer threads than CPUs
// the first N, the others all of them.
func serverCPUs(o Options, sp Spec) []int {
	cpus := o.ServerCPUs
	switch {
	case sp.Model.OneWorker() && len(cpus) > 0:
		cpus = cpus[:1]
	case sp.Model.OneProcess() && sp.Workers > 0 && sp.Workers < len(cpus):
		// GOMAXPROCS=N on the list's first N CPUs, whole cores first (Place
		// orders the list), as prefork pins its first N workers; on every
		// CPU the kernel would put its threads wherever.
		cpus = cpus[:sp.Workers]
	}
	return cpus
}

func (o Options) path(sp Spec) string {
	if sp.Workload == "io" && o.IOMs > 0 {
		return fmt.Sprintf("%s?ms=%d", sp.Path, o.IOMs)
	}
	return sp.Path
}

// runCase starts the case's server, warms up, measures each repeat, and
// stops the server.
func runCase(ctx context.Context, o Options, sp Spec, capacity map[string]float64) (c results.Case) {
	defer func() {
		if ctx.Err() != nil {
			c.Error = "interrupted before the case finished"
		}
	}()
	c = results.Case{
		ID: sp.ID, Sweep: sp.Sweep, Model: sp.Model.Name, Workers: sp.Workers, Workload: sp.Workload, Path: o.path(sp),
		Mode: sp.Mode, Connections: sp.Connections, KeepAlive: sp.KeepAlive, ServerCPUs: serverCPUs(o, sp), Repeats: []results.Repeat{},
	}
	if sp.Mode == results.ModeOpen {
		base := capacity[sp.Model.Name+"/"+sp.Workload]
		if base == 0 {
			c.Error = "skipped: no capacity was measured for this model and workload in the models sweep"
			return c
		}
		c.Rate = math.Max(1, math.Round(base*sp.RateOf))
	}
	srv, command, err := start(ctx, o, sp)
	c.Command = command
	if err != nil {
		c.Error = o.serverErr(err)
		return c
	}
	defer func() {
		if err := srv.Stop(); err != nil && c.Error == "" {
			c.Error = o.serverErr(err)
		}
	}()
	url := srv.URL
	if o.ServerHost != "" {
		url = hostURL(url, o.ServerHost)
	}
	load := loadgen.Load{URL: url + c.Path, Connections: sp.Connections, Rate: c.Rate, Duration: o.Profile.Duration, NoKeepAlive: !sp.KeepAlive, Engine: o.Engine,
		Workers: workersOf(ctx, url, sp)}
	if o.Profile.Warmup > 0 {
		warm := load
		warm.Duration = o.Profile.Warmup
		if _, err := o.Generate(ctx, warm); err != nil && ctx.Err() == nil {
			c.Error = "warm-up: " + err.Error()
			if derr := srv.Dead(); derr != nil {
				c.Error = o.serverErr(derr)
			}
			return c
		}
	}
	for range o.Profile.Repeat {
		if ctx.Err() != nil {
			break
		}
		// A remote server's processes are read on its host (readServer):
		// here srv's tree is ssh's.
		local := o.ServerHost == ""
		tree := func() []int {
			if local {
				return srv.Pids()
			}
			return nil
		}
		far, farErr := o.readServer(ctx)
		before := readCPU(tree())
		sum, err := o.Generate(ctx, load)
		// The tree again: workers forked during the repeat (a cluster's
		// late or restarted ones) count from their first tick.
		pids := tree()
		rep := readCPU(pids).since(before, sp.Model.Prefork())
		rep.ServerRSS, rep.ServerProcs = proc.PeakRSS(pids), len(pids)
		if o.ServerHost != "" {
			rep.OtherCPU, rep.StealCPU = nil, nil // this machine's, not the server's
			after, aerr := o.readServer(ctx)
			if rerr := cmp.Or(farErr, aerr); rerr != nil {
				// Not 0 CPU: unknown, and said so in the record.
				rep.ServerCPU, rep.ServerRSS, rep.ServerProcs = 0, 0, 0
				rep.ServerUnmeasured = "reading the server host: " + rerr.Error()
			} else {
				rep.ServerCPU, rep.ServerRSS, rep.ServerProcs = after.CPU-far.CPU, after.PeakRSS, after.Procs
				if sp.Model.Prefork() {
					m := after.MasterCPU - far.MasterCPU
					rep.MasterCPU = &m
				}
			}
		}
		if sum != nil {
			rep.Load = *sum
		}
		switch {
		case ctx.Err() != nil:
			rep.Error = "interrupted"
		case err != nil:
			rep.Error = err.Error()
		}
		c.Repeats = append(c.Repeats, rep)
		if derr := srv.Dead(); derr != nil {
			c.Error = o.serverErr(derr)
			break
		}
		if err != nil && ctx.Err() == nil {
			c.Error = err.Error()
			break
		}
	}
	stats.Summarize(&c)
	return c
}

// cpuReading is what the suite reads of CPU time around a repeat: the
// server's processes, each (its master is the first), this process (the
// load generator) and the whole machine.
type cpuReading struct {
	at         time.Time
	master     int
	server     map[int]float64 // CPU seconds by pid
	self       float64
	machine    proc.Totals
	machineOK  bool
	irqInTasks bool // proc.InterruptsInTasks
}

func readCPU(pids []int) cpuReading {
	r := cpuReading{at: time.Now(), irqInTasks: proc.InterruptsInTasks(), server: map[int]float64{}}
	if len(pids) > 0 {
		r.master = pids[0]
	}
	r.machine, r.machineOK = proc.MachineTotals()
	for _, pid := range pids {
		if s, ok := proc.CPUSecondsOf(pid); ok {
			r.server[pid] = s
		}
	}
	r.self = proc.CPUSeconds([]int{os.Getpid()})
	return r
}

// since is a repeat's CPU figures from reading b to r: the server's over
// the processes r found (one born since b counts from its birth; one gone
// since b is lost, not taken away), the master's for a prefork server,
// and what other processes took where the machine's totals could be
// read: the machine's process time (with its interrupt time where the
// kernel charges that to processes too, as their times then include it)
// less the server's and the generator's; never below 0, as the readings
// have a tick's resolution.
func (r cpuReading) since(b cpuReading, prefork bool) results.Repeat {
	rep := results.Repeat{WallS: r.at.Sub(b.at).Seconds()}
	for pid, s := range r.server {
		rep.ServerCPU += max(0, s-b.server[pid])
	}
	if prefork {
		m := r.server[r.master] - b.server[b.master]
		rep.MasterCPU = &m
	}
	if r.machineOK && b.machineOK {
		d := r.machine.Sub(b.machine)
		busy := d.Process
		if r.irqInTasks {
			busy += d.Interrupt
		}
		other := max(0, busy-rep.ServerCPU-(r.self-b.self))
		steal := max(0, d.Steal)
		rep.OtherCPU, rep.StealCPU = &other, &steal
	}
	return rep
}

// start starts the case's server: `bench serve`, or an external server's
// command through /bin/sh -c on a free loopback port, pinned to the
// case's CPUs, in a process group of its own that its SIGTERM goes to.
// It returns the command an external server ran.
func start(ctx context.Context, o Options, sp Spec) (*child.Server, string, error) {
	// Pinned from its first instruction: this process, the generator, is
	// pinned to other CPUs, and a child would inherit that. On a server
	// host the CPUs are that host's: bench serve --cpus pins itself there.
	opts := child.Options{Ready: o.StartupWait, Grace: o.Grace}
	if o.ServerHost == "" {
		opts.CPUs = serverCPUs(o, sp)
	}
	if !sp.Model.External() {
		srv, err := child.Start(ctx, o.Serve(serveArgs(o, sp)...), opts)
		return srv, "", err
	}
	port, err := child.FreePort()
	if err != nil {
		return nil, "", fmt.Errorf("server %s: %v", sp.Model.Name, err)
	}
	command := sp.Model.Expand(port, sp.Workers, affinity.Format(serverCPUs(o, sp)))
	srv, err := child.StartExternal(ctx, sp.Model.Name, command, sp.Model.Ready, port, opts)
	return srv, command, err
}

func (o Options) readServer(ctx context.Context) (ServerReading, error) {
	if o.ReadServer == nil {
		return ServerReading{}, errors.New("not measured")
	}
	return o.ReadServer(ctx)
}

// serverErr is a server's error, naming its host when it has one.
func (o Options) serverErr(err error) string {
	if o.ServerHost != "" {
		return "server host " + o.ServerHost + ": " + err.Error()
	}
	return err.Error()
}

// hostURL is u, http://HOST:PORT, at host instead.
func hostURL(u, host string) string {
	rest := strings.TrimPrefix(u, "http://")
	_, port, err := net.SplitHostPort(rest)
	if err != nil {
		return u
	}
	return "http://" + net.JoinHostPort(host, port)
}

// workersOf is how many workers the case's server runs, for the fairness:
// what the server says at loadgen.DiscoverPath, else what the plan started
// (one for a one-process model, whatever its GOMAXPROCS); 0 if unknown.
func workersOf(ctx context.Context, url string, sp Spec) int {
	if n, _ := loadgen.DiscoverWorkers(ctx, loadgen.Options{URL: url}); n > 0 {
		return n
	}
	switch {
	case sp.Model.Prefork():
		return sp.Workers
	case sp.Model.OneProcess():
		return 1
	}
	return 0
}

// Interrupted reports whether err means the run was stopped by the user.
func Interrupted(err error) bool {
	return errors.Is(err, context.Canceled)
}
