package suite

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"slices"
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
	// Seed draws the order of interleaved repeats; 0: from the clock.
	// The run records it (results.Settings.OrderSeed).
	Seed uint64

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
//
// With Profile.Interleave, the models sweep of each workload is measured
// in rounds (runner.block); run.Settings records the order's seed.
func Run(ctx context.Context, o Options, run *results.Run) error {
	if o.StartupWait == 0 {
		o.StartupWait = 30 * time.Second
	}
	if o.Grace == 0 {
		o.Grace = 15 * time.Second
	}
	if o.ServerHost != "" {
		// A server host's CPU and memory are read for every server bench
		// runs there (bench procstat), so its servers run one at a time:
		// interleaved, the idle ones' would count in each case's.
		o.Profile.Interleave = false
	}
	if o.Profile.Interleave {
		if o.Seed == 0 {
			o.Seed = uint64(time.Now().UnixNano())
		}
		run.Settings.Interleaved, run.Settings.VisitWarmup, run.Settings.OrderSeed = true, o.Profile.VisitWarmup.Seconds(), o.Seed
	}
	r := &runner{o: o, run: run, start: time.Now(), capacity: map[string]float64{}, rng: rand.New(rand.NewPCG(o.Seed, o.Seed))}
	for i := 0; i < len(o.Specs); {
		j := i + 1
		for j < len(o.Specs) && o.Profile.interleaves(o.Specs[i]) && sameComparison(o.Specs[i], o.Specs[j]) {
			j++
		}
		var err error
		if j-i == 1 {
			err = r.one(ctx, i)
		} else {
			err = r.block(ctx, i, j)
		}
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		i = j
	}
	return nil
}

// sameComparison reports whether a and b are models compared side by
// side: the same sweep, workload and load.
func sameComparison(a, b Spec) bool {
	return a.Sweep == b.Sweep && a.Workload == b.Workload && a.Path == b.Path && a.Mode == b.Mode &&
		a.Connections == b.Connections && a.KeepAlive == b.KeepAlive && a.RateOf == b.RateOf
}

// runner is a run under way.
type runner struct {
	o        Options
	run      *results.Run
	start    time.Time
	capacity map[string]float64 // model/workload -> req/s of its models-sweep case
	saved    int                // cases in the last good save
	rng      *rand.Rand
}

func (r *runner) progress(p Progress) {
	if r.o.Progress == nil {
		return
	}
	p.Total, p.Elapsed = len(r.o.Specs), time.Since(r.start)
	p.Left = Estimate(r.o.Specs[min(p.Done, len(r.o.Specs)):], r.o.Profile)
	r.o.Progress(p)
}

// save saves the run; a failure is a *SaveError after done cases.
func (r *runner) save(done int) error {
	if v := r.run.Env.Virtualization; v != nil {
		v.Steal = stats.RunSteal(r.run.Cases, v.OnlineCPUs) // what the repeats met, in every save
	}
	if r.o.Save == nil {
		return nil
	}
	if err := r.o.Save(r.run); err != nil {
		return &SaveError{Done: done, Total: len(r.o.Specs), Saved: r.saved, Err: err}
	}
	r.saved = len(r.run.Cases)
	return nil
}

// finish records a finished case: its capacity for the rate sweep, its
// assessment.
func (r *runner) finish(sp Spec, c *results.Case) {
	if c.Summary != nil && sp.Sweep == results.SweepModels {
		r.capacity[sp.Model.Name+"/"+sp.Workload] = c.Summary.RPS.Median
	}
	assess.Case(c, r.run.Placement, r.run.Env)
}

// one runs case i on its own.
func (r *runner) one(ctx context.Context, i int) error {
	sp := r.o.Specs[i]
	r.progress(Progress{Done: i, Current: &sp})
	c := runCase(ctx, r.o, sp, r.capacity)
	r.finish(sp, &c)
	r.run.Cases = append(r.run.Cases, c)
	serr := r.save(i + 1)
	r.progress(Progress{Done: i + 1, Finished: &r.run.Cases[len(r.run.Cases)-1]})
	return serr
}

// block runs cases i..j-1, the models of one comparison, interleaved:
// each server starts and warms up, then each round measures one repeat
// of every case still measuring, in an order drawn afresh, and the run
// is saved after every round, the cases so far marked unfinished.
func (r *runner) block(ctx context.Context, i, j int) error {
	o := r.o
	var cases []*live
	for k := i; k < j; k++ {
		sp := o.Specs[k]
		r.progress(Progress{Done: i, Current: &sp})
		cases = append(cases, openCase(ctx, o, sp, r.capacity))
	}
	// Whatever happens next, every server is stopped.
	defer func() {
		for _, l := range cases {
			l.close(ctx)
		}
	}()
	base := len(r.run.Cases)
	r.run.Cases = append(r.run.Cases, make([]results.Case, len(cases))...)
	for round := 0; round < o.Profile.Repeat && ctx.Err() == nil; round++ {
		for _, k := range r.rng.Perm(len(cases)) {
			l := cases[k]
			if l.done || ctx.Err() != nil {
				continue
			}
			r.progress(Progress{Done: i, Current: &l.sp})
			l.measure(ctx, o, o.Profile.VisitWarmup)
		}
		for k, l := range cases {
			c := l.snapshot()
			if c.Error == "" {
				c.Error = unfinished // until the block's last round
			}
			r.run.Cases[base+k] = c
		}
		if err := r.save(i); err != nil {
			return err
		}
	}
	for k, l := range cases {
		c := l.close(ctx)
		r.finish(l.sp, &c)
		r.run.Cases[base+k] = c
	}
	serr := r.save(j)
	for k := range cases {
		r.progress(Progress{Done: i + k + 1, Finished: &r.run.Cases[base+k]})
	}
	return serr
}

// unfinished marks a case saved between rounds: a run that dies then
// keeps the repeats it measured, and says they are not all.
const unfinished = "interrupted before the case finished"

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
func runCase(ctx context.Context, o Options, sp Spec, capacity map[string]float64) results.Case {
	l := openCase(ctx, o, sp, capacity)
	for range o.Profile.Repeat {
		if ctx.Err() != nil || l.done {
			break
		}
		l.measure(ctx, o, 0)
	}
	return l.close(ctx)
}

// A live case is one whose server runs: started, warmed up, and measured
// one repeat at a time, alone (runCase) or in turn with the other models
// of its comparison (runBlock).
type live struct {
	c    results.Case
	sp   Spec
	srv  *child.Server
	load loadgen.Load
	o    Options
	done bool // failed or interrupted: no more repeats
}

// openCase starts the case's server and warms it up. A case that cannot
// start is returned done, with its error.
func openCase(ctx context.Context, o Options, sp Spec, capacity map[string]float64) *live {
	l := &live{sp: sp, o: o, done: true}
	l.c = results.Case{
		ID: sp.ID, Sweep: sp.Sweep, Model: sp.Model.Name, Workers: sp.Workers, Workload: sp.Workload, Path: o.path(sp),
		Mode: sp.Mode, Connections: sp.Connections, KeepAlive: sp.KeepAlive, ServerCPUs: serverCPUs(o, sp), Repeats: []results.Repeat{},
	}
	c := &l.c
	if sp.Mode == results.ModeOpen {
		base := capacity[sp.Model.Name+"/"+sp.Workload]
		if base == 0 {
			c.Error = "skipped: no capacity was measured for this model and workload in the models sweep"
			return l
		}
		c.Rate = math.Max(1, math.Round(base*sp.RateOf))
	}
	srv, command, err := start(ctx, o, sp)
	c.Command = command
	if err != nil {
		c.Error = o.serverErr(err)
		return l
	}
	l.srv = srv
	url := srv.URL
	if o.ServerHost != "" {
		url = hostURL(url, o.ServerHost)
	}
	l.load = loadgen.Load{URL: url + c.Path, Connections: sp.Connections, Rate: c.Rate, Duration: o.Profile.Duration, NoKeepAlive: !sp.KeepAlive, Engine: o.Engine,
		Workers: workersOf(ctx, url, sp)}
	if err := l.warm(ctx, o.Profile.Warmup); err != nil {
		c.Error = "warm-up: " + err.Error()
		if derr := srv.Dead(); derr != nil {
			c.Error = o.serverErr(derr)
		}
		return l
	}
	l.done = false
	return l
}

// warm sends the case's load for d, measuring nothing.
func (l *live) warm(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	warm := l.load
	warm.Duration = d
	if _, err := l.o.Generate(ctx, warm); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// measure runs one repeat, after a warm-up of warm (a server that waited
// while others were measured has cold caches and no connections).
func (l *live) measure(ctx context.Context, o Options, warm time.Duration) {
	c, sp, srv := &l.c, l.sp, l.srv
	if err := l.warm(ctx, warm); err != nil {
		c.Error = "warm-up: " + err.Error()
		if derr := srv.Dead(); derr != nil {
			c.Error = o.serverErr(derr)
		}
		l.done = true
		return
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
	startAt := time.Now().UTC()
	sum, err := o.Generate(ctx, l.load)
	// The tree again: workers forked during the repeat (a cluster's
	// late or restarted ones) count from their first tick.
	pids := tree()
	rep := readCPU(pids).since(before, sp.Model.Prefork())
	rep.Start = startAt
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
		l.done = true
		return
	}
	if err != nil && ctx.Err() == nil {
		c.Error = err.Error()
		l.done = true
	}
}

// snapshot is the case as measured so far, summarized.
func (l *live) snapshot() results.Case {
	c := l.c
	c.Repeats = slices.Clone(c.Repeats)
	stats.Summarize(&c)
	return c
}

// close stops the server and returns the case, summarized.
func (l *live) close(ctx context.Context) results.Case {
	stats.Summarize(&l.c)
	if l.srv != nil {
		if err := l.srv.Stop(); err != nil && l.c.Error == "" {
			l.c.Error = l.o.serverErr(err)
		}
		l.srv = nil
	}
	if ctx.Err() != nil {
		l.c.Error = unfinished
	}
	return l.c
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
