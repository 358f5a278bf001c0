package suite

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/corebench/corebench/internal/proc"
	"github.com/corebench/corebench/loadgen"
	"github.com/corebench/corebench/results"
	"github.com/corebench/corebench/stats"
	"github.com/corebench/corebench/variant"
)

// fakeServeEnv makes the test binary a stand-in for `bench serve`: it
// prints the listening line and serves until SIGTERM. --model decides how
// it misbehaves: "broken" exits before it is ready, "fragile" dies after
// its first request, "lopsided" says it runs two workers and answers from
// worker 1 only.
const fakeServeEnv = "SUITE_FAKE_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(fakeServeEnv) == "1" {
		os.Exit(fakeServe(os.Args[1:]))
	}
	proc.ReapOrphans()
	os.Exit(m.Run())
}

func fakeServe(args []string) int {
	model := args[slices.Index(args, "--model")+1]
	if model == "broken" {
		fmt.Fprintln(os.Stderr, "cannot listen: pretend the port is taken")
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 1
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	var n atomic.Int64
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) > 1 && model == "fragile" {
			os.Exit(3)
		}
		if model == "lopsided" {
			w.Header().Set("X-Worker", "1")
			if r.URL.Path == loadgen.DiscoverPath {
				fmt.Fprint(w, `{"workers":2}`)
				return
			}
		}
		d := sha256.Sum256([]byte("burn some CPU"))
		for range 2000 {
			d = sha256.Sum256(d[:])
		}
		fmt.Fprintf(w, "%x", d)
	}))
	fmt.Printf("listening on http://%s model=%s\n", ln.Addr(), model)
	<-term
	return 0
}

func serveCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), fakeServeEnv+"=1")
	return cmd
}

// httpGenerator sends requests one after another for l.Duration.
func httpGenerator(ctx context.Context, l loadgen.Load) (*results.Summary, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	s := &results.Summary{Histogram: &results.Histogram{}}
	start := time.Now()
	for time.Since(start) < l.Duration && ctx.Err() == nil {
		t := time.Now()
		resp, err := c.Get(l.URL)
		if err != nil {
			s.Errors++
			if s.Requests == 0 {
				return s, err
			}
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		s.Requests++
		s.Histogram.Record(int64(time.Since(t)))
	}
	s.DurationS = time.Since(start).Seconds()
	s.RPS = float64(s.Requests) / s.DurationS
	s.Latency = stats.LatencyOf(s.Histogram)
	return s, nil
}

func options(specs []Spec) Options {
	p := Profile{Duration: 200 * time.Millisecond, Warmup: 50 * time.Millisecond, Repeat: 2}
	return Options{Profile: p, Specs: specs, Serve: serveCmd, Generate: httpGenerator, Grace: 5 * time.Second}
}

// fake is a variant only fakeServe knows.
func fake(name string) variant.Variant { return variant.Variant{Name: name, Model: name} }

func spec(model variant.Variant) Spec {
	s := Spec{Sweep: results.SweepModels, Model: model, Workers: 1, Workload: "hello", Path: "/", Mode: results.ModeClosed, Connections: 1, KeepAlive: true}
	s.setID()
	return s
}

// TestRunRecordsFailuresAndGoesOn: a server that will not start and one
// that dies mid-case are recorded with their errors; the cases around
// them are measured, with the server's CPU.
func TestRunRecordsFailuresAndGoesOn(t *testing.T) {
	o := options([]Spec{spec(variant.SingleCore), spec(fake("broken")), spec(fake("fragile")), spec(variant.Goroutines)})
	var seen []string
	o.Progress = func(p Progress) {
		if p.Finished != nil {
			seen = append(seen, p.Finished.Model)
		}
	}
	run := results.Run{Env: results.Env{Noise: results.Noise{Governor: "powersave"}, Virtualization: &results.Virtualization{OnlineCPUs: 2}}}
	if err := Run(context.Background(), o, &run); err != nil {
		t.Fatal(err)
	}
	// The steal the repeats met, as every save records it.
	if s, want := run.Env.Virtualization.Steal, stats.RunSteal(run.Cases, 2); s == nil || want == nil || *s != *want {
		t.Errorf("steal %v, want %v", s, want)
	}
	if len(run.Cases) != 4 || !slices.Equal(seen, []string{"singlecore", "broken", "fragile", "goroutines"}) {
		t.Fatalf("%d cases, progress saw %v", len(run.Cases), seen)
	}
	for _, i := range []int{0, 3} {
		c := run.Cases[i]
		if c.Error != "" || c.Summary == nil || len(c.Repeats) != 2 {
			t.Fatalf("%s: error %q, %d repeats", c.Model, c.Error, len(c.Repeats))
		}
		if c.Summary.Requests == 0 || c.Summary.ServerCPUPerReq.Median <= 0 || c.Repeats[0].ServerRSS <= 0 {
			t.Errorf("%s: %d requests, %v µs server CPU per request, %d bytes RSS", c.Model, c.Summary.Requests, c.Summary.ServerCPUPerReq.Median, c.Repeats[0].ServerRSS)
		}
		// Assessed as it ran: a limit, and the run's governor as noise.
		if r := c.Repeats[0]; r.WallS < 0.2 || r.OtherCPU == nil || r.StealCPU == nil || r.MasterCPU != nil {
			t.Errorf("%s: wall %v s, other CPU %v, steal %v, master %v: want the window, others' CPU, no master", c.Model, r.WallS, r.OtherCPU, r.StealCPU, r.MasterCPU)
		}
		if c.Summary.LimitedBy == "" || len(c.Summary.Noise) == 0 || !strings.Contains(c.Summary.Noise[0], "powersave") {
			t.Errorf("%s: limited by %q, noise %q", c.Model, c.Summary.LimitedBy, c.Summary.Noise)
		}
	}
	if e := run.Cases[1].Error; !strings.Contains(e, "exited before it was ready") || !strings.Contains(e, "pretend the port is taken") {
		t.Errorf("broken server: %q", e)
	}
	if e := run.Cases[2].Error; e == "" {
		t.Errorf("a server that died mid-case left no error")
	}
}

// TestRunInterrupted: cancelling stops the current case at once, keeps
// what it measured, and leaves no server behind.
func TestRunInterrupted(t *testing.T) {
	o := options([]Spec{spec(variant.SingleCore), spec(variant.Goroutines)})
	o.Profile.Duration = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	var pid int
	gen := o.Generate
	o.Generate = func(ctx context.Context, l loadgen.Load) (*results.Summary, error) {
		if l.Duration == time.Minute {
			pid = serverPID(t, l.URL)
			cancel() // Ctrl-C during the first measured repeat
		}
		return gen(ctx, l)
	}
	var run results.Run
	start := time.Now()
	err := Run(ctx, o, &run)
	if !errors.Is(err, context.Canceled) || !Interrupted(err) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if time.Since(start) > 30*time.Second || len(run.Cases) != 1 {
		t.Fatalf("%d cases after %v", len(run.Cases), time.Since(start))
	}
	if r := run.Cases[0].Repeats; len(r) != 1 || r[0].Error != "interrupted" {
		t.Errorf("repeats %+v", r)
	}
	if pid == 0 || proc.CPUSeconds([]int{pid}) != 0 {
		t.Errorf("server %d still running", pid)
	}
}

// serverPID finds the process listening on url's port among our children.
func serverPID(t *testing.T, url string) int {
	t.Helper()
	for _, c := range proc.Children(os.Getpid()) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", c))
		if strings.Contains(string(b), "serve") {
			return c
		}
	}
	t.Fatalf("no server child for %s", url)
	return 0
}

// TestRunCountsIdleWorkers: every repeat's summary carries the worker
// count of the server the case started, so a worker that served nothing
// counts: from what the server says, or else from the plan, worker
// sweeps included.
func TestRunCountsIdleWorkers(t *testing.T) {
	o := options([]Spec{spec(fake("lopsided"))})
	o.Generate = loadgen.Generate
	var run results.Run
	if err := Run(context.Background(), o, &run); err != nil {
		t.Fatal(err)
	}
	c := run.Cases[0]
	if c.Error != "" || len(c.Repeats) != 2 {
		t.Fatalf("error %q, %d repeats", c.Error, len(c.Repeats))
	}
	for i, r := range c.Repeats {
		if r.Load.Workers != 2 || r.Load.Fairness != 0.5 || r.Load.Requests == 0 {
			t.Errorf("repeat %d: workers %d, fairness %v of %d requests; want 2 and 0.5", i, r.Load.Workers, r.Load.Fairness, r.Load.Requests)
		}
	}
	if c.Summary.Workers != 2 || c.Summary.Fairness != 0.5 {
		t.Errorf("case: workers %d, fairness %v; want 2 and 0.5", c.Summary.Workers, c.Summary.Fairness)
	}

	// A server that does not say: the plan's count.
	sweep := spec(variant.PreforkRR)
	sweep.Sweep, sweep.Workers = results.SweepWorkers, 3
	sweep.setID()
	o = options([]Spec{sweep, spec(variant.Goroutines)})
	var got []int
	o.Generate = func(ctx context.Context, l loadgen.Load) (*results.Summary, error) {
		got = append(got, l.Workers)
		return httpGenerator(ctx, l)
	}
	run = results.Run{}
	if err := Run(context.Background(), o, &run); err != nil {
		t.Fatal(err)
	}
	if want := []int{3, 3, 3, 1, 1, 1}; !slices.Equal(got, want) { // warm-up and 2 repeats each
		t.Errorf("loads asked for workers %v, want %v", got, want)
	}
	// A prefork server's master is measured apart.
	if r := run.Cases[0].Repeats[0]; r.MasterCPU == nil || *r.MasterCPU > r.ServerCPU || run.Cases[0].Summary.MasterCores.N != 2 {
		t.Errorf("prefork repeat: master %v of server %v s", r.MasterCPU, r.ServerCPU)
	}
}

// since takes the master's CPU apart for prefork, and leaves to other
// processes the machine's process time that neither the server nor this
// process (the generator) took; never less than none.
func TestCPUReadingSince(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	// Master 7 and workers 8 and 9; 9 dies during the repeat, 10 is born.
	b := cpuReading{at: t0, master: 7, server: map[int]float64{7: 1, 8: 4, 9: 5}, self: 5, machine: proc.Totals{Process: 100, Steal: 2}, machineOK: true}
	a := cpuReading{at: t0.Add(2 * time.Second), master: 7, server: map[int]float64{7: 1.5, 8: 6, 10: 0.5}, self: 6, machine: proc.Totals{Process: 104.5, Steal: 2.25}, machineOK: true}
	r := a.since(b, true)
	if r.ServerCPU != 3 || r.WallS != 2 || r.MasterCPU == nil || *r.MasterCPU != 0.5 || r.OtherCPU == nil || *r.OtherCPU != 0.5 || *r.StealCPU != 0.25 {
		t.Errorf("since = %+v (master %v other %v steal %v)", r, r.MasterCPU, r.OtherCPU, r.StealCPU)
	}
	a.machine.Interrupt, a.irqInTasks = 0.25, true // interrupts the processes' times include
	if r := a.since(b, false); *r.OtherCPU != 0.75 {
		t.Errorf("interrupts charged to tasks: other %v, want 0.75", *r.OtherCPU)
	}
	a.machine.Process = 103 // the tick resolution: less than the processes took
	if r := a.since(b, false); r.MasterCPU != nil || *r.OtherCPU != 0 {
		t.Errorf("one-process model: master %v, other %v; want none and 0", r.MasterCPU, *r.OtherCPU)
	}
	a.machineOK = false
	if r := a.since(b, false); r.OtherCPU != nil || r.StealCPU != nil {
		t.Errorf("without /proc/stat: other %v steal %v, want not measured", r.OtherCPU, r.StealCPU)
	}
}

// TestServeArgsFewerWorkers: goroutines with fewer threads than server
// CPUs runs on the first of them, which Place lists whole cores first;
// prefork keeps every CPU (its master may run on any) and pins workers
// from the list's start.
func TestServeArgsFewerWorkers(t *testing.T) {
	o := Options{ServerCPUs: []int{0, 2, 4, 1, 3, 5}}
	for _, tt := range []struct {
		s    Spec
		cpus string
	}{
		{Spec{Model: variant.Goroutines, Workers: 3}, "--cpus 0,2,4"},
		{Spec{Model: variant.Goroutines, Workers: 6}, "--cpus 0,2,4,1,3,5"},
		{Spec{Model: variant.Goroutines, Workers: 12}, "--cpus 0,2,4,1,3,5"},
		{Spec{Model: variant.PreforkRR, Workers: 3}, "--cpus 0,2,4,1,3,5"},
	} {
		if got := strings.Join(serveArgs(o, tt.s), " "); !strings.HasSuffix(got, tt.cpus) {
			t.Errorf("%s with %d workers: %s, want it to end %s", tt.s.Model, tt.s.Workers, got, tt.cpus)
		}
	}
}

// TestRunSavesEachCase: the run is saved after every case, before its
// progress line, with what was measured so far and marked incomplete;
// a save that fails stops the run (what it measures next could not be
// kept) with an error that says how many cases the last good save holds.
func TestRunSavesEachCase(t *testing.T) {
	specs := []Spec{spec(variant.SingleCore), spec(variant.Goroutines), spec(variant.SingleCore)}
	o := options(specs)
	o.Profile.Warmup, o.Profile.Repeat = 0, 1
	var saved []int
	diskFull := errors.New("no space left on device")
	o.Save = func(r *results.Run) error {
		if r.Complete {
			t.Errorf("saved as complete while running")
		}
		if len(r.Cases) == 2 {
			return diskFull
		}
		saved = append(saved, len(r.Cases))
		return nil
	}
	var finished []int
	o.Progress = func(p Progress) {
		if p.Finished != nil {
			finished = append(finished, p.Done)
		}
	}
	run := results.Run{}
	err := Run(context.Background(), o, &run)
	var se *SaveError
	if !errors.As(err, &se) || !errors.Is(err, diskFull) || se.Saved != 1 || se.Done != 2 || se.Total != 3 {
		t.Fatalf("Run = %v (%+v), want a SaveError after case 2 of 3 with 1 case saved", err, se)
	}
	if !slices.Equal(saved, []int{1}) || len(run.Cases) != 2 {
		t.Errorf("saved %v, %d cases measured; want saves of 1 case, and the run stopped after the second", saved, len(run.Cases))
	}
	if !slices.Equal(finished, []int{1, 2}) {
		t.Errorf("progress of finished cases %v, want 1 and 2: the case whose save failed was measured, and its line says what", finished)
	}
}

// A server on another host is read there (ReadServer); a reading that
// fails leaves that repeat's server figures unmeasured, said so, not 0
// CPU, and the summary leaves them out.
func TestRemoteReadingFails(t *testing.T) {
	o := options([]Spec{spec(variant.SingleCore)})
	o.ServerHost = "127.0.0.1" // the server is here, but read as if it were not
	// Read per host, not per server: interleaving is off there.
	o.Profile.Interleave, o.Profile.VisitWarmup = true, time.Millisecond
	calls := 0
	o.ReadServer = func(context.Context) (ServerReading, error) {
		calls++
		if calls == 4 { // the second repeat's reading after its load
			return ServerReading{}, errors.New("ssh: connection reset")
		}
		return ServerReading{CPU: float64(calls), PeakRSS: 1 << 20, Procs: 1}, nil
	}
	var run results.Run
	if err := Run(context.Background(), o, &run); err != nil {
		t.Fatal(err)
	}
	if run.Settings.Interleaved {
		t.Errorf("interleaved with a server host, whose reading sums every server bench runs there")
	}
	c := run.Cases[0]
	if len(c.Repeats) != 2 {
		t.Fatalf("%d repeats, want 2", len(c.Repeats))
	}
	if r := c.Repeats[0]; r.ServerCPU != 1 || r.ServerUnmeasured != "" || r.ServerProcs != 1 {
		t.Errorf("first repeat: %v CPU s, %d procs, unmeasured %q; want 1 s (2-1), 1, none", r.ServerCPU, r.ServerProcs, r.ServerUnmeasured)
	}
	if r := c.Repeats[1]; r.ServerCPU != 0 || !strings.Contains(r.ServerUnmeasured, "connection reset") {
		t.Errorf("second repeat: %v CPU s, unmeasured %q; want 0 and the reading's error", r.ServerCPU, r.ServerUnmeasured)
	}
	if s := c.Summary; s.ServerCores.N != 1 || s.ServerCPUPerReq.N != 1 {
		t.Errorf("summary counts the unmeasured repeat: server cores %+v, CPU per request %+v", s.ServerCores, s.ServerCPUPerReq)
	}
}
